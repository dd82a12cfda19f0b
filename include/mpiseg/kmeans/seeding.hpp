#pragma once
/// Initial centroids. Every random choice is a hash of (seed, point key, round), never of the
/// rank, and every global choice is an exact argmin with ties broken by key, so the centroids are
/// the same at any rank count.
///
///  - kmeans++: k rounds of D^2 sampling by an exponential race: point i draws u_i and the
///    smallest -ln(u_i) / (w_i D_i^2) wins, which picks i with probability w_i D_i^2 / sum.
///  - kmeans|| (Bahmani et al. 2012): a first uniform point, then `rounds` rounds in which each
///    point joins the candidates with probability min(1, l w D^2 / psi), l = oversampling x k,
///    psi the exact global cost; candidates are weighted by the (weighted) number of points
///    nearest to them and reduced to k on rank 0 by weighted k-means++ and weighted Lloyd, then
///    broadcast.
///  - random: the k points with the smallest hash.
///  - file: centroids from a CSV, a model file or an HDF5 dataset (warm start).
#include <cstdint>
#include <string>

#include "mpiseg/kmeans/assignment.hpp"
#include "mpiseg/kmeans/settings.hpp"

namespace mpiseg::kmeans {

struct SeedingReport {
  std::uint64_t candidates = 0;  // k-means|| candidates before the reduction to k
  std::int64_t rounds = 0;
};

/// Collective. Throws InputError when there are fewer points (or distinct points) than k.
RowMatrix seed_centroids(const KMeansSettings& settings, std::size_t k, std::uint64_t seed, const Points& points,
                         comm::Communicator& comm, SeedingReport& report);

}  // namespace mpiseg::kmeans
