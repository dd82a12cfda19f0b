#pragma once
/// Baskets as sets of items, in compressed sparse form, built from the ingest result: from line
/// items, a basket is the purchase lines (quantity > 0, not a cancellation) sharing customer and
/// invoice, each item once; from a basket file, a line.
#include <cstdint>
#include <vector>

#include "mpiseg/ingest/ingest.hpp"

namespace mpiseg::fpgrowth {

struct Baskets {
  std::vector<std::uint64_t> offsets{0};  // basket b's items: items[offsets[b] .. offsets[b + 1])
  std::vector<std::uint32_t> items;       // item ids, ascending within a basket
  std::vector<std::uint64_t> customer;    // per basket (kMissingCustomer for basket files)
  std::uint64_t duplicate_items = 0;      // repeated items within a basket, counted once

  std::size_t size() const noexcept { return offsets.size() - 1; }
};

/// Local: this rank's baskets (all lines of a basket are on one rank after ingest).
Baskets build_baskets(const ingest::IngestResult& ingested);
/// The same, taking the rows over: a basket file's item column becomes the baskets' items in
/// place, so the item occurrences are never held twice; `rows` is left empty.
Baskets build_baskets(ingest::LineItems&& rows);

}  // namespace mpiseg::fpgrowth
