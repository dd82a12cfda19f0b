#include <boost/test/unit_test.hpp>
#include <cmath>

#include "mpiseg/core/hash.hpp"
#include "mpiseg/core/random.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_SUITE(counter_rng)

BOOST_AUTO_TEST_CASE(streams_are_pure_functions_of_seed_key_and_stream) {
  CounterRng a(42, 17, 3), b(42, 17, 3), other_key(42, 18, 3), other_seed(43, 17, 3);
  bool differs_key = false, differs_seed = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    BOOST_TEST(x == b.next_u64());
    differs_key = differs_key || x != other_key.next_u64();
    differs_seed = differs_seed || x != other_seed.next_u64();
  }
  BOOST_TEST(differs_key);
  BOOST_TEST(differs_seed);
}

BOOST_AUTO_TEST_CASE(seek_restores_the_position) {
  CounterRng a(1, 2, 3);
  for (int i = 0; i < 10; ++i) a.uniform();
  const auto position = a.position();
  const double next = a.uniform();
  CounterRng b(1, 2, 3);
  b.seek(position);
  BOOST_TEST(b.uniform() == next);
}

BOOST_AUTO_TEST_CASE(distributions_have_the_right_moments) {
  CounterRng rng(5, 0);
  const int n = 200000;
  double sum_uniform = 0, sum_normal = 0, sum_normal_sq = 0, sum_poisson_small = 0, sum_poisson_large = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    BOOST_REQUIRE(u >= 0.0);
    BOOST_REQUIRE(u < 1.0);
    sum_uniform += u;
    const double z = rng.normal();
    sum_normal += z;
    sum_normal_sq += z * z;
    sum_poisson_small += static_cast<double>(rng.poisson(3.5));
    sum_poisson_large += static_cast<double>(rng.poisson(80.0));
    BOOST_REQUIRE(rng.below(7) < 7);
  }
  BOOST_TEST(std::abs(sum_uniform / n - 0.5) < 0.005);
  BOOST_TEST(std::abs(sum_normal / n) < 0.01);
  BOOST_TEST(std::abs(sum_normal_sq / n - 1.0) < 0.02);
  BOOST_TEST(std::abs(sum_poisson_small / n - 3.5) < 0.03);
  BOOST_TEST(std::abs(sum_poisson_large / n - 80.0) < 0.2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hashing)

// The block hash sees every byte at every length (the four lanes, the tail words and the last
// bytes): flipping any one bit of any byte changes it, and so does the seed.
BOOST_AUTO_TEST_CASE(block_hash_depends_on_every_byte_and_the_seed) {
  std::string text;
  for (std::size_t i = 0; i < 100; ++i) text.push_back(static_cast<char>('a' + i * 7 % 26));
  std::size_t unchanged = 0;
  for (std::size_t length = 0; length <= text.size(); ++length) {
    const std::string_view base(text.data(), length);
    const std::uint64_t hash = hash_block(base, 5);
    BOOST_TEST(hash == hash_block(std::string(base), 5));
    BOOST_TEST(hash != hash_block(base, 6));
    if (length > 0) BOOST_TEST(hash != hash_block(base.substr(0, length - 1), 5));
    for (std::size_t at = 0; at < length; ++at) {
      std::string flipped(base);
      flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
      if (hash_block(flipped, 5) == hash) ++unchanged;
    }
  }
  BOOST_TEST(unchanged == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
