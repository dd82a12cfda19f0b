#include "mpiseg/core/civil_time.hpp"

#include <fmt/format.h>

#include "mpiseg/core/error.hpp"

namespace mpiseg {

CivilDate civil_from_days(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  CivilDate date;
  date.day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  date.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  date.year = static_cast<int>(static_cast<std::int64_t>(year_of_era) + era * 400 + (date.month <= 2 ? 1 : 0));
  return date;
}

std::int64_t parse_iso_date_to_seconds(std::string_view text, std::string_view what) {
  auto digits = [&](std::size_t from, std::size_t count, int& value) {
    value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, year) || !digits(5, 2, month) ||
      !digits(8, 2, day) || !is_valid_date(year, month, day)) {
    throw ConfigError(fmt::format("{}: '{}' is not a date of the form YYYY-MM-DD", what, text));
  }
  return days_from_civil(year, month, day) * kSecondsPerDay;
}

void format_timestamp_to(std::int64_t seconds, char* out) noexcept {
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    days -= 1;
  }
  const CivilDate date = civil_from_days(days);
  auto put2 = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  const int year = date.year;
  out[0] = static_cast<char>('0' + (year / 1000) % 10);
  out[1] = static_cast<char>('0' + (year / 100) % 10);
  out[2] = static_cast<char>('0' + (year / 10) % 10);
  out[3] = static_cast<char>('0' + year % 10);
  out[4] = '-';
  put2(out + 5, date.month);
  out[7] = '-';
  put2(out + 8, date.day);
  out[10] = ' ';
  put2(out + 11, static_cast<int>(rest / 3600));
  out[13] = ':';
  put2(out + 14, static_cast<int>(rest / 60 % 60));
  out[16] = ':';
  put2(out + 17, static_cast<int>(rest % 60));
}

std::string format_timestamp(std::int64_t seconds) {
  std::string text(19, ' ');
  format_timestamp_to(seconds, text.data());
  return text;
}

std::string format_date(std::int64_t seconds) { return format_timestamp(seconds).substr(0, 10); }

}  // namespace mpiseg
