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
#include "mpiseg/pipeline/stages.hpp"

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

}  // namespace mpiseg::pipeline
