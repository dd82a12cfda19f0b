#pragma once
/// [kmeans] settings.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"

namespace mpiseg::kmeans {

/// previous_model is never configured: fit() records it when it starts from given centroids (a
/// warm start from an earlier model, `mpiseg run` with [run] previous_model).
enum class InitMethod { kmeans_parallel, kmeans_plus_plus, random, file, previous_model };
enum class Selection { silhouette, calinski_harabasz, davies_bouldin };

struct KMeansSettings {
  std::vector<std::int64_t> k = {8};  // one value, or a sweep
  InitMethod init = InitMethod::kmeans_parallel;
  std::string init_file;  // CSV (k rows) or model.h5 (its /kmeans/centroids_scaled) or file.h5:/dataset
  std::uint64_t seed = 42;
  std::int64_t max_iter = 300;
  double tol = 1e-4;
  std::int64_t n_init = 1;
  bool accelerate = true;
  std::uint64_t silhouette_sample = 10000;
  double oversampling = 2.0;  // k-means||: expected candidates per round = oversampling * k
  std::int64_t rounds = 5;    // k-means|| rounds
  Selection selection = Selection::silhouette;

  static KMeansSettings from_job(const JobConfig& job);
  friend bool operator==(const KMeansSettings&, const KMeansSettings&) = default;
};

std::span<const KeySpec> kmeans_keys();
const char* init_name(InitMethod method);
const char* selection_name(Selection selection);

}  // namespace mpiseg::kmeans
