#pragma once
/// Counter-based pseudo-random numbers. A CounterRng is a pure function of (seed, key, stream):
/// the numbers a customer, a point or a basket receives never depend on which rank drew them or
/// on how many ranks there are. This is what makes generated data, sampling and K-means seeding
/// identical at every rank count.
///
///   CounterRng rng(seed, customer_key, kStreamBaskets);
///   double u = rng.uniform();           // [0, 1)
///   std::uint64_t n = rng.poisson(3.5);
#include <cmath>
#include <cstdint>
#include <numbers>

namespace mpiseg {

/// SplitMix64's output function: a bijective 64-bit mixer with full avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// Hash of a key under a seed, e.g. for deterministic sampling decisions.
constexpr std::uint64_t hash_with_seed(std::uint64_t seed, std::uint64_t key, std::uint64_t stream = 0) noexcept {
  return mix64(mix64(mix64(seed ^ 0x6a09e667f3bcc909ULL) ^ key) + stream * 0x9e3779b97f4a7c15ULL);
}

/// Uniform double in [0, 1) from the top 53 bits of a hash.
constexpr double unit_interval(std::uint64_t bits) noexcept {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

class CounterRng {
 public:
  constexpr CounterRng(std::uint64_t seed, std::uint64_t key, std::uint64_t stream = 0) noexcept
      : base_(hash_with_seed(seed, key, stream)) {}

  constexpr std::uint64_t next_u64() noexcept { return mix64(base_ + (++counter_) * 0x9e3779b97f4a7c15ULL); }
  /// Uniform in [0, 1).
  constexpr double uniform() noexcept { return unit_interval(next_u64()); }
  /// Uniform in (0, 1]; safe to take the logarithm of.
  constexpr double uniform_positive() noexcept { return 1.0 - uniform(); }
  /// Uniform integer in [0, n) by multiply-high (bias below 2^-64 * n, irrelevant here).
  constexpr std::uint64_t below(std::uint64_t n) noexcept {
    __extension__ using uint128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<uint128>(next_u64()) * n) >> 64);
  }
  bool bernoulli(double p) noexcept { return uniform() < p; }
  /// Standard normal by Box-Muller, one draw per call (no cached state keeps the stream simple).
  double normal() noexcept {
    const double radius = std::sqrt(-2.0 * std::log(uniform_positive()));
    return radius * std::cos(2.0 * std::numbers::pi * uniform());
  }
  /// Poisson: multiplication method for small means, rounded normal approximation above 30.
  std::uint64_t poisson(double mean) noexcept {
    if (mean <= 0) return 0;
    if (mean > 30.0) {
      const double value = std::round(mean + std::sqrt(mean) * normal());
      return value < 0 ? 0 : static_cast<std::uint64_t>(value);
    }
    const double limit = std::exp(-mean);
    double product = uniform_positive();
    std::uint64_t count = 0;
    while (product > limit) {
      product *= uniform_positive();
      ++count;
    }
    return count;
  }
  /// Number of draws so far; with (seed, key, stream) it restores the generator exactly.
  constexpr std::uint64_t position() const noexcept { return counter_; }
  constexpr void seek(std::uint64_t position) noexcept { counter_ = position; }

 private:
  std::uint64_t base_;
  std::uint64_t counter_ = 0;
};

}  // namespace mpiseg
