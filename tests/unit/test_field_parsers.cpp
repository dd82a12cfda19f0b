#include <boost/test/unit_test.hpp>
#include <charconv>
#include <memory>
#include <random>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/ingest/field_parsers.hpp"
#include "mpiseg/ingest/record_reader.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;

namespace {
std::int64_t at(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return days_from_civil(y, m, d) * kSecondsPerDay + hh * 3600 + mm * 60 + ss;
}

// A scan's paths, named, to hold to one another: SSE2, the one chosen at run time, and AVX-512BW
// where this CPU has it (and MPISEG_KERNEL allows it).
template <class Scan>
std::vector<std::pair<const char*, Scan>> scan_paths(Scan sse2, Scan chosen, Scan avx512) {
  std::vector<std::pair<const char*, Scan>> paths{{"sse2", sse2}, {"chosen", chosen}};
  if (detail::avx512_scan_available())
    paths.emplace_back("avx512", avx512);
  else
    BOOST_TEST_MESSAGE("the AVX-512BW path is not exercised: the CPU lacks it or MPISEG_KERNEL=generic");
  return paths;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(field_parsers)

BOOST_AUTO_TEST_CASE(timestamps_in_every_layout) {
  BOOST_TEST(*parse_timestamp("2010-12-01 08:26:00", TimestampFormat::iso) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("2010-12-01T08:26:07", TimestampFormat::iso) == at(2010, 12, 1, 8, 26, 7));
  BOOST_TEST(*parse_timestamp("2010-12-01 08:26", TimestampFormat::iso) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("2010-12-01", TimestampFormat::iso) == at(2010, 12, 1));
  BOOST_TEST(*parse_timestamp("2010-12-01 08:26:00.250", TimestampFormat::iso) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("01-12-2010", TimestampFormat::dmy) == at(2010, 12, 1));
  BOOST_TEST(*parse_timestamp("1/12/2010 8:26", TimestampFormat::dmy) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("12/1/2010 8:26", TimestampFormat::mdy) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("12/1/2010 18:26:59", TimestampFormat::mdy) == at(2010, 12, 1, 18, 26, 59));
  BOOST_TEST(*parse_timestamp("1291191960", TimestampFormat::epoch) == 1291191960);
  BOOST_TEST(*parse_timestamp("1291191960.75", TimestampFormat::epoch) == 1291191960);
  // auto decides by shape
  BOOST_TEST(*parse_timestamp("2010-12-01 08:26:00", TimestampFormat::automatic) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("12/1/2010 8:26", TimestampFormat::automatic) == at(2010, 12, 1, 8, 26));
  BOOST_TEST(*parse_timestamp("01-12-2010", TimestampFormat::automatic) == at(2010, 12, 1));
  BOOST_TEST(*parse_timestamp("01.12.2010 10:00", TimestampFormat::automatic) == at(2010, 12, 1, 10));
  BOOST_TEST(*parse_timestamp("1291191960", TimestampFormat::automatic) == 1291191960);
}

BOOST_AUTO_TEST_CASE(bad_timestamps_are_rejected) {
  for (const char* bad : {"", "2010-13-01 00:00:00", "2010-02-30", "2010-12-01 24:00:00", "2010-12-01 08:60",
                          "2010-12-01x", "2010-12-01 08:26:00 ", "not a date", "12/32/2010 8:26", "1e9"})
    BOOST_TEST(!parse_timestamp(bad, TimestampFormat::automatic).has_value(), bad);
  BOOST_TEST(!parse_timestamp("12/1/2010 8:26", TimestampFormat::iso).has_value());
  BOOST_TEST(!parse_timestamp("2010-12-01", TimestampFormat::epoch).has_value());
}

BOOST_AUTO_TEST_CASE(numbers) {
  BOOST_TEST(*parse_integer("6") == 6);
  BOOST_TEST(*parse_integer("-80995") == -80995);
  BOOST_TEST(*parse_integer("+3") == 3);
  for (const char* bad : {"", "-", "+", "3.0", "1 ", " 1", "x3", "3x", "99999999999999999999", "+-3"})
    BOOST_TEST(!parse_integer(bad).has_value(), bad);
  BOOST_TEST(*parse_decimal("2.55") == 2.55);
  BOOST_TEST(*parse_decimal("-11062.06") == -11062.06);
  BOOST_TEST(*parse_decimal(".5") == 0.5);
  BOOST_TEST(*parse_decimal("1e3") == 1000.0);
  BOOST_TEST(*parse_decimal("0") == 0.0);
  for (const char* bad : {"", "nan", "inf", "-inf", "1.2.3", "1,5", "2.55 ", "£3", "1e999", "+-1.5", "-+1.5", "--1", "+"})
    BOOST_TEST(!parse_decimal(bad).has_value(), bad);
  // -0 is 0 with the bits of +0, so that equal prices compare equal bit for bit.
  for (const char* zero : {"-0", "-0.0", "+0", "0.000", "-0e5"}) BOOST_TEST(!std::signbit(*parse_decimal(zero)), zero);
}

// parse_decimal's fast path for short decimals must give from_chars' correctly rounded double,
// bit for bit: random decimals of every length up to and past the path's 15 digits.
BOOST_AUTO_TEST_CASE(short_decimals_round_exactly_as_from_chars) {
  std::uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int trial = 0; trial < 200000; ++trial) {
    std::string text = (next() >> 60) < 4 ? "-" : "";
    const int whole = 1 + static_cast<int>((next() >> 59) % 12), fraction = static_cast<int>((next() >> 59) % 9);
    for (int i = 0; i < whole; ++i) text += static_cast<char>('0' + (next() >> 59) % 10);
    if (fraction > 0 || (next() >> 63) != 0) text += '.';
    for (int i = 0; i < fraction; ++i) text += static_cast<char>('0' + (next() >> 59) % 10);
    if (text.back() == '.') text.pop_back();
    double expected = 0;
    std::from_chars(text.data(), text.data() + text.size(), expected);
    if (expected == 0) expected = 0.0;
    const auto parsed = parse_decimal(text);
    BOOST_TEST_REQUIRE(parsed.has_value(), text);
    BOOST_TEST_REQUIRE(std::memcmp(&*parsed, &expected, sizeof expected) == 0, text << " parsed as " << *parsed);
  }
}

BOOST_AUTO_TEST_CASE(numeric_keys) {
  BOOST_TEST(*parse_numeric_key("17850.0") == 17850u);
  BOOST_TEST(*parse_numeric_key("17850") == 17850u);
  BOOST_TEST(*parse_numeric_key("17850.000") == 17850u);
  BOOST_TEST(*parse_numeric_key("0") == 0u);
  for (const char* not_numeric : {"", "C536379", "17850.5", "007", "-5", "17850.", "1 ", "9223372036854775808", "A563185"})
    BOOST_TEST(!parse_numeric_key(not_numeric).has_value(), not_numeric);
}

BOOST_AUTO_TEST_CASE(text_encodings) {
  BOOST_TEST(is_valid_utf8("plain ascii, long enough to take the 8-byte path"));
  BOOST_TEST(is_valid_utf8("\xc2\xa3" "3 OFFER"));  // £
  BOOST_TEST(is_valid_utf8("\xf0\x9f\x9b\x92"));    // 4-byte sequence
  BOOST_TEST(!is_valid_utf8("BROKEN \xc3\x28 TEXT"));
  BOOST_TEST(!is_valid_utf8("\xa3"));                // Latin-1 pound sign
  BOOST_TEST(!is_valid_utf8("\xc0\xaf"));            // overlong
  BOOST_TEST(!is_valid_utf8("\xed\xa0\x80"));        // surrogate
  BOOST_TEST(!is_valid_utf8("\xe2\x82"));            // truncated
  std::string converted;
  append_latin1_as_utf8("\xa3" "5 caf\xe9", converted);
  BOOST_TEST(converted == "\xc2\xa3" "5 caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(splitting_fields_follows_rfc_4180) {
  std::vector<std::string_view> fields;
  std::string scratch;
  BOOST_TEST(split_fields("a,b,,d", ',', fields, scratch));
  BOOST_TEST(fields == (std::vector<std::string_view>{"a", "b", "", "d"}));
  BOOST_TEST(split_fields("536477,22041,\"RECORD FRAME 7\"\" SINGLE SIZE \",48", ',', fields, scratch));
  BOOST_TEST(fields == (std::vector<std::string_view>{"536477", "22041", "RECORD FRAME 7\" SINGLE SIZE ", "48"}));
  BOOST_TEST(split_fields("\"a,b\",\"\",c,", ',', fields, scratch));
  BOOST_TEST(fields == (std::vector<std::string_view>{"a,b", "", "c", ""}));
  BOOST_TEST(split_fields("x,\"q\"", ',', fields, scratch));
  BOOST_TEST(fields == (std::vector<std::string_view>{"x", "q"}));
  BOOST_TEST(split_fields("\"multi\nline\",2", ',', fields, scratch));
  BOOST_TEST(fields.front() == "multi\nline");
  BOOST_TEST(split_fields("a\tb", '\t', fields, scratch));
  BOOST_TEST(fields.size() == 2u);
  BOOST_TEST(!split_fields("12\" RULER,3", ',', fields, scratch));  // quote inside an unquoted field
  BOOST_TEST(!split_fields("\"closed\"x,3", ',', fields, scratch));  // text after the closing quote
  BOOST_TEST(!split_fields("\"never closed,3", ',', fields, scratch));
}

// Each path of the vectorised scan against a byte-at-a-time reading of the same record, at every
// length across the 16- and 64-byte blocks and the tail, every byte class at every position. Each
// record sits at the very end of its own allocation, so a read past it is a heap overflow the
// sanitized build reports.
BOOST_AUTO_TEST_CASE(the_vectorised_scan_splits_and_classifies_as_byte_by_byte) {
  using Scan = RecordScan (*)(std::string_view, char, std::vector<std::string_view>&);
  const auto paths = scan_paths<Scan>(detail::scan_record_sse2, scan_record, detail::scan_record_avx512);
  const char alphabet[] = {'a', ',', ';', '"', '\0', '\x80', '\xc3', '\xff', '\n', '7'};
  std::mt19937 random(11);
  std::vector<std::string_view> fields, expected;
  for (const auto& [name, scan_record] : paths) {
    BOOST_TEST_CONTEXT("path " << name)
    for (const char delimiter : {',', ';', '\0'}) {
      for (std::size_t length = 0; length <= 140; ++length) {
        for (int trial = 0; trial < 30; ++trial) {
          const auto storage = std::make_unique<char[]>(length + 1);
          char* record = storage.get() + 1;  // not aligned to 16
          for (std::size_t i = 0; i < length; ++i)
            record[i] = trial < 2 ? "a,b"[i % 3] : alphabet[random() % sizeof(alphabet)];
          const std::string_view text(record, length);
          const RecordScan scan = scan_record(text, delimiter, fields);
          BOOST_TEST(scan.has_quote == (text.find('"') != std::string_view::npos));
          BOOST_TEST(scan.has_nul == (text.find('\0') != std::string_view::npos));
          BOOST_TEST(scan.is_ascii == std::all_of(text.begin(), text.end(),
                                                  [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
          split_unquoted(text, delimiter, expected);
          BOOST_TEST(fields == expected);
        }
      }
    }
  }
}

// scan_line against finding the '\n' byte by byte and scan_record over the bytes before it less
// a trailing '\r', with lines of every length across the blocks, CRs anywhere and the area
// searched ending before, at or after the '\n'. The area ends its own allocation, so a read past
// it is a heap overflow the sanitized build reports.
BOOST_AUTO_TEST_CASE(the_fused_line_scan_finds_the_end_and_the_fields_of_a_line) {
  using Scan = std::size_t (*)(const char*, std::size_t, char, std::vector<std::string_view>&, RecordScan&);
  const auto paths = scan_paths<Scan>(detail::scan_line_sse2, scan_line, detail::scan_line_avx512);
  const char alphabet[] = {'a', ',', ';', '"', '\0', '\x80', '\r', '\r', '\n', '7'};
  std::mt19937 random(12);
  std::vector<std::string_view> fields, expected;
  for (const auto& [name, scan_line] : paths) {
    BOOST_TEST_CONTEXT("path " << name)
    for (const char delimiter : {',', '\0'}) {
      for (std::size_t size = 0; size <= 150; ++size) {
        for (int trial = 0; trial < 30; ++trial) {
          const auto storage = std::make_unique<char[]>(size + 1);
          char* area = storage.get() + 1;
          // Mostly one line with its '\n' somewhere (or nowhere), sometimes bytes of any class.
          const std::size_t newline = random() % (size + 2);
          for (std::size_t i = 0; i < size; ++i)
            area[i] = trial % 3 == 0 ? alphabet[random() % sizeof(alphabet)] : i == newline ? '\n' : i + 1 == newline && trial % 2 ? '\r' : alphabet[random() % 8];
          const std::string_view text(area, size);
          const std::size_t end = text.find('\n');
          RecordScan scan;
          const std::size_t found = scan_line(area, size, delimiter, fields, scan);
          BOOST_TEST(found == end);
          if (end == std::string_view::npos) continue;
          std::string_view line = text.substr(0, end);
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          const RecordScan reference = detail::scan_record_sse2(line, delimiter, expected);
          BOOST_TEST(fields == expected);
          BOOST_TEST(scan.has_quote == reference.has_quote);
          BOOST_TEST(scan.has_nul == reference.has_nul);
          BOOST_TEST(scan.is_ascii == reference.is_ascii);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
