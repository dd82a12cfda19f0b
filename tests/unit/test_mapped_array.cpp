#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <utility>

#include "mpiseg/core/resources.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_SUITE(mapped_array)

struct Record {
  std::uint64_t key;
  std::uint32_t value;
};

BOOST_AUTO_TEST_CASE(values_survive_every_regrowth) {
  MappedArray<Record> records;
  BOOST_TEST(records.empty());
  // Past several doublings of the first 64 KiB, so that the kernel may move the mapping.
  constexpr std::uint64_t kCount = 3'000'000;
  std::size_t regrowths = 0;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    const std::size_t capacity = records.capacity();
    records.push_back({i * 2654435761u, static_cast<std::uint32_t>(i ^ 0x5a5a)});
    if (records.capacity() != capacity) ++regrowths;
  }
  BOOST_TEST(regrowths >= 8u);
  BOOST_TEST(records.size() == kCount);
  BOOST_TEST(records.capacity() >= kCount);
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < kCount; ++i)
    wrong += records[i].key != i * 2654435761u || records[i].value != static_cast<std::uint32_t>(i ^ 0x5a5a);
  BOOST_TEST(wrong == 0u);
  BOOST_TEST((records.end() - records.begin()) == static_cast<std::ptrdiff_t>(kCount));
}

BOOST_AUTO_TEST_CASE(reserve_moves_and_release_keep_one_owner) {
  MappedArray<std::uint64_t> a;
  a.reserve(100'000);
  const std::size_t capacity = a.capacity();
  BOOST_TEST(capacity >= 100'000u);
  for (std::uint64_t i = 0; i < 100'000; ++i) a.push_back(i);
  BOOST_TEST(a.capacity() == capacity);  // no regrowth within the reserved room

  MappedArray<std::uint64_t> b(std::move(a));
  BOOST_TEST(a.empty());
  BOOST_TEST(a.capacity() == 0u);
  BOOST_TEST(b.size() == 100'000u);
  BOOST_TEST(b[99'999] == 99'999u);

  MappedArray<std::uint64_t> c;
  c.push_back(7);
  c = std::move(b);  // c's own mapping is returned first
  BOOST_TEST(c.size() == 100'000u);
  BOOST_TEST(c[12'345] == 12'345u);

  c.release();
  BOOST_TEST(c.empty());
  BOOST_TEST(c.capacity() == 0u);
  c.push_back(42);  // usable again after release
  BOOST_TEST(c.size() == 1u);
  BOOST_TEST(c[0] == 42u);
}

BOOST_AUTO_TEST_SUITE_END()
