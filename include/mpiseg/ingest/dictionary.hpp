#pragma once
/// Dictionary coding of strings (item codes, countries) across ranks. Each rank interns what it
/// parses into local ids; merge_dictionaries() then produces the same global dictionary on every
/// rank, sorted by the strings themselves, so global ids never depend on the rank count.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/hash.hpp"

namespace mpiseg::ingest {

class LocalDictionary {
 public:
  static constexpr std::uint64_t kNoPosition = std::numeric_limits<std::uint64_t>::max();

  struct Entry {
    std::string text;
    std::string description;  // attribute of the first occurrence (by input position) that has one
    std::uint64_t description_position = kNoPosition;
    std::string category;
    std::uint64_t category_position = kNoPosition;
    std::uint32_t first_seen = std::numeric_limits<std::uint32_t>::max();  // earliest timestamp
  };

  std::uint32_t intern(std::string_view text);
  /// Keeps `text` as the description of `id` if it comes earlier in the input than the current one.
  void note_description(std::uint32_t id, std::string_view text, std::uint64_t position);
  void note_category(std::uint32_t id, std::string_view text, std::uint64_t position);
  void note_time(std::uint32_t id, std::uint32_t time) {
    if (time < firsts_[id].first_seen) firsts_[id].first_seen = entries_[id].first_seen = time;
  }
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  // Open addressing (linear probing, power-of-two size, at most half full): one probe touches a
  // flat slot with the hash, the id, the length and the first eight bytes, so a text of at most
  // eight bytes (most item codes) is compared in the slot without touching its entry. Interning
  // runs once per field per line item, so it is on the parse's critical path.
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t id = kEmptySlot;
    std::uint32_t size = 0;
    std::uint64_t head = 0;  // the first eight bytes, zero-padded
  };
  static constexpr std::uint32_t kEmptySlot = std::numeric_limits<std::uint32_t>::max();
  // What note_* compare against on every line, beside the entries (120 bytes each) so that the
  // common line, which changes nothing, touches no entry; every change goes to both.
  struct Firsts {
    std::uint64_t description_position = kNoPosition;
    std::uint64_t category_position = kNoPosition;
    std::uint32_t first_seen = std::numeric_limits<std::uint32_t>::max();
  };
  void grow();
  std::vector<Entry> entries_;
  std::vector<Firsts> firsts_;
  std::vector<Slot> slots_ = std::vector<Slot>(64);
};

/// How global ids are ordered: by bytes, or (integer item files) numerically.
enum class DictionaryOrder { bytes, numeric };

/// Collective. Every rank's entries are routed to an owner rank by a hash of the text, merged
/// there (earliest description and category, earliest time), and gathered on every rank.
/// Returns the global entries in order; `local_to_global[i]` is the global id of local id i.
std::vector<LocalDictionary::Entry> merge_dictionaries(const LocalDictionary& local, DictionaryOrder order,
                                                       comm::Communicator& comm, std::vector<std::uint32_t>& local_to_global);

/// Collective. `entries` are (key, check hash) of hashed string ids seen on this rank; throws
/// InputError on every rank if some key comes with two different check hashes, i.e. two
/// distinct ids collided on one 63-bit key.
void check_key_collisions(std::vector<std::pair<std::uint64_t, std::uint64_t>> entries, std::string_view what,
                          comm::Communicator& comm);

}  // namespace mpiseg::ingest
