// K-means edge cases at 1..4 ranks, each compared with what one process computes alone.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/kmeans/kmeans.hpp"
#include "mpiseg/pipeline/points.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using namespace mpiseg::kmeans;
using mpiseg::testing::world;

namespace {

struct Data {
  std::vector<double> values;
  std::vector<std::uint64_t> keys;
  std::size_t d = 0;
  Points points() const { return Points{values, keys.size(), d, keys, {}}; }
};

// Three well-separated 2-D blobs; global point i has key 1000 + 3 i. `owner(i)` picks the rank.
Data blobs(int n, const std::function<bool(int)>& mine) {
  Data data;
  data.d = 2;
  const double centers[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  for (int i = 0; i < n; ++i) {
    CounterRng rng(5, static_cast<std::uint64_t>(i));
    if (!mine(i)) continue;
    data.keys.push_back(1000 + 3 * static_cast<std::uint64_t>(i));
    data.values.push_back(centers[i % 3][0] + rng.normal());
    data.values.push_back(centers[i % 3][1] + rng.normal());
  }
  return data;
}

KMeansSettings settings(std::vector<std::int64_t> k) {
  KMeansSettings s;
  s.k = std::move(k);
  s.seed = 3;
  s.silhouette_sample = 400;
  return s;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The same fit by rank 0 alone on every point (serial communicator).
KMeansResult serial_fit(const KMeansSettings& s, int n, const InitialCentroids* initial = nullptr) {
  auto alone = comm::make_serial_communicator();
  const Data all = blobs(n, [](int) { return true; });
  return fit(s, all.points(), *alone, nullptr, initial);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kmeans_stage)

BOOST_AUTO_TEST_CASE(sweep_chooses_the_planted_k_and_matches_one_process) {
  auto& comm = world();
  const int n = 600;
  const Data data = blobs(n, [&](int i) { return i % comm.size() == comm.rank(); });
  const KMeansSettings s = settings({2, 3, 4, 5});
  const KMeansResult result = fit(s, data.points(), comm);
  BOOST_TEST(result.sweep.at(result.chosen).k == 3);
  BOOST_TEST(result.sweep.size() == 4u);
  if (comm.rank() == 0) {
    const KMeansResult serial = serial_fit(s, n);
    BOOST_TEST(serial.chosen == result.chosen);
    for (std::size_t i = 0; i < serial.sweep.size(); ++i) {
      BOOST_TEST(same_bits(serial.sweep[i].inertia, result.sweep[i].inertia));
      BOOST_TEST(same_bits(serial.sweep[i].metrics.silhouette, result.sweep[i].metrics.silhouette));
      BOOST_TEST(same_bits(serial.sweep[i].metrics.davies_bouldin, result.sweep[i].metrics.davies_bouldin));
      BOOST_TEST(serial.sweep[i].iterations == result.sweep[i].iterations);
    }
    BOOST_TEST((serial.best.centroids == result.best.centroids));
  }
}

BOOST_AUTO_TEST_CASE(ranks_without_points_take_part) {
  auto& comm = world();
  const int n = 90;
  const Data data = blobs(n, [&](int) { return comm.rank() == 0; });  // everything on rank 0
  const KMeansResult result = fit(settings({3}), data.points(), comm);
  BOOST_TEST(result.best.labels.size() == data.keys.size());
  if (comm.rank() == 0) BOOST_TEST((serial_fit(settings({3}), n).best.centroids == result.best.centroids));
}

BOOST_AUTO_TEST_CASE(k_larger_than_the_points_is_an_error_everywhere) {
  auto& comm = world();
  const Data data = blobs(5, [&](int i) { return i % comm.size() == comm.rank(); });
  BOOST_CHECK_EXCEPTION(fit(settings({6}), data.points(), comm), InputError, [](const InputError& e) {
    return std::string(e.what()).find("larger than the number of points") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(single_distinct_point) {
  auto& comm = world();
  Data data;
  data.d = 3;
  for (int i = comm.rank(); i < 40; i += comm.size()) {
    data.keys.push_back(static_cast<std::uint64_t>(i));
    data.values.insert(data.values.end(), {1.5, -2.0, 4.0});
  }
  // k = 1 is fine: the centroid is the point, the inertia 0.
  const KMeansResult one = fit(settings({1}), data.points(), comm);
  BOOST_TEST(one.best.inertia == 0.0);
  BOOST_TEST(one.best.centroids(0, 2) == 4.0);
  // k = 2 cannot be seeded with two distinct centroids: a clear error, for every seeding.
  for (InitMethod init : {InitMethod::kmeans_parallel, InitMethod::kmeans_plus_plus}) {
    KMeansSettings s = settings({2});
    s.init = init;
    BOOST_CHECK_EXCEPTION(fit(s, data.points(), comm), InputError, [](const InputError& e) {
      return std::string(e.what()).find("distinct") != std::string::npos;
    });
  }
}

BOOST_AUTO_TEST_CASE(nan_and_inf_are_rejected) {
  auto& comm = world();
  Data data = blobs(30, [&](int i) { return i % comm.size() == comm.rank(); });
  if (comm.rank() == comm.size() - 1 && !data.values.empty()) data.values[0] = std::nan("");
  BOOST_CHECK_THROW(fit(settings({2}), data.points(), comm), InputError);
}

BOOST_AUTO_TEST_CASE(empty_clusters_are_reseeded_with_the_farthest_points) {
  auto& comm = world();
  const int n = 300;
  const Data data = blobs(n, [&](int i) { return i % comm.size() == comm.rank(); });
  // Two centroids far from everything: their clusters are empty after the first assignment.
  RowMatrix far(3, 2);
  far << 0, 0, 1000, 1000, -1000, 1000;
  const InitialCentroids start{far};
  KMeansSettings s = settings({3});
  s.init = InitMethod::file;
  const KMeansResult result = fit(s, data.points(), comm, nullptr, &start);
  BOOST_TEST(result.best.empty_relocations >= 2u);
  for (std::uint64_t size : result.best.cluster_size) BOOST_TEST(size > 0u);
  BOOST_TEST(result.sweep[0].metrics.silhouette > 0.7);
  if (comm.rank() == 0) {
    const KMeansResult serial = serial_fit(s, n, &start);
    BOOST_TEST((serial.best.centroids == result.best.centroids));
    BOOST_TEST(same_bits(serial.best.inertia, result.best.inertia));
  }
}

BOOST_AUTO_TEST_CASE(init_file_centroids_are_read_and_checked_against_k_and_d) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  if (comm.rank() == 0) std::ofstream(scratch / "init.csv") << "0.5,1\n-2,3.25\n";
  comm.barrier();
  KMeansSettings s = settings({2});
  s.init = InitMethod::file;
  s.init_file = (scratch / "init.csv").string();
  const auto centroids = pipeline::read_initial_centroids(s, 2, comm);
  BOOST_TEST_REQUIRE(centroids.has_value());
  RowMatrix expected(2, 2);
  expected << 0.5, 1, -2, 3.25;
  BOOST_TEST((centroids->centroids == expected));
  auto says = [](const std::string& fragment) {
    return [fragment](const InputError& error) { return std::string(error.what()).find(fragment) != std::string::npos; };
  };
  BOOST_CHECK_EXCEPTION(pipeline::read_initial_centroids(s, 3, comm), InputError, says("are 2 x 2; this run needs k x d = 2 x 3"));
  s.k = {2, 3};
  BOOST_CHECK_EXCEPTION(pipeline::read_initial_centroids(s, 2, comm), InputError, says("this run needs k x d = 3 x 2"));
  s.init = InitMethod::random;
  BOOST_TEST(!pipeline::read_initial_centroids(s, 2, comm).has_value());
}

BOOST_AUTO_TEST_CASE(weights_count_like_repeated_points) {
  auto& comm = world();
  // Each point with weight 2 must give the centroids of the data with every point twice.
  const Data data = blobs(120, [&](int i) { return i % comm.size() == comm.rank(); });
  std::vector<double> weights(data.keys.size(), 2.0);
  Points weighted{data.values, data.keys.size(), 2, data.keys, weights};
  Data doubled;
  doubled.d = 2;
  for (std::size_t i = 0; i < data.keys.size(); ++i) {
    for (std::uint64_t copy = 0; copy < 2; ++copy) {
      doubled.keys.push_back(data.keys[i] * 2 + copy);
      doubled.values.insert(doubled.values.end(), {data.values[2 * i], data.values[2 * i + 1]});
    }
  }
  KMeansSettings s = settings({3});
  s.init = InitMethod::kmeans_plus_plus;
  const KMeansResult a = fit(s, weighted, comm);
  s.init = InitMethod::file;
  // Same start for the doubled data: the final centroids of the weighted run (a converged run
  // stays put).
  const InitialCentroids start{a.best.centroids};
  const KMeansResult b = fit(s, doubled.points(), comm, nullptr, &start);
  BOOST_TEST(std::abs(a.best.inertia * 1.0 - b.best.inertia) <= 1e-9 * b.best.inertia);
  BOOST_TEST(a.best.cluster_weight == b.best.cluster_weight);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_rejected) {
  auto& comm = world();
  std::vector<std::uint64_t> keys = {static_cast<std::uint64_t>(comm.rank()), 99};
  if (comm.size() == 1) keys.push_back(99);
  BOOST_CHECK_THROW(pipeline::check_unique_keys(keys, comm), InputError);
}

namespace {

/// An in-memory checkpoint that asks the run to stop at the `stop_at`-th iteration overall.
class MemoryCheckpoint final : public FitCheckpoint {
 public:
  explicit MemoryCheckpoint(int stop_at) : stop_at_(stop_at) {}
  const FinishedRun* finished(std::int64_t k, std::int64_t init) const override {
    const auto found = finished_.find({k, init});
    return found == finished_.end() ? nullptr : &found->second;
  }
  const LloydProgress* progress(std::int64_t k, std::int64_t init) const override {
    return saved_ && progress_run_ == std::make_pair(k, init) ? &progress_ : nullptr;
  }
  void run_finished(std::int64_t k, std::int64_t init, const FinishedRun& run) override {
    finished_[{k, init}] = run;
    saved_ = false;
  }
  bool after_iteration(std::int64_t k, std::int64_t init, const LloydProgress& progress, std::span<const std::int32_t> labels) override {
    if (++iterations_ != stop_at_) return true;
    progress_ = progress;
    progress_.labels.assign(labels.begin(), labels.end());
    progress_run_ = {k, init};
    saved_ = true;
    return false;
  }
  std::size_t finished_runs() const { return finished_.size(); }

 private:
  int stop_at_;
  int iterations_ = 0;
  std::map<std::pair<std::int64_t, std::int64_t>, FinishedRun> finished_;
  std::pair<std::int64_t, std::int64_t> progress_run_;
  LloydProgress progress_;
  bool saved_ = false;
};

}  // namespace

BOOST_AUTO_TEST_CASE(interrupted_and_resumed_sweeps_are_bit_identical) {
  auto& comm = world();
  const Data data = blobs(900, [&](int i) { return i % comm.size() == comm.rank(); });
  KMeansSettings s = settings({2, 3, 4});
  s.n_init = 3;
  s.tol = 0;
  for (const Algorithm algorithm : {Algorithm::lloyd, Algorithm::hamerly, Algorithm::yinyang}) {
    s.algorithm = algorithm;
    const KMeansResult straight = fit(s, data.points(), comm);
    // Stop at several points: the first iteration, within a later run, near the end.
    for (const int stop_at : {1, 7, 20}) {
      MemoryCheckpoint checkpoint(stop_at);
      const KMeansResult stopped = fit(s, data.points(), comm, &checkpoint);
      BOOST_TEST_REQUIRE(stopped.interrupted);
      const KMeansResult resumed = fit(s, data.points(), comm, &checkpoint);
      BOOST_TEST(!resumed.interrupted);
      BOOST_TEST(checkpoint.finished_runs() == 9u);
      BOOST_TEST(resumed.chosen == straight.chosen);
      BOOST_TEST((resumed.best.centroids == straight.best.centroids), "stop at " << stop_at);
      BOOST_TEST(resumed.best.labels == straight.best.labels);
      BOOST_TEST(resumed.best.inertia_history == straight.best.inertia_history);
      BOOST_TEST(same_bits(resumed.best.inertia, straight.best.inertia));
      BOOST_TEST(resumed.best.iterations == straight.best.iterations);
      for (std::size_t i = 0; i < straight.sweep.size(); ++i) {
        BOOST_TEST(resumed.sweep[i].best_init == straight.sweep[i].best_init);
        BOOST_TEST(same_bits(resumed.sweep[i].metrics.silhouette, straight.sweep[i].metrics.silhouette));
      }
    }
  }
}

// Overlapping blobs in 4-D with exact duplicates (ties at every distance) and k up to 90: plain
// Lloyd, Hamerly and Yinyang give the same fit bit for bit, at every rank count.
BOOST_AUTO_TEST_CASE(lloyd_hamerly_and_yinyang_give_the_same_fit) {
  auto& comm = world();
  Data data;
  data.d = 4;
  for (int i = 0; i < 3000; ++i) {
    CounterRng rng(11, static_cast<std::uint64_t>(i / 2));  // pairs of identical points
    if (i % comm.size() != comm.rank()) continue;
    data.keys.push_back(static_cast<std::uint64_t>(i));
    const double center = static_cast<double>((i / 2) % 40);
    for (int c = 0; c < 4; ++c) data.values.push_back(center * (c == 0 ? 1.0 : 0.25) + 2.0 * rng.normal());
  }
  for (const std::int64_t k : {5, 70, 90}) {
    KMeansSettings s = settings({k});
    s.tol = 0;
    s.max_iter = 60;
    s.silhouette_sample = 0;
    s.algorithm = Algorithm::lloyd;
    const KMeansResult plain = fit(s, data.points(), comm);
    for (const Algorithm algorithm : {Algorithm::hamerly, Algorithm::yinyang}) {
      s.algorithm = algorithm;
      const KMeansResult bounded = fit(s, data.points(), comm);
      BOOST_TEST((bounded.best.centroids == plain.best.centroids), algorithm_name(algorithm) << " at k = " << k);
      BOOST_TEST(bounded.best.labels == plain.best.labels);
      BOOST_TEST(bounded.best.inertia_history == plain.best.inertia_history);
      BOOST_TEST(bounded.best.iterations == plain.best.iterations);
      BOOST_TEST(bounded.best.empty_relocations == plain.best.empty_relocations);
    }
  }
  KMeansSettings automatic = settings({kYinyangFromK - 1, kYinyangFromK});
  BOOST_TEST(std::string(algorithm_name(algorithm_for(automatic, kYinyangFromK - 1, kYinyangMaxD))) == "hamerly");
  BOOST_TEST(std::string(algorithm_name(algorithm_for(automatic, kYinyangFromK, kYinyangMaxD))) == "yinyang");
  BOOST_TEST(std::string(algorithm_name(algorithm_for(automatic, kYinyangFromK, kYinyangMaxD + 1))) == "hamerly");
  automatic.accelerate = false;
  BOOST_TEST(std::string(algorithm_name(algorithm_for(automatic, kYinyangFromK, kYinyangMaxD))) == "lloyd");
}

BOOST_AUTO_TEST_CASE(renumbering_moves_centroids_labels_and_sizes_together) {
  auto& comm = world();
  const Data data = blobs(300, [&](int i) { return i % comm.size() == comm.rank(); });
  KMeansResult result = fit(settings({3}), data.points(), comm);
  const LloydResult before = result.best;
  const std::vector<std::int32_t> new_id = {2, 0, 1};
  renumber_segments(result.best, new_id);
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST((result.best.centroids.row(new_id[j]) == before.centroids.row(static_cast<Eigen::Index>(j))));
    BOOST_TEST(result.best.cluster_size[static_cast<std::size_t>(new_id[j])] == before.cluster_size[j]);
  }
  for (std::size_t i = 0; i < before.labels.size(); ++i)
    BOOST_TEST(result.best.labels[i] == new_id[static_cast<std::size_t>(before.labels[i])]);
}

BOOST_AUTO_TEST_SUITE_END()
