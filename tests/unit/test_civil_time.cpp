#include <boost/test/unit_test.hpp>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_SUITE(civil_time)

BOOST_AUTO_TEST_CASE(known_dates) {
  BOOST_TEST(days_from_civil(1970, 1, 1) == 0);
  BOOST_TEST(days_from_civil(2000, 3, 1) == 11017);
  BOOST_TEST(days_from_civil(2011, 12, 10) == 15318);
  BOOST_TEST(format_timestamp(1291191960) == "2010-12-01 08:26:00");
  BOOST_TEST(format_date(days_from_civil(2011, 12, 10) * kSecondsPerDay) == "2011-12-10");
}

BOOST_AUTO_TEST_CASE(round_trip_over_four_centuries) {
  for (std::int64_t day = days_from_civil(1800, 1, 1); day < days_from_civil(2200, 1, 1); day += 13) {
    const CivilDate date = civil_from_days(day);
    BOOST_REQUIRE(is_valid_date(date.year, date.month, date.day));
    BOOST_REQUIRE(days_from_civil(date.year, date.month, date.day) == day);
  }
}

BOOST_AUTO_TEST_CASE(iso_date_parsing_is_strict) {
  BOOST_TEST(parse_iso_date_to_seconds("2010-12-01", "x") == 1291161600);
  for (const char* bad : {"2010-13-01", "2010-02-30", "2010-1-01", "20101201", "2010-12-01 "})
    BOOST_CHECK_THROW(parse_iso_date_to_seconds(bad, "x"), ConfigError);
  BOOST_TEST(is_valid_date(2012, 2, 29));
  BOOST_TEST(!is_valid_date(2011, 2, 29));
  BOOST_TEST(!is_valid_date(1900, 2, 29));
}

BOOST_AUTO_TEST_SUITE_END()
