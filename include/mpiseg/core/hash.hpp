#pragma once
/// 64-bit hashing of byte strings (not cryptographic). String identifiers become 63-bit keys by
/// one seeded hash; a second, independently seeded hash of the same string detects collisions.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "mpiseg/core/random.hpp"

namespace mpiseg {

inline std::uint64_t hash_bytes(std::string_view text, std::uint64_t seed) noexcept {
  std::uint64_t state = mix64(seed ^ (text.size() * 0x9e3779b97f4a7c15ULL));
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    state = mix64(state ^ word) + 0x632be59bd9b4e019ULL;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, text.data() + i, text.size() - i);
  return mix64(state ^ tail ^ (static_cast<std::uint64_t>(text.size() - i) << 59));
}

/// A hash of long byte blocks (the input fingerprint of a run): four independent lanes of eight
/// bytes, so that their multiplies overlap, then the rest as hash_bytes does. Several times
/// faster than hash_bytes on megabytes; a different function, not a replacement: stored keys are
/// hash_bytes values and must stay so.
inline std::uint64_t hash_block(std::string_view bytes, std::uint64_t seed) noexcept {
  std::uint64_t lane[4];
  for (std::uint64_t i = 0; i < 4; ++i) lane[i] = mix64(seed + (i + 1) * 0x9e3779b97f4a7c15ULL);
  std::size_t at = 0;
  for (; at + 32 <= bytes.size(); at += 32)
    for (std::size_t i = 0; i < 4; ++i) {
      std::uint64_t word;
      std::memcpy(&word, bytes.data() + at + 8 * i, 8);
      lane[i] = mix64(lane[i] ^ word) + 0x632be59bd9b4e019ULL;
    }
  const std::uint64_t lanes = mix64(lane[0] ^ mix64(lane[1] ^ mix64(lane[2] ^ mix64(lane[3] ^ bytes.size()))));
  return hash_bytes(bytes.substr(at), lanes);
}

inline constexpr std::uint64_t kKeyHashSeed = 0x5eed0f6b657973ULL;
inline constexpr std::uint64_t kCheckHashSeed = 0xc0111510afULL;

}  // namespace mpiseg
