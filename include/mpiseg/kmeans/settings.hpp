#pragma once
/// [kmeans] settings.
#include <cstddef>
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
/// The assignment step of Lloyd's iterations. Every one gives the same labels; they differ in the
/// distances they skip. automatic: Yinyang from kYinyangFromK clusters in at most kYinyangMaxD
/// dimensions, Hamerly otherwise. Measured (scripts/bench, README): at k = 100-256 Yinyang's group
/// bounds beat Hamerly in 2 and 4 dimensions; from 8 dimensions Hamerly, whose failed points go
/// through the blocked distance kernel, is faster.
enum class Algorithm { automatic, lloyd, hamerly, yinyang };
inline constexpr std::int64_t kYinyangFromK = 64;
inline constexpr std::size_t kYinyangMaxD = 4;

struct KMeansSettings {
  std::vector<std::int64_t> k = {8};  // one value, or a sweep
  InitMethod init = InitMethod::kmeans_parallel;
  std::string init_file;  // CSV (k rows) or model.h5 (its /kmeans/centroids_scaled) or file.h5:/dataset
  std::uint64_t seed = 42;
  std::int64_t max_iter = 300;
  double tol = 1e-4;
  std::int64_t n_init = 1;
  bool accelerate = true;  // false: plain Lloyd whatever `algorithm` says
  Algorithm algorithm = Algorithm::automatic;
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
const char* algorithm_name(Algorithm algorithm);
/// The step a run with k clusters in d dimensions uses under these settings (never automatic).
Algorithm algorithm_for(const KMeansSettings& settings, std::int64_t k, std::size_t d);

}  // namespace mpiseg::kmeans
