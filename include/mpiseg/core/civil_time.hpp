#pragma once
/// Calendar arithmetic on naive timestamps (seconds since 1970-01-01 00:00:00, no time zone:
/// retail exports carry local wall-clock time, and mpiseg keeps it as it is written).
#include <cstdint>
#include <string>
#include <string_view>

namespace mpiseg {

inline constexpr std::int64_t kSecondsPerDay = 86400;

struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t days_from_civil(int year, int month, int day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153u * static_cast<unsigned>(month + (month > 2 ? -3 : 9)) + 2u) / 5u +
                               static_cast<unsigned>(day) - 1u;
  const unsigned day_of_era = year_of_era * 365u + year_of_era / 4u - year_of_era / 100u + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

/// Inverse of days_from_civil.
CivilDate civil_from_days(std::int64_t days) noexcept;

constexpr bool is_valid_date(int year, int month, int day) noexcept {
  if (month < 1 || month > 12 || day < 1) return false;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

/// Parses "YYYY-MM-DD" strictly; throws ConfigError naming `what` on failure.
std::int64_t parse_iso_date_to_seconds(std::string_view text, std::string_view what);

/// "YYYY-MM-DD HH:MM:SS".
std::string format_timestamp(std::int64_t seconds);
/// Writes "YYYY-MM-DD HH:MM:SS" (19 bytes) to out; the fast path for the generator.
void format_timestamp_to(std::int64_t seconds, char* out) noexcept;
/// "YYYY-MM-DD".
std::string format_date(std::int64_t seconds);

}  // namespace mpiseg
