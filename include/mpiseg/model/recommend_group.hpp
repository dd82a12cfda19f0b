#pragma once
/// The /recommend group of a model file: its writer and its validated reader side by side (the
/// recommend module itself never sees HDF5).
///
///   write_recommend(root, result, items);                   // mpiseg run, mpiseg recommend
///   const StoredRecommendations stored = read_recommend(root);  // export, inspect, score
#include <cstdint>
#include <string>
#include <vector>

#include "mpiseg/ingest/line_items.hpp"
#include "mpiseg/io/h5/h5.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/recommend/recommend.hpp"

namespace mpiseg::model {

/// Collective. Writes /recommend (see the README's model schema).
void write_recommend(h5::Group& root, const recommend::RecommendResult& result, const ingest::ItemDictionary& items);

/// One method's stored lists and its evaluation ([0] all judged customers, [1 + s] segment s).
struct StoredMethod {
  std::string name;
  std::vector<std::uint64_t> offsets;  // customers + 1
  std::vector<std::uint32_t> item;
  std::vector<double> score;
  std::vector<recommend::RankingMetrics> evaluation;
};

/// /recommend as read back, every dataset checked (lengths, offsets, item ids, finite scores).
struct StoredRecommendations {
  std::int64_t n = 0, cutoff = -1, data_end = 0, trained_until = 0, segments = 0, exclude_days = 0,
               max_items_per_customer = 0;
  recommend::Values values = recommend::Values::binary;
  std::string cutoff_date, data_end_date;
  std::uint64_t customers = 0, customers_without_purchase = 0, evaluated_customers = 0, cold_start_customers = 0;
  std::vector<std::uint64_t> customer;
  std::vector<std::int32_t> segment;
  ItemNames items;
  std::vector<StoredMethod> methods;
  // Item side, for scoring new customers (empty when the method did not run).
  std::vector<std::uint64_t> neighbour_offsets;  // items + 1
  std::vector<std::uint32_t> neighbour_item;
  std::vector<double> neighbour_similarity;
  std::size_t factors = 0;
  double regularization = 0, alpha = 0;
  std::vector<double> item_factors;  // items x factors
  std::vector<double> loss;          // per iteration
  recommend::Popularity popularity;  // buyers per item (and per segment) of the training window
};
/// `lists` false: everything but the per-customer lists (customers, segments and each method's
/// offsets, items and scores stay empty): what inspect and report need, at any model size.
StoredRecommendations read_recommend(const h5::Group& root, bool lists = true);

}  // namespace mpiseg::model
