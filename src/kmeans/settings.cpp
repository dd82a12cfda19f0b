#include "mpiseg/kmeans/settings.hpp"

#include <array>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/kmeans/keys.toml

namespace mpiseg::kmeans {
std::span<const KeySpec> kmeans_keys() { return module_keys().section("kmeans"); }

namespace {
// The names of the enum keys, the canonical one first (what models and logs record).
constexpr std::array<Choice<InitMethod>, 6> kInitNames{{{"kmeans||", InitMethod::kmeans_parallel},
                                                       {"k-means||", InitMethod::kmeans_parallel},
                                                       {"kmeans++", InitMethod::kmeans_plus_plus},
                                                       {"k-means++", InitMethod::kmeans_plus_plus},
                                                       {"random", InitMethod::random},
                                                       {"file", InitMethod::file}}};
constexpr std::array<Choice<Selection>, 3> kSelectionNames{
    {{"silhouette", Selection::silhouette}, {"calinski_harabasz", Selection::calinski_harabasz}, {"davies_bouldin", Selection::davies_bouldin}}};
constexpr std::array<Choice<Algorithm>, 4> kAlgorithmNames{
    {{"auto", Algorithm::automatic}, {"lloyd", Algorithm::lloyd}, {"hamerly", Algorithm::hamerly}, {"yinyang", Algorithm::yinyang}}};
}  // namespace

// previous_model is recorded (a warm start), never configured.
const char* init_name(InitMethod method) { return method == InitMethod::previous_model ? "previous_model" : choice_name(kInitNames, method); }
const char* selection_name(Selection selection) { return choice_name(kSelectionNames, selection); }
const char* algorithm_name(Algorithm algorithm) { return choice_name(kAlgorithmNames, algorithm); }

Algorithm algorithm_for(const KMeansSettings& settings, std::int64_t k, std::size_t d) {
  if (!settings.accelerate) return Algorithm::lloyd;
  if (settings.algorithm != Algorithm::automatic) return settings.algorithm;
  return k >= kYinyangFromK && d <= kYinyangMaxD ? Algorithm::yinyang : Algorithm::hamerly;
}

KMeansSettings KMeansSettings::from_job(const JobConfig& job) {
  KMeansSettings s;
  s.k = job.get_int_list("kmeans", "k");
  if (s.k.empty()) throw ConfigError(fmt::format("{} is empty", job.describe("kmeans", "k")));
  for (std::int64_t k : s.k)
    if (k < 1 || k > 100000) throw ConfigError(fmt::format("{}: k = {} is not between 1 and 100000", job.describe("kmeans", "k"), k));
  s.init = job.get_choice("kmeans", "init", kInitNames);
  s.init_file = job.get_string("kmeans", "init_file");
  if (s.init == InitMethod::file && s.init_file.empty())
    throw ConfigError(fmt::format("{}: init = \"file\" needs [kmeans] init_file", job.origin()));
  s.seed = static_cast<std::uint64_t>(job.get_int("kmeans", "seed"));
  s.max_iter = job.get_int_in("kmeans", "max_iter", 1);
  s.tol = job.get_number_from("kmeans", "tol", 0);
  s.n_init = job.get_int_in("kmeans", "n_init", 1);
  s.accelerate = job.get_bool("kmeans", "accelerate");
  s.algorithm = job.get_choice("kmeans", "algorithm", kAlgorithmNames);
  s.silhouette_sample = static_cast<std::uint64_t>(job.get_int_in("kmeans", "silhouette_sample", 0));
  s.oversampling = job.get_number_from("kmeans", "oversampling", 0, true);
  s.rounds = job.get_int_in("kmeans", "rounds", 1);
  s.selection = job.get_choice("kmeans", "selection", kSelectionNames);
  if (s.selection == Selection::silhouette && s.silhouette_sample == 0 && s.k.size() > 1)
    throw ConfigError(fmt::format("{}: selection = \"silhouette\" needs silhouette_sample > 0", job.origin()));
  return s;
}

}  // namespace mpiseg::kmeans
