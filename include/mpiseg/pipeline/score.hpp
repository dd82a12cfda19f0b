#pragma once
/// `mpiseg score --model MODEL.h5 [INPUT]`: assigns the customers of new line items to an
/// existing model's segments, with the model's own feature transform and centroids (nothing is
/// refitted). Parallel: each rank scores its customers.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"

namespace mpiseg::pipeline {

struct ScoreSummary {
  std::uint64_t customers = 0;
  std::vector<std::uint64_t> per_segment;
};

/// Collective. Reads [input] (csv or store), computes the model's features for its customers,
/// and writes customer,segment,distance to `out` (.csv, or an HDF5 file with /assignments).
ScoreSummary score_customers(const JobConfig& job, const std::filesystem::path& model, const std::filesystem::path& out,
                             comm::Communicator& comm);

}  // namespace mpiseg::pipeline
