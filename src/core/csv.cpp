#include "mpiseg/core/csv.hpp"

#include <charconv>

namespace mpiseg {

bool looks_like_formula(std::string_view text) noexcept {
  if (text.empty()) return false;
  const char first = text.front();
  if (first != '=' && first != '+' && first != '-' && first != '@' && first != '\t' && first != '\r') return false;
  // A number such as -3.5 or +1e3 is data, not a formula.
  double value = 0;
  const char* begin = text.data() + (first == '+' ? 1 : 0);
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(begin, end, value);
  return !(first != '=' && first != '@' && begin != end && result.ec == std::errc() && result.ptr == end);
}

std::string csv_cell(std::string_view text, bool raw) {
  std::string cell;
  if (!raw && looks_like_formula(text)) cell += '\'';
  cell += text;
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

}  // namespace mpiseg
