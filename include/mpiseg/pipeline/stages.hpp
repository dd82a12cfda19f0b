#pragma once
/// The analysis stages of a job, each a function of (the job's settings, the data it needs, the
/// communicator) that returns its results, with the writer of those results: `mpiseg run` calls
/// them in sequence (run.cpp) and the standalone commands (app/commands.cpp) the one they run,
/// so each stage is wired once.
///
///   const Segmentation segments = segment_customers(job, table, &checkpoint, comm);
///   const BasketAnalysis baskets = analyse_baskets(job, transactions, &segments, &table, &checkpoint, comm);
///   write_segmentation(root, segments, table);
///   write_basket_analysis(root, baskets, transactions.items);
///
/// A null checkpoint runs the stage without one (the standalone commands).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/io/h5/h5.hpp"
#include "mpiseg/kmeans/kmeans.hpp"
#include "mpiseg/model/compare.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/propensity/propensity.hpp"
#include "mpiseg/recommend/recommend.hpp"

namespace mpiseg::pipeline {

class RunCheckpoint;

/// The cost of one stage over all ranks, kept in the model's /run/stages: made when the stage
/// starts; finish() (collective) when it ends logs and returns the wall time (slowest rank), the
/// time inside collectives (waiting for other ranks included; the slowest rank's and the mean),
/// the bytes sent between ranks (all ranks), the peak memory (largest rank), and the figures the
/// stage measured about its own work (the *_figures functions below).
class StageReport {
 public:
  StageReport(std::string name, comm::Communicator& comm);
  model::StageCost finish(std::vector<model::StageFigure> figures = {});

 private:
  std::string name_;
  comm::Communicator& comm_;
  comm::Traffic start_;
  Stopwatch watch_;
};

/// Collective. What each stage measured about its own work, for StageReport::finish.
std::vector<model::StageFigure> ingest_figures(const ingest::IngestResult& transactions);
std::vector<model::StageFigure> kmeans_figures(const kmeans::KMeansResult& fit);

/// Per-segment profile in original units: customers, share of revenue (monetary), and the mean
/// and exact median of every raw feature. Collective; replicated on every rank.
struct SegmentProfiles {
  std::vector<std::uint64_t> customers;  // per segment
  std::vector<double> revenue_share;     // per segment: sum of monetary / total (0 without monetary)
  std::vector<double> mean;              // k x d
  std::vector<double> median;            // k x d
};
SegmentProfiles segment_profiles(const features::FeatureTable& table, std::span<const std::int32_t> labels, std::size_t k,
                                 comm::Communicator& comm);

struct Segmentation {
  kmeans::KMeansResult fit;
  SegmentProfiles profiles;
  std::string previous_model;                       // [run] previous_model, "" without one
  std::optional<model::ModelComparison> comparison;  // against it
  std::int64_t k() const { return fit.sweep.at(fit.chosen).k; }
};

/// Collective. K-means ([kmeans]) on the features stage's table: with [run] previous_model a warm
/// start from its centroids whose segment ids the new segments keep (minimum-cost matching), and
/// the comparison with it; then the segment profiles. Throws Checkpointed when a checkpoint
/// request stopped K-means.
Segmentation segment_customers(const JobConfig& job, const features::FeatureTable& table, RunCheckpoint* checkpoint,
                               comm::Communicator& comm);
/// Collective. /kmeans (with /kmeans/profile), /assignments and, after a warm start, /compare.
void write_segmentation(h5::Group& root, const Segmentation& segments, const features::FeatureTable& table);

struct BasketAnalysis {
  fpgrowth::FpSettings settings;
  fpgrowth::FpSettings per_segment;  // what each segment is mined with (FpSettings::for_segments)
  fpgrowth::FrequentItemsets itemsets;
  fpgrowth::RuleTable rules;
  std::vector<fpgrowth::FrequentItemsets> segment_itemsets;
  std::vector<fpgrowth::RuleTable> segment_rules;
  std::vector<fpgrowth::DistinctiveRules> segment_distinctive;
};

/// Collective. FP-growth and rules ([fpgrowth]) over all baskets and, given segments (with the
/// table they label) and per_segment, over each segment's baskets.
BasketAnalysis analyse_baskets(const JobConfig& job, const ingest::IngestResult& transactions, const Segmentation* segments,
                               const features::FeatureTable* table, RunCheckpoint* checkpoint, comm::Communicator& comm);
/// The same from baskets already built (fpgrowth::build_baskets) over `items` dictionary ids, so
/// that a caller with no further use for the line items can free them before mining.
BasketAnalysis analyse_baskets(const JobConfig& job, const fpgrowth::Baskets& baskets, std::size_t items, const Segmentation* segments,
                               const features::FeatureTable* table, RunCheckpoint* checkpoint, comm::Communicator& comm);
std::vector<model::StageFigure> basket_figures(const BasketAnalysis& analysis, comm::Communicator& comm);
/// Collective. /fpgrowth: the item dictionary, itemsets and rules, and one group per segment.
void write_basket_analysis(h5::Group& root, const BasketAnalysis& analysis, const ingest::ItemDictionary& items);

/// Collective. The propensity models ([propensity]) on the features stage's table, per segment
/// when segments are given.
propensity::PropensityResult predict_propensity(const JobConfig& job, const ingest::IngestResult& transactions,
                                                const features::FeatureTable& table, const Segmentation* segments,
                                                comm::Communicator& comm);

std::vector<model::StageFigure> propensity_figures(const propensity::PropensityResult& result, comm::Communicator& comm);

/// Collective. Recommendations ([recommend]) for every customer with a purchase, per method, judged
/// on a time split. Rules come from FP-growth ([fpgrowth]) mined on the lines before each
/// training window's end (the basket analysis of this run when it covers every line); segments,
/// when given, with the table they label.
recommend::RecommendResult recommend_products(const JobConfig& job, const ingest::IngestResult& transactions,
                                              const features::FeatureTable* table, const Segmentation* segments,
                                              const BasketAnalysis* baskets, comm::Communicator& comm);
std::vector<model::StageFigure> recommend_figures(const recommend::RecommendResult& result, comm::Communicator& comm);

}  // namespace mpiseg::pipeline
