#pragma once
/// Parsers for single CSV fields. Each returns std::nullopt (never throws) on malformed input so
/// that the caller can count the line under the right reject reason.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpiseg::ingest {

/// Timestamp layouts. `automatic` decides per value from its shape.
enum class TimestampFormat {
  automatic,  // any of the below
  iso,        // YYYY-MM-DD HH:MM:SS (also 'T' separator, HH:MM, date only, fractional seconds ignored)
  dmy,        // DD-MM-YYYY [HH:MM[:SS]] ('-', '/' or '.' between the date parts)
  mdy,        // M/D/YYYY [H:MM[:SS]] (the UCI Excel export)
  epoch,      // integer seconds since 1970-01-01 (a fractional part is truncated)
};

/// Parses "auto", "iso", "dmy", "mdy" or "epoch"; nullopt otherwise.
std::optional<TimestampFormat> parse_timestamp_format(std::string_view name);

/// Seconds since 1970-01-01 00:00:00 of a naive timestamp (no time zone), or nullopt.
std::optional<std::int64_t> parse_timestamp(std::string_view text, TimestampFormat format);

/// A decimal integer with optional sign, nothing else (no spaces, no fraction).
std::optional<std::int64_t> parse_integer(std::string_view text);

/// A finite decimal number ("2.55", "-11062.06", "1e3"); no spaces, no "nan"/"inf".
std::optional<double> parse_decimal(std::string_view text);

/// The numeric form of an identifier: "17850", "17850.0" or "17850.000" give 17850. Leading zeros
/// (other than "0" itself), signs, other fractions and values >= 2^63 give nullopt: such ids are
/// kept as strings and hashed instead.
std::optional<std::uint64_t> parse_numeric_key(std::string_view text);

/// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// Appends ISO-8859-1 `text` converted to UTF-8.
void append_latin1_as_utf8(std::string_view text, std::string& out);

}  // namespace mpiseg::ingest
