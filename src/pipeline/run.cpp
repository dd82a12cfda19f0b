#include "mpiseg/pipeline/run.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/model/stage_groups.hpp"
#include "mpiseg/model/export.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/propensity_group.hpp"
#include "mpiseg/model/recommend_group.hpp"
#include "mpiseg/pipeline/checkpoint.hpp"
#include "mpiseg/pipeline/input.hpp"
#include "mpiseg/pipeline/points.hpp"
#include "mpiseg/pipeline/stages.hpp"
#include "mpiseg/propensity/propensity.hpp"
#include "keys_toml.hpp"  // module_keys(): src/pipeline/keys.toml

namespace mpiseg::pipeline {
namespace {

struct Stages {
  bool features = false, kmeans = false, fpgrowth = false, propensity = false, recommend = false;
};

Stages parse_stages(const JobConfig& job) {
  Stages stages;
  for (const std::string& name : job.get_string_list("run", "stages")) {
    if (name == "features") stages.features = true;
    else if (name == "kmeans") stages.kmeans = true;
    else if (name == "fpgrowth") stages.fpgrowth = true;
    else if (name == "propensity") stages.propensity = true;
    else if (name == "recommend") stages.recommend = true;
    else throw ConfigError(fmt::format("{}: unknown stage '{}' (features, kmeans, fpgrowth, propensity, recommend)",
                                       job.describe("run", "stages"), name));
  }
  return stages;
}

/// The files a run reads: its input and the previous model (for the checkpoint fingerprint).
std::vector<ingest::InputFileInfo> files_read(const JobConfig& job, InputSource source, const std::string& previous_model) {
  std::vector<std::filesystem::path> paths;
  if (source == InputSource::transactions) paths = ingest::InputSettings::from_job(job).paths;
  else paths.emplace_back(input_file(PointInputSettings::from_job(job).path));
  if (!previous_model.empty()) paths.emplace_back(previous_model);
  return ingest::describe_inputs(paths);
}

}  // namespace

std::span<const KeySpec> run_keys() { return module_keys().section("run"); }

RunSummary run_job(const JobConfig& job, comm::Communicator& comm) {
  const Stopwatch watch;
  const Stages stages = parse_stages(job);
  // Settings of later stages are checked now, not after ingest and K-means have run.
  if (stages.propensity) (void)propensity::PropensitySettings::from_job(job);
  if (stages.recommend) {
    const auto recommend_settings = recommend::RecommendSettings::from_job(job);
    if (recommend_settings.uses(recommend::Method::segment_popularity) && !stages.kmeans)
      throw ConfigError("[recommend] methods: segment_popularity needs the kmeans stage in [run] stages");
    if (recommend_settings.uses(recommend::Method::rules)) (void)fpgrowth::FpSettings::from_job(job);
  }
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
  const InputSource source = input_source(job);
  const std::string previous_path = job.get_string("run", "previous_model");
  const std::vector<ingest::InputFileInfo> read = files_read(job, source, previous_path);
  RunCheckpoint checkpoint(CheckpointSettings::from_job(job, summary.model), run_fingerprint(job, read, content_fingerprint(read, comm)), comm);

  // 1. Transactions (unless the run starts from a feature file) and features.
  ingest::IngestResult transactions;
  features::FeatureTable table;
  bool have_transactions = false, have_features = false;
  if (source == InputSource::features) {
    if (stages.fpgrowth || stages.propensity || stages.recommend)
      throw ConfigError("[run] stages: fpgrowth, propensity and recommend need transactions; the input is a feature file");
    PointTable points = load_points(job, comm);
    table = std::move(points.features);
    have_features = true;
  } else {
    StageReport ingest_stage("ingest", comm);
    transactions = load_transactions(job, summary.model, comm);
    record.stages.push_back(ingest_stage.finish(ingest_figures(transactions)));
    have_transactions = true;
    record.inputs = transactions.inputs;
    record.accounting = transactions.accounting;
    record.has_accounting = true;
    model::record_period(record, transactions, comm);
    if (transactions.from_basket_file() && stages.recommend)
      throw ConfigError("[run] stages: recommend needs line items with customers; the input is a basket file");
    if (stages.features || stages.kmeans || stages.propensity) {
      if (transactions.from_basket_file())
        throw ConfigError("[run] stages: features, kmeans and propensity need line items; the input is a basket file");
      StageReport features_stage("features", comm);
      table = features::build_features(features::FeatureSettings::from_job(job), transactions, comm);
      have_features = true;
      record.stages.push_back(features_stage.finish());
    }
  }

  // 2. Segments.
  std::optional<Segmentation> segments;
  if (stages.kmeans) {
    StageReport kmeans_stage("kmeans", comm);
    segments = segment_customers(job, table, &checkpoint, comm);
    summary.k = segments->k();
    record.stages.push_back(kmeans_stage.finish(kmeans_figures(segments->fit)));
  }
  summary.customers = have_features ? table.customers : 0;

  // 3. Basket analysis, overall and per segment.
  std::optional<BasketAnalysis> baskets;
  if (stages.fpgrowth) {
    StageReport fpgrowth_stage("fpgrowth", comm);
    const Segmentation* segmentation = segments ? &*segments : nullptr;
    // Without propensity or recommend to come, nothing reads the line items after this stage:
    // they are handed over to the baskets instead of being kept beside them through the mining.
    if (stages.propensity || stages.recommend)
      baskets = analyse_baskets(job, transactions, segmentation, &table, &checkpoint, comm);
    else
      baskets = analyse_baskets(job, fpgrowth::build_baskets(std::move(transactions.rows)), transactions.items.size(), segmentation,
                                &table, &checkpoint, comm);
    summary.itemsets = baskets->itemsets.total;
    summary.rules = comm.allreduce<std::uint64_t>(baskets->rules.size(), comm::ReduceOp::sum);
    record.stages.push_back(fpgrowth_stage.finish(basket_figures(*baskets, comm)));
  }

  // 4. Churn and purchase propensity, overall and per segment.
  std::optional<propensity::PropensityResult> propensities;
  if (stages.propensity) {
    StageReport propensity_stage("propensity", comm);
    propensities = predict_propensity(job, transactions, table, segments ? &*segments : nullptr, comm);
    record.stages.push_back(propensity_stage.finish(propensity_figures(*propensities, comm)));
  }

  // 5. Next-product recommendations, judged on a time split.
  std::optional<recommend::RecommendResult> recommendations;
  if (stages.recommend) {
    StageReport recommend_stage("recommend", comm);
    recommendations = recommend_products(job, transactions, have_features ? &table : nullptr, segments ? &*segments : nullptr,
                                         baskets ? &*baskets : nullptr, comm);
    record.stages.push_back(recommend_stage.finish(recommend_figures(*recommendations, comm)));
  }

  // 6. The model file, complete or not at all.
  StageReport write_stage("write", comm);
  h5::File file = model::create_model_file(summary.model, comm);
  h5::Group root = file.root();
  if (have_features) model::write_features(root, table);
  if (segments) write_segmentation(root, *segments, table);
  if (baskets) write_basket_analysis(root, *baskets, transactions.items);
  if (propensities) model::write_propensity(root, *propensities);
  if (recommendations) model::write_recommend(root, *recommendations, transactions.items);
  if (have_transactions && segments) {
    const std::string csv = job.get_string("output", "assignments_csv");
    if (!csv.empty())
      model::write_assignments_csv(csv, table.customer, segments->fit.best.labels, segments->fit.best.squared_distances,
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
