#include "mpiseg/pipeline/run.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/compare.hpp"
#include "mpiseg/model/export.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/pipeline/checkpoint.hpp"
#include "mpiseg/pipeline/input.hpp"
#include "mpiseg/pipeline/points.hpp"
#include "mpiseg/propensity/propensity.hpp"

namespace mpiseg::pipeline {
namespace {

constexpr KeySpec kKeys[] = {
    {"run", "stages", ValueKind::string_list, "[\"features\", \"kmeans\", \"fpgrowth\"]",
     "stages after ingest: features, kmeans, fpgrowth, propensity (kmeans needs features, or [input] format = \"features\"; "
     "propensity needs line items)"},
    {"run", "previous_model", ValueKind::string, "\"\"",
     "the last run's model: K-means starts from its centroids (its k), segments keep its ids (Hungarian matching), and /compare "
     "holds drift and migration against it"},
    {"run", "checkpoint", ValueKind::string, "\"\"", "checkpoint directory (\"\": MODEL.checkpoint beside [output] model)"},
    {"run", "checkpoint_interval", ValueKind::number, "600",
     "seconds between K-means checkpoints (0: only when SIGUSR1 asks; finished runs and mining tasks are always kept)"},
    {"run", "resume", ValueKind::string, "\"auto\"",
     "auto: resume from a checkpoint of the same job and input; never: start afresh; require: fail without one (--resume)"},
};

struct Stages {
  bool features = false, kmeans = false, fpgrowth = false, propensity = false;
};

Stages parse_stages(const JobConfig& job) {
  Stages stages;
  for (const std::string& name : job.get_string_list("run", "stages")) {
    if (name == "features") stages.features = true;
    else if (name == "kmeans") stages.kmeans = true;
    else if (name == "fpgrowth") stages.fpgrowth = true;
    else if (name == "propensity") stages.propensity = true;
    else throw ConfigError(fmt::format("{}: unknown stage '{}' (features, kmeans, fpgrowth, propensity)", job.describe("run", "stages"), name));
  }
  return stages;
}

/// The cost of one stage, logged when it ends: wall time (slowest rank), time inside collectives
/// (waiting for other ranks included; the slowest rank's and the mean), bytes sent between ranks
/// (all ranks), peak memory (largest rank); also kept in /run/stages, where scripts/bench reads it.
class StageReport {
 public:
  StageReport(std::string name, comm::Communicator& comm) : name_(std::move(name)), comm_(comm), start_(comm.traffic()) {}

  model::StageCost finish() {
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
    return {name_, wall, collective_max, collective_mean, sent_total, peak};
  }

 private:
  std::string name_;
  comm::Communicator& comm_;
  comm::Traffic start_;
  Stopwatch watch_;
};

/// One mining task, read back from the checkpoint when an earlier session finished it.
fpgrowth::FrequentItemsets mine_task(const std::string& task, const fpgrowth::FpSettings& settings, const fpgrowth::Baskets& baskets,
                                     std::size_t n_items, RunCheckpoint& checkpoint, comm::Communicator& comm) {
  const fpgrowth::StoredItemsets stored = checkpoint.stored_itemsets(task);
  fpgrowth::FrequentItemsets itemsets = fpgrowth::mine_itemsets(settings, baskets, n_items, comm, stored);
  if (!stored) checkpoint.task_mined(task, itemsets);
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

/// The files a run reads: its input and the previous model (for the checkpoint fingerprint).
std::vector<ingest::InputFileInfo> files_read(const ingest::InputSettings& input, const std::string& previous_model) {
  std::vector<std::filesystem::path> paths = input.paths;
  if (paths.empty()) paths.emplace_back(input.path_pattern.substr(0, input.path_pattern.find(".h5:") == std::string::npos
                                                                         ? std::string::npos
                                                                         : input.path_pattern.find(".h5:") + 3));
  if (!previous_model.empty()) paths.emplace_back(previous_model);
  return ingest::describe_inputs(paths);
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

}  // namespace

std::span<const KeySpec> run_keys() { return kKeys; }

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

RunSummary run_job(const JobConfig& job, comm::Communicator& comm) {
  const Stopwatch watch;
  const Stages stages = parse_stages(job);
  // Settings of later stages are checked now, not after ingest and K-means have run.
  std::optional<propensity::PropensitySettings> propensity_settings;
  if (stages.propensity) propensity_settings = propensity::PropensitySettings::from_job(job);
  RunSummary summary;
  summary.model = model::model_path(job);
  model::RunRecord record;
  record.command = "run";
  record.job_origin = job.origin();
  record.job_text = job.file_text();
  record.effective_settings = job.effective_toml();
  record.started_utc = model::utc_now(comm);
  std::vector<NamedPath> outputs = {{"[output] model", summary.model}};
  if (const std::string csv = job.get_string("output", "assignments_csv"); !csv.empty()) outputs.push_back({"[output] assignments_csv", csv});
  for (auto& output : transaction_outputs(job, summary.model)) outputs.push_back(std::move(output));
  check_output_paths(outputs, job_inputs(job));
  const auto input = ingest::InputSettings::from_job(job);
  const std::string previous_path = job.get_string("run", "previous_model");
  const std::vector<ingest::InputFileInfo> read = files_read(input, previous_path);
  RunCheckpoint checkpoint(CheckpointSettings::from_job(job, summary.model), run_fingerprint(job, read, content_fingerprint(read, comm)), comm);

  // 1. Transactions (unless the run starts from a feature file) and features.
  ingest::IngestResult transactions;
  features::FeatureTable table;
  bool have_transactions = false, have_features = false;
  if (input.format == ingest::InputFormat::features) {
    if (stages.fpgrowth || stages.propensity)
      throw ConfigError("[run] stages: fpgrowth and propensity need transactions; the input is a feature file");
    PointTable points = load_points(job, comm);
    table = std::move(points.features);
    have_features = true;
  } else {
    StageReport ingest_stage("ingest", comm);
    transactions = load_transactions(job, summary.model, comm);
    record.stages.push_back(ingest_stage.finish());
    have_transactions = true;
    record.inputs = transactions.inputs;
    record.accounting = transactions.accounting;
    record.has_accounting = true;
    model::record_period(record, transactions, comm);
    if (stages.features || stages.kmeans || stages.propensity) {
      if (transactions.from_basket_file)
        throw ConfigError("[run] stages: features, kmeans and propensity need line items; the input is a basket file");
      StageReport features_stage("features", comm);
      table = features::build_features(features::FeatureSettings::from_job(job), transactions, comm);
      have_features = true;
      record.stages.push_back(features_stage.finish());
    }
  }

  // 2. Segments.
  kmeans::KMeansResult segments;
  SegmentProfiles profiles;
  const bool have_segments = stages.kmeans;
  std::optional<model::ModelComparison> comparison;
  if (have_segments) {
    const auto kmeans_settings = kmeans::KMeansSettings::from_job(job);
    std::optional<model::SegmentModel> previous;
    model::CommonSpace space;
    std::optional<kmeans::RowMatrix> warm_start;
    if (!previous_path.empty()) {
      // Warm start: the previous centroids, mapped into this run's feature space (and so its k).
      previous = model::read_segment_model(previous_path, comm);
      space = model::common_space(model::read_model_transforms(previous_path, comm), table.transforms);
      const std::vector<double> centroids = model::centroids_in_space(*previous, table.names, space);
      warm_start = Eigen::Map<const kmeans::RowMatrix>(centroids.data(), static_cast<Eigen::Index>(previous->k),
                                                       static_cast<Eigen::Index>(table.cols()));
      log::info("run: previous model {}: k = {}, K-means starts from its centroids", previous_path, previous->k);
    }
    StageReport kmeans_stage("kmeans", comm);
    const kmeans::Points points{table.scaled, table.rows(), table.cols(), table.customer, {}};
    checkpoint.set_points(table.customer);
    segments = kmeans::fit(kmeans_settings, points, comm, &checkpoint, warm_start ? &*warm_start : nullptr);
    if (segments.interrupted)
      throw Checkpointed(fmt::format("checkpoint requested: stopped in K-means; the checkpoint is in {} (run again to resume)",
                                     checkpoint.directory().string()));
    checkpoint.stop_if_requested("K-means");
    if (previous) comparison = follow_previous_model(segments, *previous, space, table, comm);
    summary.k = segments.sweep[segments.chosen].k;
    profiles = segment_profiles(table, segments.best.labels, static_cast<std::size_t>(summary.k), comm);
    record.stages.push_back(kmeans_stage.finish());
  }
  summary.customers = have_features ? table.customers : 0;

  // 3. Basket analysis, overall and per segment.
  fpgrowth::FpSettings fp_settings, per_segment;  // per_segment: what each segment is mined with
  fpgrowth::FrequentItemsets itemsets;
  fpgrowth::RuleTable rules;
  std::vector<fpgrowth::FrequentItemsets> segment_itemsets;
  std::vector<fpgrowth::RuleTable> segment_rules;
  std::vector<fpgrowth::DistinctiveRules> segment_distinctive;
  if (stages.fpgrowth) {
    StageReport fpgrowth_stage("fpgrowth", comm);
    fp_settings = fpgrowth::FpSettings::from_job(job);
    const fpgrowth::Baskets baskets = fpgrowth::build_baskets(transactions);
    itemsets = mine_task("all", fp_settings, baskets, transactions.items.size(), checkpoint, comm);
    if (fp_settings.rules) rules = fpgrowth::generate_rules(itemsets, fp_settings, comm);
    summary.itemsets = itemsets.total;
    summary.rules = comm.allreduce<std::uint64_t>(rules.size(), comm::ReduceOp::sum);
    if (fp_settings.per_segment && have_segments) {
      per_segment = fp_settings.for_segments(itemsets.baskets);
      const std::vector<std::int32_t> segment_of = basket_segments(baskets, table.customer, segments.best.labels);
      for (std::int64_t s = 0; s < summary.k; ++s) {
        log::info("fpgrowth: segment {}", s);
        const fpgrowth::Baskets chosen = select_baskets(baskets, segment_of, static_cast<std::int32_t>(s));
        segment_itemsets.push_back(mine_task(fmt::format("segment_{}", s), per_segment, chosen, transactions.items.size(), checkpoint, comm));
        segment_rules.push_back(fp_settings.rules ? fpgrowth::generate_rules(segment_itemsets.back(), per_segment, comm)
                                                  : fpgrowth::RuleTable{});
        segment_distinctive.push_back(fpgrowth::distinctive_rules(segment_rules.back(), itemsets, fp_settings.distinctive_rules, comm));
      }
    }
    record.stages.push_back(fpgrowth_stage.finish());
  }

  // 4. Churn and purchase propensity, overall and per segment.
  std::optional<propensity::PropensityResult> propensities;
  if (stages.propensity) {
    StageReport propensity_stage("propensity", comm);
    propensity::Segments segment_space;
    if (have_segments) {
      segment_space.k = static_cast<std::size_t>(summary.k);
      segment_space.centroids_scaled.assign(segments.best.centroids.data(),
                                            segments.best.centroids.data() + segments.best.centroids.size());
      segment_space.labels = segments.best.labels;
    }
    propensities = propensity::fit_propensity(*propensity_settings, features::FeatureSettings::from_job(job), transactions, table,
                                              have_segments ? &segment_space : nullptr, comm);
    record.stages.push_back(propensity_stage.finish());
  }

  // 5. The model file, complete or not at all.
  StageReport write_stage("write", comm);
  h5::File file = model::create_model_file(summary.model, comm);
  h5::Group root = file.root();
  if (have_features) features::write_features(root, table);
  if (have_segments) {
    kmeans::write_kmeans(root, segments, table.names, table.transforms, table.customer);
    h5::Group kmeans_group = root.open_group("kmeans");
    write_profiles(kmeans_group, profiles, table.cols());
    if (comparison) model::write_comparison(root, *comparison, previous_path);
  }
  if (stages.fpgrowth) {
    h5::Group group = root.create_group("fpgrowth");
    model::write_item_dictionary(group, transactions.items);
    fpgrowth::write_itemsets_and_rules(group, fp_settings, itemsets, rules);
    group.write_attribute("segments", static_cast<std::int64_t>(segment_itemsets.size()));
    for (std::size_t s = 0; s < segment_itemsets.size(); ++s) {
      h5::Group segment_group = group.create_group(fmt::format("segment_{}", s));
      fpgrowth::write_itemsets_and_rules(segment_group, per_segment, segment_itemsets[s], segment_rules[s]);
      h5::Group distinctive = segment_group.create_group("distinctive");
      h5::write_replicated(distinctive, "rule", segment_distinctive[s].rule);
      h5::write_replicated(distinctive, "population_lift", segment_distinctive[s].population_lift);
      h5::write_replicated(distinctive, "lift_ratio", segment_distinctive[s].lift_ratio);
      distinctive.write_attribute("meaning",
                                  "the segment's rules whose lift differs most from the same rule over all baskets: index "
                                  "into rules/, population lift (NaN: not frequent over all baskets), segment lift / population lift");
    }
  }
  if (propensities) propensity::write_propensity(root, *propensities);
  if (have_transactions && have_segments) {
    const std::string csv = job.get_string("output", "assignments_csv");
    if (!csv.empty())
      model::write_assignments_csv(csv, table.customer, segments.best.labels, segments.best.squared_distances,
                                   transactions.customer_names, comm);
  }
  // The write stage's cost goes into /run with the others, so it covers the result groups (and
  // the assignments CSV) but not /run itself and the final flush, rename and directory sync.
  record.stages.push_back(write_stage.finish());
  record.finished_utc = model::utc_now(comm);
  record.wall_seconds = watch.seconds();
  model::write_run(root, record, comm);
  file.commit();
  checkpoint.remove();
  log::info("run: model {} written", summary.model.string());
  return summary;
}

}  // namespace mpiseg::pipeline
