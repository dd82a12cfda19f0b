#include "mpiseg/recommend/recommend.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"

namespace mpiseg::recommend {
namespace {

/// What one training window gives: every method's recommendations and the item-side models.
struct WindowFit {
  std::vector<Recommendations> recommendations;  // per settings.methods
  std::vector<double> seconds;                   // per method, slowest rank
  Popularity popularity;
  ItemNeighbours neighbours;
  AlsModel als;
  std::uint64_t catalogue_items = 0;
  std::uint64_t trimmed_customers = 0;
  std::uint64_t rules = 0;
  Interactions training;                         // every purchase before the window's end
};

WindowFit fit_window(const RecommendSettings& settings, const ingest::IngestResult& data, std::span<const std::uint64_t> customers,
                     std::span<const std::int32_t> segment, std::size_t segments, std::int64_t end, const RuleSource& rules,
                     comm::Communicator& comm) {
  const std::size_t n_items = data.items.size(), n = static_cast<std::size_t>(settings.n);
  WindowFit fit;
  fit.training = collect_interactions(data.rows, customers, std::numeric_limits<std::int64_t>::min(), end);
  const ItemLists excluded = items_since(fit.training, settings.exclude_days > 0 ? end - settings.exclude_days * kSecondsPerDay : -1);
  fit.popularity = count_popularity(fit.training, segment, segments, n_items, comm);
  std::vector<std::uint8_t> catalogue(n_items, 0);
  for (std::size_t i = 0; i < n_items; ++i) catalogue[i] = fit.popularity.buyers[i] > 0 ? 1 : 0;
  fit.catalogue_items = static_cast<std::uint64_t>(std::count(catalogue.begin(), catalogue.end(), std::uint8_t{1}));
  // item_cf and als see each customer's most recent items only (bounded pairs and solves).
  Interactions capped;
  if (settings.uses(Method::item_cf) || settings.uses(Method::als)) {
    capped = fit.training;
    fit.trimmed_customers = comm.allreduce(keep_recent_items(capped, static_cast<std::size_t>(settings.max_items_per_customer)),
                                           comm::ReduceOp::sum);
    if (fit.trimmed_customers > 0 && comm.rank() == 0)
      log::warn("recommend: {} customers bought more than max_items_per_customer = {} items; item_cf and als use their most recent ones",
                fit.trimmed_customers, settings.max_items_per_customer);
  }
  for (const Method method : settings.methods) {
    const Stopwatch watch;
    switch (method) {
      case Method::popularity:
        fit.recommendations.push_back(recommend_popular(fit.popularity, segment, false, excluded, n));
        break;
      case Method::segment_popularity:
        fit.recommendations.push_back(recommend_popular(fit.popularity, segment, true, excluded, n));
        break;
      case Method::rules: {
        const RuleSet rule_set = rules(end);
        fit.rules = rule_set.size();
        const ItemLists history = items_since(fit.training, end - settings.history_days * kSecondsPerDay);
        fit.recommendations.push_back(recommend_by_rules(rule_set, history, segment, excluded, n, n_items));
        break;
      }
      case Method::item_cf:
        fit.neighbours = item_neighbours(capped, settings.values, static_cast<std::size_t>(settings.neighbours), n_items, comm);
        log::info("recommend: item_cf: {} item pairs co-occur; {:.1f} MB of pair weights sent by this rank ({} local pairs)",
                  fit.neighbours.pairs, fit.neighbours.bytes_sent / 1e6, fit.neighbours.local_pairs);
        fit.recommendations.push_back(recommend_by_neighbours(fit.neighbours, capped, excluded, n));
        break;
      case Method::als: {
        const AlsSettings als{static_cast<std::size_t>(settings.factors), settings.regularization, settings.alpha,
                              static_cast<std::size_t>(settings.iterations), settings.seed, settings.values};
        fit.als = fit_als(als, capped, n_items, comm);
        log::info("recommend: als: {:.1f} MB of item sums sent by this rank", fit.als.bytes_sent / 1e6);
        fit.recommendations.push_back(recommend_by_factors(fit.als, catalogue, excluded, n));
        break;
      }
    }
    fit.seconds.push_back(comm.allreduce(watch.seconds(), comm::ReduceOp::max));
    log::info("recommend: {} trained and recommended in {:.3f} s (slowest rank)", method_name(method), fit.seconds.back());
  }
  return fit;
}

/// The stored model's training window: what the tools score new customers with.
void adopt_item_side(RecommendResult& result, WindowFit&& fit, std::int64_t trained_until) {
  result.trained_until = trained_until;
  result.catalogue_items = fit.catalogue_items;
  result.trimmed_customers = fit.trimmed_customers;
  result.rules = fit.rules;
  result.popularity = std::move(fit.popularity);
  result.neighbours = std::move(fit.neighbours);
  result.als = std::move(fit.als);
}

std::vector<std::int32_t> segments_of(std::span<const std::uint64_t> customers, const SegmentLabels* segments) {
  std::vector<std::int32_t> label(customers.size(), -1);
  if (segments == nullptr) return label;
  for (std::size_t c = 0; c < customers.size(); ++c) {
    const auto found = std::lower_bound(segments->customer.begin(), segments->customer.end(), customers[c]);
    if (found != segments->customer.end() && *found == customers[c]) label[c] = segments->label[static_cast<std::size_t>(found - segments->customer.begin())];
  }
  return label;
}

}  // namespace

RuleSet gather_rules(const RuleSet& local, comm::Communicator& comm) {
  RuleSet all;
  std::vector<std::uint64_t> lengths(local.size());
  for (std::size_t r = 0; r < local.size(); ++r) lengths[r] = local.antecedent_offsets[r + 1] - local.antecedent_offsets[r];
  const std::vector<std::uint64_t> all_lengths = comm.allgatherv<std::uint64_t>(lengths);
  all.antecedent = comm.allgatherv<std::uint32_t>(local.antecedent);
  all.item = comm.allgatherv<std::uint32_t>(local.item);
  all.score = comm.allgatherv<double>(local.score);
  all.segment = comm.allgatherv<std::int32_t>(local.segment);
  for (const std::uint64_t length : all_lengths) all.antecedent_offsets.push_back(all.antecedent_offsets.back() + length);
  return all;
}

std::int64_t evaluation_cutoff(const RecommendSettings& settings, std::int64_t data_end) {
  return settings.cutoff >= 0 ? settings.cutoff : data_end - settings.test_days * kSecondsPerDay;
}

RecommendResult fit_recommendations(const RecommendSettings& settings, const ingest::IngestResult& data, const SegmentLabels* segments,
                                    const SegmentLabels* segments_at_cutoff, const RuleSource& rules, comm::Communicator& comm) {
  RecommendResult result;
  result.settings = settings;
  result.customer = purchasing_customers(data.rows);
  result.customers = comm.allreduce<std::uint64_t>(result.customer.size(), comm::ReduceOp::sum);
  if (result.customers == 0) throw InputError("recommend: no customer has a purchase line (quantity > 0, not a cancellation)");
  // Customers whose lines are all returns or cancellations get no list: counted, not dropped silently.
  std::uint64_t with_lines = 0;
  for (std::size_t line = 0; line < data.rows.size(); ++line)
    if (data.rows.customer[line] != ingest::kMissingCustomer && (line == 0 || data.rows.customer[line] != data.rows.customer[line - 1]))
      ++with_lines;
  result.customers_without_purchase = comm.allreduce(with_lines, comm::ReduceOp::sum) - result.customers;
  if (result.customers_without_purchase > 0)
    log::info("recommend: {} customers have no purchase line (only returns or cancellations): no recommendations for them",
              result.customers_without_purchase);
  result.segments = segments != nullptr ? segments->k : 0;
  result.segment = segments_of(result.customer, segments);
  if ((settings.uses(Method::segment_popularity)) && segments == nullptr)
    throw ConfigError("[recommend] methods: segment_popularity needs segments (the kmeans stage of mpiseg run)");

  const ingest::LineSpan span = ingest::line_span(data.rows, comm);
  const std::int64_t first = span.first;
  result.data_end = span.data_end();

  if (settings.validate) {
    const std::int64_t cutoff = evaluation_cutoff(settings, result.data_end);
    if (cutoff <= first || cutoff >= result.data_end)
      throw ConfigError(fmt::format("[recommend] cutoff {} lies outside the data ({} to {}): nothing to train on or nothing to judge",
                                    format_date(cutoff), format_date(first), format_date(result.data_end)));
    result.cutoff = cutoff;
    log::info("recommend: evaluation: trained on lines before {}, judged on the new items bought from then to {}", format_date(cutoff),
              format_date(result.data_end));
    const std::vector<std::int32_t> segment_then = segments_at_cutoff != nullptr ? segments_of(result.customer, segments_at_cutoff) : result.segment;
    WindowFit fit = fit_window(settings, data, result.customer, segment_then, result.segments, cutoff, rules, comm);
    // Truth: items bought from the cutoff on that the customer had not bought before it.
    const Interactions after = collect_interactions(data.rows, result.customer, cutoff, std::numeric_limits<std::int64_t>::max());
    ItemLists truth;
    std::uint64_t evaluated = 0, cold_start = 0;
    for (std::size_t c = 0; c < result.customer.size(); ++c) {
      const auto before = fit.training.items.of(c);
      std::size_t added = 0;
      for (const std::uint32_t item : after.items.of(c))
        if (!std::binary_search(before.begin(), before.end(), item)) {
          truth.item.push_back(item);
          ++added;
        }
      if (added > 0 && before.empty()) {  // nothing to learn from: counted, not judged
        ++cold_start;
        truth.item.resize(truth.item.size() - added);
        added = 0;
      }
      evaluated += added > 0 ? 1 : 0;
      truth.offsets.push_back(truth.item.size());
    }
    result.evaluated_customers = comm.allreduce(evaluated, comm::ReduceOp::sum);
    result.cold_start_customers = comm.allreduce(cold_start, comm::ReduceOp::sum);
    if (result.evaluated_customers == 0)
      throw InputError(fmt::format("recommend: no customer bought a new item after the cutoff {} (and something before it): the test "
                                   "period is empty; choose an earlier [recommend] cutoff or more test_days",
                                   format_date(cutoff)));
    log::info("recommend: {} customers judged ({} more bought only after the cutoff: cold start, not judged)",
              result.evaluated_customers, result.cold_start_customers);
    for (std::size_t m = 0; m < settings.methods.size(); ++m) {
      MethodResult method;
      method.method = settings.methods[m];
      method.evaluation = evaluate(fit.recommendations[m], truth, segment_then, result.segments, static_cast<std::size_t>(settings.n),
                                   fit.catalogue_items, data.items.size(), comm);
      method.evaluation_seconds = fit.seconds[m];
      const RankingMetrics& all = method.evaluation[0];
      log::info("recommend: {:<18} precision@{} {:.4f}  recall@{} {:.4f}  MAP {:.4f}  NDCG {:.4f}  coverage {:.3f}  ({:.2f} s)",
                method_name(method.method), settings.n, all.precision, settings.n, all.recall, all.map, all.ndcg, all.coverage,
                method.evaluation_seconds);
      if (!settings.refit) {
        method.recommendations = std::move(fit.recommendations[m]);
        method.seconds = fit.seconds[m];
      }
      result.methods.push_back(std::move(method));
    }
    if (!settings.refit) {
      adopt_item_side(result, std::move(fit), cutoff);
      return result;
    }
  }
  log::info("recommend: final recommendations trained on every line");
  WindowFit fit = fit_window(settings, data, result.customer, result.segment, result.segments, result.data_end, rules, comm);
  result.methods.resize(settings.methods.size());
  for (std::size_t m = 0; m < settings.methods.size(); ++m) {
    result.methods[m].method = settings.methods[m];
    result.methods[m].recommendations = std::move(fit.recommendations[m]);
    result.methods[m].seconds = fit.seconds[m];
  }
  adopt_item_side(result, std::move(fit), result.data_end);
  return result;
}

}  // namespace mpiseg::recommend
