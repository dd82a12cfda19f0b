#pragma once
/// The recommend stage: for every customer the top n items not bought yet, by each method of
/// [recommend] methods, judged on a time split and (refit) retrained on all the data.
///
///   cutoff c (default: test_days before the end of the data E, midnight after the last line):
///   evaluated:  trained on purchase lines before c; judged on the items each customer bought in
///               [c, E) that it had not bought before c (customers with such items and with a
///               purchase before c; those without a purchase before c are counted as cold start)
///   stored:     trained on every line (refit), or the evaluated recommendations (refit = false)
///
/// Segments (when K-means ran): the stored lists use the customers' current segments; the
/// evaluation uses their segments at the cutoff (given by the caller: the nearest current
/// centroid to the customer's features then), so that segment_popularity, the segments' rules and
/// the per-segment metrics do not look past the cutoff.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/recommend/methods.hpp"
#include "mpiseg/recommend/settings.hpp"

namespace mpiseg::recommend {

/// Customers' segments: label[i] of customer[i] (this rank's, ascending), k segments.
struct SegmentLabels {
  std::size_t k = 0;
  std::span<const std::uint64_t> customer;
  std::span<const std::int32_t> label;
};

/// Collective: the association rules mined from the lines before `lines_before` (overall and per
/// segment), on every rank.
using RuleSource = std::function<RuleSet(std::int64_t lines_before)>;

struct MethodResult {
  Method method = Method::popularity;
  Recommendations recommendations;        // this rank's customers, stored (see above)
  std::vector<RankingMetrics> evaluation; // [0] all evaluated customers, [1 + s] segment s; empty without validation
  double evaluation_seconds = 0;          // training and recommending for the evaluation (slowest rank)
  double seconds = 0;                     // training and recommending the stored lists (slowest rank)
};

struct RecommendResult {
  RecommendSettings settings;
  std::int64_t data_end = 0;
  std::int64_t cutoff = -1;        // -1 without validation
  std::int64_t trained_until = 0;  // the stored recommendations use lines before this time
  std::vector<std::uint64_t> customer;   // this rank's customers: every customer with a purchase line
  std::vector<std::int32_t> segment;     // per customer: its segment, or -1
  std::size_t segments = 0;
  std::uint64_t customers = 0;           // global
  std::uint64_t customers_without_purchase = 0;  // global: customers with lines, none a purchase (no list)
  std::uint64_t catalogue_items = 0;     // items bought in the stored training window
  std::uint64_t trimmed_customers = 0;   // global: customers whose items max_items_per_customer cut
  std::uint64_t evaluated_customers = 0; // global
  std::uint64_t cold_start_customers = 0;  // global: bought after the cutoff, nothing before
  std::uint64_t rules = 0;               // rules the stored recommendations used
  std::vector<MethodResult> methods;
  Popularity popularity;                 // of the stored training window
  ItemNeighbours neighbours;             // item_cf
  AlsModel als;                          // als
};

/// Collective. `rows` partitioned by customer (as ingest gives them); `segments` (current) and
/// `segments_at_cutoff` (for the evaluation; null: the current ones) may be null; `rules` is
/// needed when methods include rules.
RecommendResult fit_recommendations(const RecommendSettings& settings, const ingest::IngestResult& data, const SegmentLabels* segments,
                                    const SegmentLabels* segments_at_cutoff, const RuleSource& rules, comm::Communicator& comm);

/// The cutoff of the evaluation: [recommend] cutoff, or test_days before `data_end`.
std::int64_t evaluation_cutoff(const RecommendSettings& settings, std::int64_t data_end);

/// This rank's share of a rule list gathered onto every rank, in rank order.
RuleSet gather_rules(const RuleSet& local, comm::Communicator& comm);

}  // namespace mpiseg::recommend
