#include "mpiseg/model/recommend_group.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/model_file.hpp"

namespace mpiseg::model {
namespace {

using namespace mpiseg::recommend;

constexpr const char* kMetricNames[] = {"precision", "recall", "map", "ndcg", "coverage"};

double metric(const RankingMetrics& m, std::size_t which) {
  const double values[] = {m.precision, m.recall, m.map, m.ndcg, m.coverage};
  return values[which];
}

/// A CSR offsets column written by every rank for its own rows: this rank's offsets shifted by
/// the entries of the ranks before it, the final end written by the last rank.
void write_distributed_offsets(h5::Group& group, std::string_view name, const std::vector<std::uint64_t>& local, comm::Communicator& comm) {
  const std::uint64_t entries = local.back();
  const std::uint64_t before = comm.exclusive_prefix_sum(entries);
  std::vector<std::uint64_t> shifted(local.begin(), local.end() - (comm.rank() + 1 == comm.size() ? 0 : 1));
  for (std::uint64_t& offset : shifted) offset += before;
  h5::write_rows(group, name, shifted);
}

void write_lists(h5::Group& parent, const MethodResult& method, comm::Communicator& comm) {
  h5::Group group = parent.create_group(method_name(method.method));
  write_distributed_offsets(group, "offsets", method.recommendations.offsets, comm);
  h5::write_rows(group, "items", method.recommendations.item);
  h5::write_rows(group, "scores", method.recommendations.score);
  group.write_attribute("meaning",
                        "customer c (/recommend/customer[c]) is recommended items[offsets[c]:offsets[c+1]] (item ids into "
                        "/recommend/items/code), best first, with their scores");
}

[[noreturn]] void malformed(const h5::Group& group, std::string_view dataset, std::string_view problem) {
  throw IoError(fmt::format("{}: {} (the model is damaged or was not written by mpiseg)", group.describe(dataset), problem));
}

/// Offsets that start at 0, never decrease and end at `entries`; `lists` + 1 of them.
std::vector<std::uint64_t> read_offsets(const h5::Group& group, std::string_view name, std::size_t lists, std::size_t entries) {
  std::vector<std::uint64_t> offsets = h5::read_all<std::uint64_t>(group, name);
  if (offsets.size() != lists + 1) malformed(group, name, fmt::format("{} offsets for {} lists", offsets.size(), lists));
  if (offsets.front() != 0 || offsets.back() != entries || !std::is_sorted(offsets.begin(), offsets.end()))
    malformed(group, name, fmt::format("offsets must rise from 0 to {}", entries));
  return offsets;
}

std::vector<std::uint32_t> read_item_ids(const h5::Group& group, std::string_view name, std::size_t n_items) {
  std::vector<std::uint32_t> items = h5::read_all<std::uint32_t>(group, name);
  for (const std::uint32_t item : items)
    if (item >= n_items) malformed(group, name, fmt::format("item id {} is not below the {} items", item, n_items));
  return items;
}

std::vector<double> read_finite(const h5::Group& group, std::string_view name, std::size_t count) {
  std::vector<double> values = h5::read_all<double>(group, name);
  if (values.size() != count) malformed(group, name, fmt::format("{} values, expected {}", values.size(), count));
  for (const double value : values)
    if (!std::isfinite(value)) malformed(group, name, "a value is not finite");
  return values;
}

}  // namespace

void write_recommend(h5::Group& root, const RecommendResult& result, const ingest::ItemDictionary& items) {
  comm::Communicator& comm = root.file().comm();
  h5::Group group = root.create_group("recommend");
  const RecommendSettings& s = result.settings;
  std::vector<std::string> methods;
  for (const Method method : s.methods) methods.push_back(method_name(method));
  h5::write_strings(group, "methods", methods);
  group.write_attribute("n", s.n);
  group.write_attribute("exclude_days", s.exclude_days);
  group.write_attribute("history_days", s.history_days);
  group.write_attribute("rule_score", rule_score_name(s.rule_score));
  group.write_attribute("values", values_name(s.values));
  group.write_attribute("neighbours", s.neighbours);
  group.write_attribute("max_items_per_customer", s.max_items_per_customer);
  group.write_attribute("data_end", result.data_end);
  group.write_attribute("data_end_date", format_date(result.data_end));
  group.write_attribute("cutoff", result.cutoff);
  group.write_attribute("cutoff_date", result.cutoff >= 0 ? format_date(result.cutoff) : std::string("not validated"));
  group.write_attribute("trained_until", result.trained_until);
  group.write_attribute("customers", static_cast<std::int64_t>(result.customers));
  group.write_attribute("customers_without_purchase", static_cast<std::int64_t>(result.customers_without_purchase));
  group.write_attribute("catalogue_items", static_cast<std::int64_t>(result.catalogue_items));
  group.write_attribute("trimmed_customers", static_cast<std::int64_t>(result.trimmed_customers));
  group.write_attribute("evaluated_customers", static_cast<std::int64_t>(result.evaluated_customers));
  group.write_attribute("cold_start_customers", static_cast<std::int64_t>(result.cold_start_customers));
  group.write_attribute("rules_used", static_cast<std::int64_t>(result.rules));
  group.write_attribute("segments", static_cast<std::int64_t>(result.segments));
  group.write_attribute("meaning",
                        "the top n items per customer and method, not bought yet (exclude_days = 0: never bought; else not in the "
                        "last exclude_days), trained on lines before trained_until; evaluation/ judges each method trained before "
                        "cutoff on the new items customers bought from cutoff to data_end");
  write_item_dictionary(group, items);
  h5::write_rows(group, "customer", result.customer);
  h5::write_rows(group, "segment", result.segment);
  h5::write_replicated(group, "item_buyers", result.popularity.buyers);
  group.write_dataset_attribute("customer", "meaning", "every customer with a purchase line, ascending keys (the rows of every method's lists)");
  group.write_dataset_attribute("segment", "meaning", "the customer's K-means segment, -1 without one");
  group.write_dataset_attribute("item_buyers", "meaning", "per item id: customers who bought it in the stored training window");
  group.write_attribute("buyers", static_cast<std::int64_t>(result.popularity.customers));
  if (result.segments > 0) {
    h5::write_replicated(group, "segment_item_buyers", result.popularity.segment_buyers, items.size());
    h5::write_replicated(group, "segment_buyers", result.popularity.segment_customers);
  }
  for (const MethodResult& method : result.methods) write_lists(group, method, comm);

  if (result.cutoff >= 0) {
    h5::Group evaluation = group.create_group("evaluation");
    const std::size_t rows = 1 + result.segments;
    std::vector<std::uint64_t> customers;
    for (const MethodResult& method : result.methods)
      for (const RankingMetrics& m : method.evaluation) customers.push_back(m.customers);
    h5::write_replicated(evaluation, "customers", customers, rows);
    for (std::size_t which = 0; which < std::size(kMetricNames); ++which) {
      std::vector<double> values;
      for (const MethodResult& method : result.methods)
        for (const RankingMetrics& m : method.evaluation) values.push_back(metric(m, which));
      h5::write_replicated(evaluation, kMetricNames[which], values, rows);
    }
    evaluation.write_attribute("meaning",
                               "one row per method (/recommend/methods), columns: all judged customers, then segment 0, 1, ...; "
                               "means over judged customers of precision@n, recall@n, MAP@n, NDCG@n (binary relevance), and the "
                               "share of the trained catalogue recommended to them");
  }
  if (s.uses(Method::item_cf)) {
    h5::Group cf = group.open_group("item_cf");
    h5::write_replicated(cf, "neighbour_offsets", result.neighbours.neighbours.offsets);
    h5::write_replicated(cf, "neighbour_items", result.neighbours.neighbours.item);
    h5::write_replicated(cf, "neighbour_similarity", result.neighbours.similarity);
    cf.write_attribute("pairs", static_cast<std::int64_t>(result.neighbours.pairs));
    cf.write_dataset_attribute("neighbour_items", "meaning",
                               "item i's most similar items: neighbour_items[neighbour_offsets[i]:neighbour_offsets[i+1]], by cosine "
                               "similarity (neighbour_similarity) descending");
  }
  if (s.uses(Method::als)) {
    h5::Group als = group.open_group("als");
    h5::write_replicated(als, "item_factors", result.als.item_factors, static_cast<std::uint64_t>(s.factors));
    h5::write_rows(als, "customer_factors", result.als.customer_factors, static_cast<std::uint64_t>(s.factors));
    h5::write_replicated(als, "loss", result.als.loss);
    als.write_dataset_attribute("item_factors", "meaning", "y_i per item id (rows), the stored model's item side");
    als.write_dataset_attribute("customer_factors", "meaning", "x_c per customer of /recommend/customer, from the last customer half-step");
    als.write_dataset_attribute("loss", "meaning", "the objective after each sweep (data term over all customer-item pairs + lambda |X|^2 + lambda |Y|^2)");
    als.write_attribute("factors", s.factors);
    als.write_attribute("regularization", s.regularization);
    als.write_attribute("alpha", s.alpha);
    als.write_attribute("iterations", s.iterations);
    als.write_attribute("seed", static_cast<std::int64_t>(s.seed));
  }
}

StoredRecommendations read_recommend(const h5::Group& root, bool lists) {
  const h5::Group group = root.open_group("recommend");
  StoredRecommendations stored;
  stored.n = group.read_int_attribute("n");
  stored.cutoff = group.read_int_attribute("cutoff");
  stored.data_end = group.read_int_attribute("data_end");
  stored.trained_until = group.read_int_attribute("trained_until");
  stored.segments = group.read_int_attribute("segments");
  if (stored.n < 1 || stored.segments < 0 || stored.segments > 100000) malformed(group, "n", "n or segments out of range");
  stored.cutoff_date = group.read_string_attribute("cutoff_date");
  stored.data_end_date = group.read_string_attribute("data_end_date");
  stored.customers_without_purchase =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, group.read_int_attribute("customers_without_purchase")));
  stored.evaluated_customers = static_cast<std::uint64_t>(std::max<std::int64_t>(0, group.read_int_attribute("evaluated_customers")));
  stored.cold_start_customers = static_cast<std::uint64_t>(std::max<std::int64_t>(0, group.read_int_attribute("cold_start_customers")));
  stored.exclude_days = group.read_int_attribute("exclude_days");
  stored.max_items_per_customer = group.read_int_attribute("max_items_per_customer");
  if (stored.exclude_days < 0 || stored.max_items_per_customer < 1)
    malformed(group, "n", "exclude_days or max_items_per_customer out of range");
  const std::string values = group.read_string_attribute("values");
  if (values == "binary") stored.values = Values::binary;
  else if (values == "counts") stored.values = Values::counts;
  else if (values == "log1p") stored.values = Values::log1p;
  else malformed(group, "values", fmt::format("unknown values '{}'", values));
  stored.items = read_item_names(group);
  const std::size_t n_items = stored.items.code.size();
  stored.customers = h5::dataset_shape(group, "customer").at(0);
  if (lists) {
    stored.customer = h5::read_all<std::uint64_t>(group, "customer");
    stored.segment = h5::read_all<std::int32_t>(group, "segment");
  }
  if (stored.segment.size() != stored.customer.size())
    malformed(group, "segment", fmt::format("{} segments for {} customers", stored.segment.size(), stored.customer.size()));
  for (const std::int32_t s : stored.segment)
    if (s < -1 || s >= stored.segments) malformed(group, "segment", fmt::format("segment {} is not in [-1, {})", s, stored.segments));
  stored.popularity.buyers = h5::read_all<std::uint64_t>(group, "item_buyers");
  if (stored.popularity.buyers.size() != n_items) malformed(group, "item_buyers", "not one count per item");
  stored.popularity.customers = static_cast<std::uint64_t>(std::max<std::int64_t>(0, group.read_int_attribute("buyers")));
  if (stored.segments > 0) {
    stored.popularity.segment_customers = h5::read_all<std::uint64_t>(group, "segment_buyers");
    if (stored.popularity.segment_customers.size() != static_cast<std::size_t>(stored.segments))
      malformed(group, "segment_buyers", "not one count per segment");
    stored.popularity.segment_buyers = h5::read_all<std::uint64_t>(group, "segment_item_buyers");
    if (stored.popularity.segment_buyers.size() != n_items * static_cast<std::size_t>(stored.segments))
      malformed(group, "segment_item_buyers", "not one count per segment and item");
  }
  const std::vector<std::string> methods = h5::read_strings(group, "methods");
  const bool evaluated = stored.cutoff >= 0;
  const std::size_t columns = 1 + static_cast<std::size_t>(stored.segments);
  std::vector<std::uint64_t> customers;
  std::vector<std::vector<double>> metrics(std::size(kMetricNames));
  if (evaluated) {
    const h5::Group evaluation = group.open_group("evaluation");
    customers = h5::read_all<std::uint64_t>(evaluation, "customers");
    if (customers.size() != methods.size() * columns)
      malformed(evaluation, "customers", fmt::format("expected {} x {} values", methods.size(), columns));
    for (std::size_t which = 0; which < std::size(kMetricNames); ++which)
      metrics[which] = read_finite(evaluation, kMetricNames[which], methods.size() * columns);
  }
  for (std::size_t m = 0; m < methods.size(); ++m) {
    StoredMethod method;
    method.name = methods[m];
    if (!group.exists(method.name)) malformed(group, "methods", fmt::format("method '{}' has no group", method.name));
    const h5::Group method_group = group.open_group(method.name);
    if (lists) {
      method.item = read_item_ids(method_group, "items", n_items);
      method.offsets = read_offsets(method_group, "offsets", stored.customer.size(), method.item.size());
      method.score = read_finite(method_group, "scores", method.item.size());
    }
    for (std::size_t col = 0; evaluated && col < columns; ++col) {
      RankingMetrics row;
      const std::size_t at = m * columns + col;
      row.customers = customers[at];
      row.precision = metrics[0][at];
      row.recall = metrics[1][at];
      row.map = metrics[2][at];
      row.ndcg = metrics[3][at];
      row.coverage = metrics[4][at];
      method.evaluation.push_back(row);
    }
    if (method.name == "item_cf") {
      stored.neighbour_item = read_item_ids(method_group, "neighbour_items", n_items);
      stored.neighbour_offsets = read_offsets(method_group, "neighbour_offsets", n_items, stored.neighbour_item.size());
      stored.neighbour_similarity = read_finite(method_group, "neighbour_similarity", stored.neighbour_item.size());
    }
    if (method.name == "als") {
      const std::int64_t factors = method_group.read_int_attribute("factors");
      if (factors < 1 || factors > 512) malformed(method_group, "item_factors", "factors out of range");
      stored.factors = static_cast<std::size_t>(factors);
      stored.regularization = method_group.read_double_attribute("regularization");
      stored.alpha = method_group.read_double_attribute("alpha");
      if (!(stored.regularization >= 0) || !(stored.alpha >= 0) || !std::isfinite(stored.regularization) || !std::isfinite(stored.alpha))
        malformed(method_group, "item_factors", "regularization or alpha is not a finite number >= 0");
      stored.item_factors = read_finite(method_group, "item_factors", n_items * stored.factors);
      stored.loss = read_finite(method_group, "loss", h5::dataset_shape(method_group, "loss").at(0));
    }
    stored.methods.push_back(std::move(method));
  }
  return stored;
}

}  // namespace mpiseg::model
