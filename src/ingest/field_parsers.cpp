#include "mpiseg/ingest/field_parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "mpiseg/core/civil_time.hpp"

namespace mpiseg::ingest {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads 1..max_digits digits at `position`; advances it.
bool read_number(std::string_view text, std::size_t& position, int min_digits, int max_digits, int& value) {
  int digits = 0;
  value = 0;
  while (position < text.size() && digits < max_digits && is_digit(text[position])) {
    value = value * 10 + (text[position] - '0');
    ++position;
    ++digits;
  }
  return digits >= min_digits;
}

bool expect(std::string_view text, std::size_t& position, char c) {
  if (position < text.size() && text[position] == c) {
    ++position;
    return true;
  }
  return false;
}

// Optional time of day after a date: [sep]HH:MM[:SS[.fff]].
std::optional<std::int64_t> read_time_of_day(std::string_view text, std::size_t position, int min_hour_digits) {
  if (position == text.size()) return 0;
  if (text[position] != ' ' && text[position] != 'T') return std::nullopt;
  ++position;
  int hour = 0, minute = 0, second = 0;
  if (!read_number(text, position, min_hour_digits, 2, hour) || !expect(text, position, ':') ||
      !read_number(text, position, 2, 2, minute))
    return std::nullopt;
  if (expect(text, position, ':')) {
    if (!read_number(text, position, 2, 2, second)) return std::nullopt;
    if (expect(text, position, '.')) {
      int ignored = 0;
      if (!read_number(text, position, 1, 9, ignored)) return std::nullopt;
    }
  }
  if (position != text.size() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return hour * 3600 + minute * 60 + second;
}

std::optional<std::int64_t> combine(int year, int month, int day, std::optional<std::int64_t> time_of_day) {
  if (!time_of_day || !is_valid_date(year, month, day)) return std::nullopt;
  return days_from_civil(year, month, day) * kSecondsPerDay + *time_of_day;
}

std::optional<std::int64_t> parse_iso(std::string_view text) {
  std::size_t position = 0;
  int year = 0, month = 0, day = 0;
  if (!read_number(text, position, 4, 4, year) || !expect(text, position, '-') || !read_number(text, position, 2, 2, month) ||
      !expect(text, position, '-') || !read_number(text, position, 2, 2, day))
    return std::nullopt;
  return combine(year, month, day, read_time_of_day(text, position, 2));
}

std::optional<std::int64_t> parse_dmy(std::string_view text) {
  std::size_t position = 0;
  int year = 0, month = 0, day = 0;
  if (!read_number(text, position, 1, 2, day) || position >= text.size()) return std::nullopt;
  const char separator = text[position];
  if (separator != '-' && separator != '/' && separator != '.') return std::nullopt;
  ++position;
  if (!read_number(text, position, 1, 2, month) || !expect(text, position, separator) ||
      !read_number(text, position, 4, 4, year))
    return std::nullopt;
  return combine(year, month, day, read_time_of_day(text, position, 1));
}

std::optional<std::int64_t> parse_mdy(std::string_view text) {
  std::size_t position = 0;
  int year = 0, month = 0, day = 0;
  if (!read_number(text, position, 1, 2, month) || !expect(text, position, '/') || !read_number(text, position, 1, 2, day) ||
      !expect(text, position, '/') || !read_number(text, position, 4, 4, year))
    return std::nullopt;
  return combine(year, month, day, read_time_of_day(text, position, 1));
}

std::optional<std::int64_t> parse_epoch(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty()) return std::nullopt;
    for (char c : fraction)
      if (!is_digit(c)) return std::nullopt;
  }
  return parse_integer(whole);
}

}  // namespace

std::optional<TimestampFormat> parse_timestamp_format(std::string_view name) {
  if (name == "auto") return TimestampFormat::automatic;
  if (name == "iso") return TimestampFormat::iso;
  if (name == "dmy") return TimestampFormat::dmy;
  if (name == "mdy") return TimestampFormat::mdy;
  if (name == "epoch") return TimestampFormat::epoch;
  return std::nullopt;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text, TimestampFormat format) {
  switch (format) {
    case TimestampFormat::iso: return parse_iso(text);
    case TimestampFormat::dmy: return parse_dmy(text);
    case TimestampFormat::mdy: return parse_mdy(text);
    case TimestampFormat::epoch: return parse_epoch(text);
    case TimestampFormat::automatic:
      if (text.size() >= 5 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) && is_digit(text[3]) &&
          text[4] == '-')
        return parse_iso(text);
      // Slashes mean the US layout of the UCI export (M/D/YYYY); set "dmy" for D/M/Y files.
      if (text.find('/') != std::string_view::npos) return parse_mdy(text);
      if (text.find('-') != std::string_view::npos || std::count(text.begin(), text.end(), '.') >= 2)
        return parse_dmy(text);
      return parse_epoch(text);
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t start = text[0] == '+' ? 1 : 0;
  if (start == text.size()) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data() + start, end, value);
  if (result.ec != std::errc() || result.ptr != end) return std::nullopt;
  if (start == 1 && text[1] == '-') return std::nullopt;
  return value;
}

namespace {
/// Prices as exports write them ("-12.5", "3.55"; at most 15 digits in all): the digits as an
/// integer m < 10^15 and the count k of decimals, m / 10^k. Both operands are exact doubles and
/// the division rounds once, so this is the correctly rounded value from_chars gives (Clinger's
/// fast path). Anything else (exponents, more digits): nothing, and from_chars decides.
std::optional<double> simple_decimal(std::string_view text) {
  static constexpr double kPowersOfTen[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  std::uint64_t digits = 0;
  int count = 0, decimals = 0;
  const std::size_t whole_start = i;
  for (; i < text.size() && is_digit(text[i]); ++i, ++count) digits = digits * 10 + static_cast<std::uint64_t>(text[i] - '0');
  if (i == whole_start) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    const std::size_t fraction_start = ++i;
    for (; i < text.size() && is_digit(text[i]); ++i, ++count, ++decimals) digits = digits * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (i == fraction_start) return std::nullopt;
  }
  if (i != text.size() || count > 15) return std::nullopt;
  const double value = static_cast<double>(digits) / kPowersOfTen[decimals];
  return negative ? -value : value;
}
}  // namespace

std::optional<double> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // One optional sign: "+1.5" and "-1.5", never "+-1.5".
  const std::size_t start = text[0] == '+' ? 1 : 0;
  if (start == text.size() || !(is_digit(text[start]) || (start == 0 && text[start] == '-') || text[start] == '.')) return std::nullopt;
  if (const auto simple = simple_decimal(text.substr(start))) return *simple == 0 ? 0.0 : *simple;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data() + start, end, value);
  if (result.ec != std::errc() || result.ptr != end || !std::isfinite(value)) return std::nullopt;
  // -0 is 0: equal prices must have equal bits (duplicate detection compares bit patterns).
  return value == 0 ? 0.0 : value;
}

std::optional<std::uint64_t> parse_numeric_key(std::string_view text) {
  if (text.empty() || !is_digit(text[0])) return std::nullopt;
  std::size_t position = 0;
  std::uint64_t value = 0;
  while (position < text.size() && is_digit(text[position])) {
    const auto digit = static_cast<std::uint64_t>(text[position] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++position;
  }
  if (text[0] == '0' && position > 1) return std::nullopt;  // "007" stays a string id
  if (position < text.size()) {
    if (text[position] != '.' || position + 1 == text.size()) return std::nullopt;
    for (std::size_t i = position + 1; i < text.size(); ++i)
      if (text[i] != '0') return std::nullopt;
  }
  if (value >= (std::uint64_t{1} << 63)) return std::nullopt;
  return value;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    // Fast path: eight ASCII bytes at a time.
    if (i + 8 <= size) {
      std::uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > size) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

void append_latin1_as_utf8(std::string_view text, std::string& out) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out += c;
    } else {
      out += static_cast<char>(0xC0 | (byte >> 6));
      out += static_cast<char>(0x80 | (byte & 0x3F));
    }
  }
}

}  // namespace mpiseg::ingest
