// K-means edge cases at 1..4 ranks, each compared with what one process computes alone.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>

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
KMeansResult serial_fit(const KMeansSettings& s, int n) {
  auto alone = comm::make_serial_communicator();
  const Data all = blobs(n, [](int) { return true; });
  return fit(s, all.points(), *alone);
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
  testing::ScratchDir scratch(comm);
  const int n = 300;
  const Data data = blobs(n, [&](int i) { return i % comm.size() == comm.rank(); });
  // Two centroids far from everything: their clusters are empty after the first assignment.
  if (comm.rank() == 0) std::ofstream(scratch / "init.csv") << "0,0\n1000,1000\n-1000,1000\n";
  comm.barrier();
  KMeansSettings s = settings({3});
  s.init = InitMethod::file;
  s.init_file = (scratch / "init.csv").string();
  const KMeansResult result = fit(s, data.points(), comm);
  BOOST_TEST(result.best.empty_relocations >= 2u);
  for (std::uint64_t size : result.best.cluster_size) BOOST_TEST(size > 0u);
  BOOST_TEST(result.sweep[0].metrics.silhouette > 0.7);
  if (comm.rank() == 0) {
    const KMeansResult serial = serial_fit(s, n);
    BOOST_TEST((serial.best.centroids == result.best.centroids));
    BOOST_TEST(same_bits(serial.best.inertia, result.best.inertia));
  }
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
  testing::ScratchDir scratch(comm);
  if (comm.rank() == 0) {
    std::ofstream out(scratch / "init.csv");
    out.precision(17);
    // Same start for the doubled data: the final centroids of the weighted run, rounded to the
    // same fixed point (a converged run stays put).
    for (Eigen::Index j = 0; j < a.best.centroids.rows(); ++j) out << a.best.centroids(j, 0) << "," << a.best.centroids(j, 1) << "\n";
  }
  comm.barrier();
  s.init_file = (scratch / "init.csv").string();
  const KMeansResult b = fit(s, doubled.points(), comm);
  BOOST_TEST(std::abs(a.best.inertia * 1.0 - b.best.inertia) <= 1e-9 * b.best.inertia);
  BOOST_TEST(a.best.cluster_weight == b.best.cluster_weight);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_rejected) {
  auto& comm = world();
  std::vector<std::uint64_t> keys = {static_cast<std::uint64_t>(comm.rank()), 99};
  if (comm.size() == 1) keys.push_back(99);
  BOOST_CHECK_THROW(pipeline::check_unique_keys(keys, comm), InputError);
}

BOOST_AUTO_TEST_SUITE_END()
