#include "mpiseg/pipeline/stages.hpp"

#include <algorithm>
#include <limits>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/kmeans/assignment.hpp"
#include "mpiseg/model/stage_groups.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/pipeline/checkpoint.hpp"
#include "mpiseg/pipeline/points.hpp"

namespace mpiseg::pipeline {
namespace {

/// One mining task, read back from the checkpoint when an earlier session finished it.
fpgrowth::FrequentItemsets mine_task(const std::string& task, const fpgrowth::FpSettings& settings, const fpgrowth::Baskets& baskets,
                                     std::size_t n_items, RunCheckpoint* checkpoint, comm::Communicator& comm) {
  const fpgrowth::StoredItemsets stored = checkpoint ? checkpoint->stored_itemsets(task) : fpgrowth::StoredItemsets{};
  fpgrowth::FrequentItemsets itemsets = fpgrowth::mine_itemsets(settings, baskets, n_items, comm, stored);
  if (checkpoint && !stored) checkpoint->task_mined(task, itemsets);
  return itemsets;
}

/// Segment of every basket: its customer's label (this rank holds both), or -1.
std::vector<std::int32_t> basket_segments(const fpgrowth::Baskets& baskets, std::span<const std::uint64_t> customers,
                                          std::span<const std::int32_t> labels) {
  std::vector<std::int32_t> segment(baskets.size(), -1);
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    const auto found = std::lower_bound(customers.begin(), customers.end(), baskets.customer[b]);
    if (found != customers.end() && *found == baskets.customer[b]) segment[b] = labels[static_cast<std::size_t>(found - customers.begin())];
  }
  return segment;
}

fpgrowth::Baskets select_baskets(const fpgrowth::Baskets& all, const std::vector<std::int32_t>& segment, std::int32_t wanted) {
  fpgrowth::Baskets chosen;
  for (std::size_t b = 0; b < all.size(); ++b) {
    if (segment[b] != wanted) continue;
    chosen.items.insert(chosen.items.end(), all.items.begin() + static_cast<std::ptrdiff_t>(all.offsets[b]),
                        all.items.begin() + static_cast<std::ptrdiff_t>(all.offsets[b + 1]));
    chosen.offsets.push_back(chosen.items.size());
    chosen.customer.push_back(all.customer[b]);
  }
  return chosen;
}

void write_profiles(h5::Group& kmeans_group, const SegmentProfiles& profiles, std::size_t d) {
  h5::Group group = kmeans_group.create_group("profile");
  h5::write_replicated(group, "customers", profiles.customers);
  h5::write_replicated(group, "revenue_share", profiles.revenue_share);
  h5::write_replicated(group, "mean", profiles.mean, d);
  h5::write_replicated(group, "median", profiles.median, d);
  group.write_attribute("meaning",
                        "per segment, over its customers: raw feature mean and exact median (original units, columns as "
                        "/kmeans/feature_names), and the segment's share of total monetary value");
}

/// Resegmentation against the previous model: segment ids follow the previous ones (minimum-cost
/// matching of centroids), and the comparison goes into /compare.
model::ModelComparison follow_previous_model(kmeans::KMeansResult& segments, const model::SegmentModel& previous,
                                             const model::CommonSpace& space, const features::FeatureTable& table,
                                             comm::Communicator& comm) {
  kmeans::LloydResult& best = segments.best;
  const auto k = static_cast<std::size_t>(best.centroids.rows()), d = static_cast<std::size_t>(best.centroids.cols());
  model::SegmentModel current;
  current.features = table.names;
  current.k = k;
  current.centroids_scaled.assign(best.centroids.data(), best.centroids.data() + k * d);
  model::ModelComparison matching = model::compare_with_previous(previous, current, {}, {}, space, comm);
  // Segment n becomes the previous segment it matches; unmatched ones (more segments than
  // before cannot happen with the previous k, but stay safe) take the free ids in order.
  std::vector<std::int32_t> new_id(k, -1);
  std::vector<bool> used(k, false);
  for (std::size_t n = 0; n < k; ++n)
    if (matching.old_of_new[n] >= 0 && static_cast<std::size_t>(matching.old_of_new[n]) < k) {
      new_id[n] = matching.old_of_new[n];
      used[static_cast<std::size_t>(new_id[n])] = true;
    }
  std::size_t next = 0;
  for (std::size_t n = 0; n < k; ++n) {
    if (new_id[n] >= 0) continue;
    while (used[next]) ++next;
    new_id[n] = static_cast<std::int32_t>(next);
    used[next] = true;
  }
  kmeans::renumber_segments(best, new_id);
  segments.segment_order = "segments keep the ids of the previous model's segments they match (minimum-cost matching of centroids, see /compare)";
  current.centroids_scaled.assign(best.centroids.data(), best.centroids.data() + k * d);
  return model::compare_with_previous(previous, current, table.customer, best.labels, space, comm);
}

/// A basket analysis' rules as the recommender uses them: antecedent -> each consequent item,
/// scored by confidence or lift; overall (segment -1) and per segment; on every rank.
recommend::RuleSet rules_for_recommending(const BasketAnalysis& analysis, recommend::RuleScore score, comm::Communicator& comm) {
  recommend::RuleSet local;
  const auto add = [&](const fpgrowth::RuleTable& rules, std::int32_t segment) {
    for (std::size_t r = 0; r < rules.size(); ++r) {
      std::vector<std::uint32_t> antecedent(rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r]),
                                            rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r + 1]));
      std::sort(antecedent.begin(), antecedent.end());
      for (std::uint64_t c = rules.consequent_offsets[r]; c < rules.consequent_offsets[r + 1]; ++c) {
        local.antecedent.insert(local.antecedent.end(), antecedent.begin(), antecedent.end());
        local.antecedent_offsets.push_back(local.antecedent.size());
        local.item.push_back(rules.consequent[c]);
        local.score.push_back(score == recommend::RuleScore::lift ? rules.lift[r] : rules.confidence[r]);
        local.segment.push_back(segment);
      }
    }
  };
  add(analysis.rules, -1);
  for (std::size_t s = 0; s < analysis.segment_rules.size(); ++s) add(analysis.segment_rules[s], static_cast<std::int32_t>(s));
  return recommend::gather_rules(local, comm);
}

/// The transactions before `lines_before` (rows stay partitioned and sorted).
ingest::IngestResult lines_before(const ingest::IngestResult& all, std::int64_t before) {
  ingest::IngestResult window;
  window.items = all.items;
  window.countries = all.countries;
  window.has_country = all.has_country;
  window.has_category = all.has_category;
  std::vector<std::uint32_t> keep;
  for (std::size_t line = 0; line < all.rows.size(); ++line)
    if (static_cast<std::int64_t>(all.rows.time[line]) < before) keep.push_back(static_cast<std::uint32_t>(line));
  window.rows = all.rows;
  window.rows.permute(keep);  // keeps the selected rows, in order
  return window;
}

}  // namespace

StageReport::StageReport(std::string name, comm::Communicator& comm)
    : name_(std::move(name)), comm_(comm), start_(comm.traffic()) {}

model::StageCost StageReport::finish(std::vector<model::StageFigure> figures) {
  const comm::Traffic& now = comm_.traffic();
  const double collective = now.seconds - start_.seconds;
  const std::uint64_t sent = now.bytes_sent - start_.bytes_sent;
  const double wall = comm_.allreduce(watch_.seconds(), comm::ReduceOp::max);
  const double collective_max = comm_.allreduce(collective, comm::ReduceOp::max);
  const double collective_mean = comm_.allreduce(collective, comm::ReduceOp::sum) / comm_.size();
  const std::uint64_t sent_total = comm_.allreduce(sent, comm::ReduceOp::sum);
  const std::uint64_t peak = comm_.allreduce(peak_rss_bytes(), comm::ReduceOp::max);
  log::info("stage {}: {:.3f} s; in collectives {:.3f} s max, {:.3f} s mean over ranks ({:.1f}% of the stage); {:.1f} MB sent "
            "between ranks; peak memory {:.0f} MB (largest rank)",
            name_, wall, collective_max, collective_mean, wall > 0 ? 100.0 * collective_mean / wall : 0.0, sent_total / 1e6,
            peak / 1e6);
  return {name_, wall, collective_max, collective_mean, sent_total, peak, std::move(figures)};
}

std::vector<model::StageFigure> ingest_figures(const ingest::IngestResult& transactions) {
  const ingest::ReadStatistics& read = transactions.statistics;
  std::vector<model::StageFigure> figures = {
      {"rows", static_cast<double>(read.rows), "count"},
      {"bytes_per_line_item", read.rows == 0 ? 0.0 : static_cast<double>(read.memory_bytes) / static_cast<double>(read.rows),
       "B/line item"},
      {"read_seconds", read.seconds, "s"}};
  if (read.parsed_bytes > 0) {  // text was parsed (not a store)
    figures.push_back({"parsed_bytes", static_cast<double>(read.parsed_bytes), "B"});
    figures.push_back({"parse_seconds", read.parse_seconds, "s"});
  }
  return figures;
}

std::vector<model::StageFigure> kmeans_figures(const kmeans::KMeansResult& fit) {
  double seconds = 0, iterations = 0;
  for (const kmeans::KSummary& k : fit.sweep) {
    seconds += k.lloyd_seconds;
    iterations += static_cast<double>(k.lloyd_iterations);
  }
  return {{"lloyd_seconds", seconds, "s"}, {"lloyd_iterations", iterations, "count"}};
}

std::vector<model::StageFigure> basket_figures(const BasketAnalysis& analysis, comm::Communicator& comm) {
  const fpgrowth::FrequentItemsets& all = analysis.itemsets;
  return {{"mining_seconds", all.mining_seconds, "s"},
          {"prefix_bytes", static_cast<double>(comm.allreduce(all.exchanged_bytes, comm::ReduceOp::sum)), "B"},
          {"pair_count_bytes", static_cast<double>(comm.allreduce(all.pair_count_bytes, comm::ReduceOp::sum)), "B"},
          {"frequent_pairs", static_cast<double>(all.frequent_pairs), "count"}};
}

std::vector<model::StageFigure> propensity_figures(const propensity::PropensityResult& result, comm::Communicator& comm) {
  std::vector<model::StageFigure> figures;
  for (const propensity::TargetResult& target : result.targets) {
    const propensity::ModelFit& global = target.global;
    const std::string name = target.target.group_name();
    figures.push_back({name + ":fit_seconds", comm.allreduce(global.fit_seconds, comm::ReduceOp::max), "s"});
    figures.push_back({name + ":iterations", static_cast<double>(global.model.iterations), "count"});
    figures.push_back({name + ":training_customers", static_cast<double>(global.model.rows), "count"});
  }
  return figures;
}

std::vector<model::StageFigure> recommend_figures(const recommend::RecommendResult& result, comm::Communicator& comm) {
  std::vector<model::StageFigure> figures;
  for (const recommend::MethodResult& method : result.methods) {
    const std::string name = recommend::method_name(method.method);
    figures.push_back({name + ":seconds", method.seconds, "s"});
    if (method.method == recommend::Method::item_cf)
      figures.push_back({"item_cf:bytes_sent", static_cast<double>(comm.allreduce(result.neighbours.bytes_sent, comm::ReduceOp::sum)), "B"});
    if (method.method == recommend::Method::als) {
      figures.push_back({"als:bytes_sent", static_cast<double>(comm.allreduce(result.als.bytes_sent, comm::ReduceOp::sum)), "B"});
      for (std::size_t i = 0; i < result.als.iteration_seconds.size(); ++i)
        figures.push_back({fmt::format("als:iteration_{}_seconds", i + 1),
                           comm.allreduce(result.als.iteration_seconds[i], comm::ReduceOp::max), "s"});
    }
  }
  return figures;
}

SegmentProfiles segment_profiles(const features::FeatureTable& table, std::span<const std::int32_t> labels, std::size_t k,
                                 comm::Communicator& comm) {
  const std::size_t n = table.rows(), d = table.cols();
  SegmentProfiles profiles;
  profiles.customers.assign(k, 0);
  for (std::int32_t label : labels) ++profiles.customers[static_cast<std::size_t>(label)];
  comm.allreduce(std::span(profiles.customers), comm::ReduceOp::sum);
  // Means: exact sums per (segment, feature).
  const double bound = comm::global_max_abs(table.raw, comm, "features");
  const auto grid = FixedPointGrid::for_bound(bound);
  std::vector<int128> sums(k * d, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) sums[static_cast<std::size_t>(labels[i]) * d + j] += grid.quantize(table.raw[i * d + j]);
  comm::allreduce_exact(sums, comm);
  profiles.mean.resize(k * d);
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t j = 0; j < d; ++j)
      profiles.mean[s * d + j] = profiles.customers[s] ? grid.to_double(sums[s * d + j]) / static_cast<double>(profiles.customers[s]) : 0.0;
  // Medians: exact order statistics per (segment, feature).
  profiles.median.resize(k * d);
  std::vector<double> column;
  const std::vector<double> half = {0.5};
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t j = 0; j < d; ++j) {
      column.clear();
      for (std::size_t i = 0; i < n; ++i)
        if (static_cast<std::size_t>(labels[i]) == s) column.push_back(table.raw[i * d + j]);
      profiles.median[s * d + j] = comm::quantiles(column, half, comm)[0];
    }
  // Revenue share from the monetary feature when it is a column.
  profiles.revenue_share.assign(k, 0.0);
  const auto monetary = std::find(table.names.begin(), table.names.end(), "monetary");
  if (monetary != table.names.end()) {
    const auto column_index = static_cast<std::size_t>(monetary - table.names.begin());
    double total = 0;
    for (std::size_t s = 0; s < k; ++s) total += profiles.mean[s * d + column_index] * static_cast<double>(profiles.customers[s]);
    for (std::size_t s = 0; s < k; ++s)
      profiles.revenue_share[s] = total != 0 ? profiles.mean[s * d + column_index] * static_cast<double>(profiles.customers[s]) / total : 0.0;
  }
  return profiles;
}

Segmentation segment_customers(const JobConfig& job, const features::FeatureTable& table, RunCheckpoint* checkpoint,
                               comm::Communicator& comm) {
  Segmentation segments;
  const auto settings = kmeans::KMeansSettings::from_job(job);
  segments.previous_model = job.get_string("run", "previous_model");
  std::optional<model::SegmentModel> previous;
  model::CommonSpace space;
  std::optional<kmeans::InitialCentroids> initial;
  if (!segments.previous_model.empty()) {
    // Warm start: the previous centroids, mapped into this run's feature space (and so its k).
    previous = model::read_segment_model(segments.previous_model, comm);
    space = model::common_space(model::read_model_transforms(segments.previous_model, comm), table.transforms);
    const std::vector<double> centroids = model::centroids_in_space(*previous, table.names, space);
    initial = kmeans::InitialCentroids{Eigen::Map<const kmeans::RowMatrix>(centroids.data(), static_cast<Eigen::Index>(previous->k),
                                                                           static_cast<Eigen::Index>(table.cols())),
                                       kmeans::InitialCentroids::Source::earlier_model};
    log::info("run: previous model {}: k = {}, K-means starts from its centroids", segments.previous_model, previous->k);
  }
  const kmeans::Points points{table.scaled, table.rows(), table.cols(), table.customer, {}};
  if (checkpoint != nullptr) checkpoint->set_points(table.customer);
  if (!initial) initial = read_initial_centroids(settings, table.cols(), comm);  // init = "file"
  segments.fit = kmeans::fit(settings, points, comm, checkpoint, initial ? &*initial : nullptr);
  if (segments.fit.interrupted)
    throw Checkpointed(fmt::format("checkpoint requested: stopped in K-means; the checkpoint is in {} (run again to resume)",
                                   checkpoint->directory().string()));
  if (checkpoint != nullptr) checkpoint->stop_if_requested("K-means");
  if (previous) segments.comparison = follow_previous_model(segments.fit, *previous, space, table, comm);
  segments.profiles = segment_profiles(table, segments.fit.best.labels, static_cast<std::size_t>(segments.k()), comm);
  return segments;
}

void write_segmentation(h5::Group& root, const Segmentation& segments, const features::FeatureTable& table) {
  model::write_kmeans(root, segments.fit, table.names, table.transforms, table.customer);
  h5::Group kmeans_group = root.open_group("kmeans");
  write_profiles(kmeans_group, segments.profiles, table.cols());
  if (segments.comparison) model::write_comparison(root, *segments.comparison, segments.previous_model);
}

BasketAnalysis analyse_baskets(const JobConfig& job, const ingest::IngestResult& transactions, const Segmentation* segments,
                               const features::FeatureTable* table, RunCheckpoint* checkpoint, comm::Communicator& comm) {
  return analyse_baskets(job, fpgrowth::build_baskets(transactions), transactions.items.size(), segments, table, checkpoint, comm);
}

BasketAnalysis analyse_baskets(const JobConfig& job, const fpgrowth::Baskets& baskets, std::size_t items, const Segmentation* segments,
                               const features::FeatureTable* table, RunCheckpoint* checkpoint, comm::Communicator& comm) {
  BasketAnalysis analysis;
  analysis.settings = fpgrowth::FpSettings::from_job(job);
  const fpgrowth::FpSettings& settings = analysis.settings;
  analysis.itemsets = mine_task("all", settings, baskets, items, checkpoint, comm);
  if (settings.rules) analysis.rules = fpgrowth::generate_rules(analysis.itemsets, settings, comm);
  if (settings.per_segment && segments != nullptr && table != nullptr) {
    analysis.per_segment = settings.for_segments(analysis.itemsets.baskets);
    const std::vector<std::int32_t> segment_of = basket_segments(baskets, table->customer, segments->fit.best.labels);
    for (std::int64_t s = 0; s < segments->k(); ++s) {
      log::info("fpgrowth: segment {}", s);
      const fpgrowth::Baskets chosen = select_baskets(baskets, segment_of, static_cast<std::int32_t>(s));
      analysis.segment_itemsets.push_back(
          mine_task(fmt::format("segment_{}", s), analysis.per_segment, chosen, items, checkpoint, comm));
      analysis.segment_rules.push_back(settings.rules ? fpgrowth::generate_rules(analysis.segment_itemsets.back(), analysis.per_segment, comm)
                                                      : fpgrowth::RuleTable{});
      analysis.segment_distinctive.push_back(
          fpgrowth::distinctive_rules(analysis.segment_rules.back(), analysis.itemsets, settings.distinctive_rules, comm));
    }
  }
  return analysis;
}

void write_basket_analysis(h5::Group& root, const BasketAnalysis& analysis, const ingest::ItemDictionary& items) {
  h5::Group group = root.create_group("fpgrowth");
  model::write_item_dictionary(group, items);
  model::write_itemsets_and_rules(group, analysis.settings, analysis.itemsets, analysis.rules);
  group.write_attribute("segments", static_cast<std::int64_t>(analysis.segment_itemsets.size()));
  for (std::size_t s = 0; s < analysis.segment_itemsets.size(); ++s) {
    h5::Group segment_group = group.create_group(fmt::format("segment_{}", s));
    model::write_itemsets_and_rules(segment_group, analysis.per_segment, analysis.segment_itemsets[s], analysis.segment_rules[s]);
    h5::Group distinctive = segment_group.create_group("distinctive");
    h5::write_replicated(distinctive, "rule", analysis.segment_distinctive[s].rule);
    h5::write_replicated(distinctive, "population_lift", analysis.segment_distinctive[s].population_lift);
    h5::write_replicated(distinctive, "lift_ratio", analysis.segment_distinctive[s].lift_ratio);
    distinctive.write_attribute("meaning",
                                "the segment's rules whose lift differs most from the same rule over all baskets: index "
                                "into rules/, population lift (NaN: not frequent over all baskets), segment lift / population lift");
  }
}

propensity::PropensityResult predict_propensity(const JobConfig& job, const ingest::IngestResult& transactions,
                                                const features::FeatureTable& table, const Segmentation* segments,
                                                comm::Communicator& comm) {
  propensity::Segments space;
  if (segments != nullptr) {
    const kmeans::RowMatrix& centroids = segments->fit.best.centroids;
    space.k = static_cast<std::size_t>(segments->k());
    space.centroids_scaled.assign(centroids.data(), centroids.data() + centroids.size());
    space.labels = segments->fit.best.labels;
  }
  return propensity::fit_propensity(propensity::PropensitySettings::from_job(job), features::FeatureSettings::from_job(job),
                                    transactions, table, segments != nullptr ? &space : nullptr, comm);
}

recommend::RecommendResult recommend_products(const JobConfig& job, const ingest::IngestResult& transactions,
                                              const features::FeatureTable* table, const Segmentation* segments,
                                              const BasketAnalysis* baskets, comm::Communicator& comm) {
  const auto settings = recommend::RecommendSettings::from_job(job);
  const bool with_segments = segments != nullptr && table != nullptr;
  const ingest::LineSpan span = ingest::line_span(transactions.rows, comm);
  const std::int64_t data_end = span.data_end();
  // The evaluation's segments: each customer's nearest current centroid to its features at the
  // cutoff (as the propensity snapshots do), so that nothing past the cutoff shapes them.
  std::optional<Segmentation> segments_then;
  features::FeatureTable table_then;
  recommend::SegmentLabels labels, labels_then;
  if (with_segments) labels = {static_cast<std::size_t>(segments->k()), table->customer, segments->fit.best.labels};
  const std::int64_t cutoff = recommend::evaluation_cutoff(settings, data_end);
  if (with_segments && settings.validate && cutoff > static_cast<std::int64_t>(span.first) && cutoff < data_end) {
    features::FeatureSettings feature_settings = features::FeatureSettings::from_job(job);
    feature_settings.reference_time = cutoff;
    table_then = features::build_features(feature_settings, transactions, comm, {cutoff, features::share_categories(table->names)});
    const kmeans::RowMatrix& centroids = segments->fit.best.centroids;
    segments_then = *segments;
    segments_then->fit.best.labels = kmeans::nearest_centroids(features::apply_transforms(table->transforms, table_then.raw), table_then.rows(),
                                                               table->cols(), std::span(centroids.data(), static_cast<std::size_t>(centroids.size())),
                                                               static_cast<std::size_t>(segments->k()));
    labels_then = {labels.k, table_then.customer, segments_then->fit.best.labels};
  }
  const recommend::RuleSource rules = [&](std::int64_t before) {
    if (baskets != nullptr && before > static_cast<std::int64_t>(span.last)) return rules_for_recommending(*baskets, settings.rule_score, comm);
    log::info("recommend: mining rules ([fpgrowth]) on the lines before {}", format_date(before));
    const ingest::IngestResult window = lines_before(transactions, before);
    const bool then = segments_then.has_value() && before == cutoff;
    const BasketAnalysis analysis = analyse_baskets(job, window, then ? &*segments_then : with_segments ? segments : nullptr,
                                                    then ? &table_then : table, nullptr, comm);
    return rules_for_recommending(analysis, settings.rule_score, comm);
  };
  return recommend::fit_recommendations(settings, transactions, with_segments ? &labels : nullptr,
                                        segments_then ? &labels_then : nullptr, rules, comm);
}

}  // namespace mpiseg::pipeline
