// The field parsers on arbitrary text: timestamps in every layout, integers, decimals, numeric
// keys, UTF-8 validation and Latin-1 conversion. Invariants: an accepted decimal is finite and
// never -0; an accepted timestamp in a layout is the same when re-parsed; converted Latin-1 is
// valid UTF-8.
#include <cmath>
#include <cstdlib>
#include <string>

#include "mpiseg/ingest/field_parsers.hpp"

using namespace mpiseg::ingest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto format : {TimestampFormat::automatic, TimestampFormat::iso, TimestampFormat::dmy, TimestampFormat::mdy, TimestampFormat::epoch}) {
    const auto first = parse_timestamp(text, format);
    if (first != parse_timestamp(text, format)) std::abort();
  }
  if (const auto value = parse_decimal(text); value && (!std::isfinite(*value) || std::signbit(*value) && *value == 0)) std::abort();
  (void)parse_integer(text);
  if (const auto key = parse_numeric_key(text); key && *key >= (std::uint64_t{1} << 63)) std::abort();
  std::string converted;
  append_latin1_as_utf8(text, converted);
  if (!is_valid_utf8(converted)) std::abort();
  return 0;
}
