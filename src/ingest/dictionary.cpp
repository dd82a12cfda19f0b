#include "mpiseg/ingest/dictionary.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"

namespace mpiseg::ingest {
namespace {

void put_entry(comm::ByteWriter& out, const LocalDictionary::Entry& entry) {
  out.put_string(entry.text).put_string(entry.description).put(entry.description_position);
  out.put_string(entry.category).put(entry.category_position).put(entry.first_seen);
}

LocalDictionary::Entry get_entry(comm::ByteReader& in) {
  LocalDictionary::Entry entry;
  entry.text = in.get_string();
  entry.description = in.get_string();
  entry.description_position = in.get<std::uint64_t>();
  entry.category = in.get_string();
  entry.category_position = in.get<std::uint64_t>();
  entry.first_seen = in.get<std::uint32_t>();
  return entry;
}

void absorb(LocalDictionary::Entry& into, LocalDictionary::Entry&& from) {
  if (from.description_position < into.description_position) {
    into.description = std::move(from.description);
    into.description_position = from.description_position;
  }
  if (from.category_position < into.category_position) {
    into.category = std::move(from.category);
    into.category_position = from.category_position;
  }
  into.first_seen = std::min(into.first_seen, from.first_seen);
}

bool text_less(DictionaryOrder order, const std::string& a, const std::string& b) {
  if (order == DictionaryOrder::numeric && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace

std::uint32_t LocalDictionary::intern(std::string_view text) {
  std::uint64_t head = 0;
  if (text.size() >= 8) {
    std::memcpy(&head, text.data(), 8);
  } else {
    for (std::size_t i = 0; i < text.size(); ++i) head |= std::uint64_t{static_cast<unsigned char>(text[i])} << (8 * i);
  }
  // A text of at most eight bytes is its head and length: one multiply spreads them over the slot
  // bits (slots are local, so the hash never reaches a result). Longer texts take hash_bytes.
  std::uint64_t hash = 0;
  if (text.size() <= 8) {
    hash = (head ^ (static_cast<std::uint64_t>(text.size()) << 59)) * 0x9e3779b97f4a7c15ULL;
    hash ^= hash >> 32;
  } else {
    hash = hash_bytes(text, 17);
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = hash & mask;
  for (; slots_[at].id != kEmptySlot; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.hash == hash && slot.size == text.size() && slot.head == head &&
        (text.size() <= 8 || entries_[slot.id].text == text))
      return slot.id;
  }
  const auto id = static_cast<std::uint32_t>(entries_.size());
  entries_.push_back(Entry{std::string(text), {}, kNoPosition, {}, kNoPosition, std::numeric_limits<std::uint32_t>::max()});
  firsts_.emplace_back();
  slots_[at] = Slot{hash, id, static_cast<std::uint32_t>(text.size()), head};
  if (2 * entries_.size() > slots_.size()) grow();
  return id;
}

void LocalDictionary::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.id == kEmptySlot) continue;
    std::size_t at = slot.hash & mask;
    while (slots_[at].id != kEmptySlot) at = (at + 1) & mask;
    slots_[at] = slot;
  }
}

void LocalDictionary::note_description(std::uint32_t id, std::string_view text, std::uint64_t position) {
  if (!text.empty() && position < firsts_[id].description_position) {
    Entry& entry = entries_[id];
    entry.description.assign(text);
    entry.description_position = firsts_[id].description_position = position;
  }
}

void LocalDictionary::note_category(std::uint32_t id, std::string_view text, std::uint64_t position) {
  if (!text.empty() && position < firsts_[id].category_position) {
    Entry& entry = entries_[id];
    entry.category.assign(text);
    entry.category_position = firsts_[id].category_position = position;
  }
}

std::vector<LocalDictionary::Entry> merge_dictionaries(const LocalDictionary& local, DictionaryOrder order,
                                                       comm::Communicator& comm, std::vector<std::uint32_t>& local_to_global) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  // 1. Route each entry to the rank that owns its text, so that each string is merged once.
  std::vector<comm::ByteWriter> outgoing(ranks);
  for (const auto& entry : local.entries()) put_entry(outgoing[hash_bytes(entry.text, 29) % ranks], entry);
  const std::vector<char> received = comm::exchange_bytes(outgoing, comm);
  std::vector<LocalDictionary::Entry> owned;
  {
    std::unordered_map<std::string, std::size_t> position;
    comm::ByteReader in(received);
    while (!in.done()) {
      LocalDictionary::Entry entry = get_entry(in);
      auto [it, inserted] = position.emplace(entry.text, owned.size());
      if (inserted)
        owned.push_back(std::move(entry));
      else
        absorb(owned[it->second], std::move(entry));
    }
  }
  // 2. Every rank gets every merged entry once and sorts them: the global ids.
  comm::ByteWriter mine;
  for (const auto& entry : owned) put_entry(mine, entry);
  const std::vector<char> everything = comm.allgatherv(std::span<const char>(mine.bytes()));
  std::vector<LocalDictionary::Entry> global;
  for (comm::ByteReader in(everything); !in.done();) global.push_back(get_entry(in));
  std::sort(global.begin(), global.end(), [order](const auto& a, const auto& b) { return text_less(order, a.text, b.text); });

  local_to_global.resize(local.size());
  for (std::size_t id = 0; id < local.size(); ++id) {
    const std::string& text = local.entries()[id].text;
    const auto found = std::lower_bound(global.begin(), global.end(), text,
                                        [order](const auto& entry, const std::string& value) { return text_less(order, entry.text, value); });
    local_to_global[id] = static_cast<std::uint32_t>(found - global.begin());
  }
  return global;
}

void check_key_collisions(std::vector<std::pair<std::uint64_t, std::uint64_t>> entries, std::string_view what,
                          comm::Communicator& comm) {
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  std::sort(entries.begin(), entries.end(), [ranks](const auto& a, const auto& b) {
    return std::pair(a.first % ranks, a) < std::pair(b.first % ranks, b);
  });
  std::vector<std::uint64_t> counts(ranks, 0), flat;
  for (const auto& [key, check] : entries) {
    ++counts[key % ranks];
    flat.push_back(key);
    flat.push_back(check);
  }
  for (auto& count : counts) count *= 2;
  std::vector<std::uint64_t> received_counts;
  const std::vector<std::uint64_t> received = comm.alltoallv(std::span<const std::uint64_t>(flat), counts, received_counts);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> owned;
  for (std::size_t i = 0; i + 1 < received.size(); i += 2) owned.emplace_back(received[i], received[i + 1]);
  std::sort(owned.begin(), owned.end());
  std::uint64_t collisions = 0, example = 0;
  for (std::size_t i = 1; i < owned.size(); ++i) {
    if (owned[i].first == owned[i - 1].first && owned[i].second != owned[i - 1].second) {
      if (collisions++ == 0) example = owned[i].first;
    }
  }
  const std::uint64_t total = comm.allreduce(collisions, comm::ReduceOp::sum);
  if (total != 0) {
    const std::uint64_t shown = comm.allreduce(example, comm::ReduceOp::max);
    throw InputError(fmt::format("{} distinct {} ids hash to the same 63-bit key (e.g. key {}); this is astronomically "
                                 "unlikely for honest data: check the input for adversarial ids",
                                 total, what, shown));
  }
}

}  // namespace mpiseg::ingest
