#pragma once
// Helpers for tests that run the ingest stage on small files.
#include <fmt/format.h>

#include <fstream>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/ingest.hpp"

namespace mpiseg::testing {

inline std::vector<KeySpec> ingest_schema() {
  std::vector<KeySpec> keys;
  for (auto section : {ingest::input_keys(), ingest::ingest_keys()}) keys.insert(keys.end(), section.begin(), section.end());
  return keys;
}

inline JobConfig ingest_job(const std::vector<std::string>& sets) {
  static const std::vector<KeySpec> schema = ingest_schema();
  return JobConfig::parse("", "test", sets, schema);
}

/// Rank 0 writes `content` to `path`; every rank waits for it.
inline void write_file(comm::Communicator& comm, const std::filesystem::path& path, const std::string& content) {
  if (comm.rank() == 0) std::ofstream(path, std::ios::binary) << content;
  comm.barrier();
}

/// The whole table on every rank (rank order), for comparisons.
inline ingest::LineItems gather_rows(const ingest::LineItems& rows, comm::Communicator& comm) {
  ingest::LineItems all;
  all.baskets_only = rows.baskets_only;
  all.customer = comm.allgatherv(std::span<const std::uint64_t>(rows.customer));
  all.basket = comm.allgatherv(std::span<const std::uint64_t>(rows.basket));
  all.time = comm.allgatherv(std::span<const std::uint32_t>(rows.time));
  all.item = comm.allgatherv(std::span<const std::uint32_t>(rows.item));
  all.quantity = comm.allgatherv(std::span<const std::int32_t>(rows.quantity));
  all.price = comm.allgatherv(std::span<const double>(rows.price));
  all.country = comm.allgatherv(std::span<const std::uint16_t>(rows.country));
  all.flags = comm.allgatherv(std::span<const std::uint8_t>(rows.flags));
  return all;
}

inline bool same_rows(const ingest::LineItems& a, const ingest::LineItems& b) {
  return a.baskets_only == b.baskets_only && a.customer == b.customer && a.basket == b.basket && a.time == b.time && a.item == b.item &&
         a.quantity == b.quantity && a.price == b.price && a.country == b.country && a.flags == b.flags;
}

inline std::uint64_t rejected(const ingest::Accounting& accounting, ingest::RejectReason reason) {
  return accounting.rejected[static_cast<std::size_t>(reason)];
}

}  // namespace mpiseg::testing
