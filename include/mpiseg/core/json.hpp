#pragma once
/// The little JSON the tools print (`inspect --json`, `compare --json`): escaped strings and
/// numbers with non-finite values as null, since JSON has no NaN or infinity.
#include <cmath>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace mpiseg {

inline std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

/// Shortest round-trip representation; null for NaN and infinities.
inline std::string json_number(double value) { return std::isfinite(value) ? fmt::format("{}", value) : std::string("null"); }

}  // namespace mpiseg
