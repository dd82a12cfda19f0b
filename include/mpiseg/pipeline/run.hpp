#pragma once
/// `mpiseg run`: one job from input to model file.
///
///   input (csv | baskets | store | features) -> ingest with accounting -> features -> K-means
///   (one k or a sweep) -> FP-growth overall and per segment -> one model file, written to
///   MODEL.tmp and renamed when complete.
///
/// Stages can be switched off with [run] stages; a run can start from an ingest store
/// ([input] format = "store") or a feature file (format = "features", skipping ingest and features).
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/kmeans/kmeans.hpp"

namespace mpiseg::pipeline {

std::span<const KeySpec> run_keys();

struct RunSummary {
  std::filesystem::path model;
  std::uint64_t customers = 0;
  std::int64_t k = 0;
  std::uint64_t itemsets = 0;
  std::uint64_t rules = 0;
};

/// Collective. Runs the job; returns where the model went and a few figures.
RunSummary run_job(const JobConfig& job, comm::Communicator& comm);

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

}  // namespace mpiseg::pipeline
