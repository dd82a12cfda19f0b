// Records straddling a range boundary must be read exactly once. Each test file is split into
// two or three ranges at every possible pair of boundary positions and read with chunk sizes
// from 1 byte up, and the union of the records must equal a sequential read.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>

#include "mpiseg/ingest/record_reader.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;

namespace {

struct TempFile {
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/mpiseg-reader-XXXXXX";
    const int descriptor = mkstemp(name);
    ::close(descriptor);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

using Records = std::vector<std::pair<std::uint64_t, std::string>>;

int resynchronised_ranges = 0;  // ranges whose parity guess was wrong (a broken quote before them)

// Records the reader handed over already split (RecordReader::split_fields_at), each checked
// against scan_record over its text less a trailing '\r'.
std::uint64_t split_records = 0;

void check_fields(const Record& record, char delimiter) {
  std::string_view line = record.text;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> expected;
  const RecordScan scan = scan_record(line, delimiter, expected);
  BOOST_REQUIRE(*record.fields == expected);
  BOOST_REQUIRE(record.scan.has_quote == scan.has_quote);
  BOOST_REQUIRE(record.scan.has_nul == scan.has_nul);
  BOOST_REQUIRE(record.scan.is_ascii == scan.is_ascii);
  ++split_records;
}

Records read_ranges(const std::string& content, const std::vector<std::uint64_t>& cuts, const ReaderLimits& limits,
                    bool& too_long_seen, std::optional<char> split_at = std::nullopt) {
  TempFile file(content);
  PosixFile handle(file.path, O_RDONLY);
  Records records;
  std::vector<std::uint64_t> bounds = {0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(content.size());
  // As ingest does: each range guesses its entry from the quote parity before it, a dry scan
  // gives its exit, and a range whose guess differs from the previous range's exit is read from
  // that exit instead.
  std::vector<std::optional<std::uint64_t>> entries(bounds.size() - 1);
  for (std::size_t r = 0; r + 1 < bounds.size(); ++r) {
    bool odd = false;
    if (limits.quoted_newlines) odd = std::count(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(bounds[r]), '"') % 2 != 0;
    RecordReader guess(handle, content.size(), bounds[r], bounds[r + 1], limits, odd);
    const std::uint64_t exit = guess.for_each([](const Record&) {});
    if (r == 0 || !limits.quoted_newlines) entries[r] = guess.entry();
    if (r > 0 && limits.quoted_newlines && guess.entry() != *entries[r]) ++resynchronised_ranges;
    RecordReader reader(handle, content.size(), bounds[r], bounds[r + 1], limits, odd, limits.quoted_newlines ? entries[r] : std::nullopt);
    if (split_at) reader.split_fields_at(*split_at);
    const std::uint64_t read_exit = reader.for_each([&](const Record& record) {
      too_long_seen = too_long_seen || record.too_long;
      BOOST_REQUIRE(record.fields == nullptr || (split_at && !limits.quoted_newlines && !record.too_long));
      if (record.fields != nullptr) check_fields(record, *split_at);
      records.emplace_back(record.offset, record.too_long ? std::string("<too long>") : std::string(record.text));
    });
    if (entries[r] == guess.entry()) BOOST_REQUIRE(read_exit == exit);
    if (r + 2 < bounds.size()) entries[r + 1] = read_exit;
  }
  return records;
}

void check_every_split(const std::string& content, bool quoted_newlines, std::uint64_t max_record = 1 << 20) {
  bool ignored = false;
  const Records expected = read_ranges(content, {}, ReaderLimits{1 << 16, max_record, quoted_newlines}, ignored);
  for (std::uint64_t chunk : {1u, 2u, 3u, 5u, 8u, 64u}) {
    const ReaderLimits limits{chunk, max_record, quoted_newlines};
    for (std::uint64_t a = 0; a <= content.size(); ++a) {
      BOOST_REQUIRE(read_ranges(content, {a}, limits, ignored) == expected);
      BOOST_REQUIRE(read_ranges(content, {a}, limits, ignored, ',') == expected);
      if (chunk <= 3 && content.size() <= 48) {
        for (std::uint64_t b = a; b <= content.size(); ++b) BOOST_REQUIRE(read_ranges(content, {a, b}, limits, ignored) == expected);
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(record_reader)

BOOST_AUTO_TEST_CASE(sequential_read_splits_lines) {
  bool too_long = false;
  const Records records = read_ranges("a,b\r\n\nccc\nlast", {}, ReaderLimits{4, 100, false}, too_long);
  BOOST_TEST(records.size() == 4u);
  BOOST_TEST(records[0].second == "a,b\r");
  BOOST_TEST(records[1].second == "");
  BOOST_TEST(records[2].first == 6u);
  BOOST_TEST(records[3].second == "last");  // no newline at the end
}

BOOST_AUTO_TEST_CASE(every_boundary_position_line_mode) {
  check_every_split("id,name\n1,a\n22,bb\n\n333,\"c,c\"\n4444,dddd\n5", false);
  check_every_split("\n\n\nx\n\n", false);
  check_every_split("single line without newline", false);
  check_every_split("", false);
  check_every_split("h,d\r\n1,\r\n\r\n2,x\ry\r\n3,\"q\"\r", false);
}

BOOST_AUTO_TEST_CASE(line_mode_hands_over_fields_split_in_the_pass_that_found_the_end) {
  std::string content = "customer,item,price\r\n";
  for (int i = 0; i < 200; ++i) content += std::to_string(i) + ",item " + std::to_string(i % 7) + (i % 3 ? ",1.5\n" : ",\"2,5\"\r\n");
  bool too_long = false;
  split_records = 0;
  const Records plain = read_ranges(content, {}, ReaderLimits{256, 1 << 20, false}, too_long);
  BOOST_TEST(split_records == 0u);
  BOOST_TEST((read_ranges(content, {content.size() / 3}, ReaderLimits{256, 1 << 20, false}, too_long, ',') == plain));
  // Only the first record after each refill of the 256-byte buffer comes without fields.
  BOOST_TEST(split_records >= plain.size() - content.size() / 256 - 4);
  // Quoted newlines: records come as before, never split by the reader.
  split_records = 0;
  BOOST_TEST((read_ranges(content, {}, ReaderLimits{256, 1 << 20, true}, too_long, ',') == read_ranges(content, {}, ReaderLimits{256, 1 << 20, true}, too_long)));
  BOOST_TEST(split_records == 0u);
}

BOOST_AUTO_TEST_CASE(every_boundary_position_quoted_newlines) {
  const std::string content = "h1,h2\n1,\"multi\nline\"\n2,\"x\"\"y\"\n3,\"a\n\nb\n\"\n4,plain\n";
  check_every_split(content, true);
  bool too_long = false;
  const Records records = read_ranges(content, {}, ReaderLimits{7, 100, true}, too_long);
  BOOST_TEST(records.size() == 5u);
  BOOST_TEST(records[1].second == "1,\"multi\nline\"");
  BOOST_TEST(records[3].second == "3,\"a\n\nb\n\"");
}

BOOST_AUTO_TEST_CASE(too_long_records_are_skipped_not_buffered) {
  std::string content = "short\n" + std::string(300, 'x') + "\nafter\n" + std::string(50, 'y');
  bool too_long = false;
  const Records records = read_ranges(content, {}, ReaderLimits{16, 64, false}, too_long);
  BOOST_TEST(too_long);
  BOOST_TEST(records.size() == 4u);
  BOOST_TEST(records[1].second == "<too long>");
  BOOST_TEST(records[2].second == "after");
  check_every_split(content, false, 64);
}

BOOST_AUTO_TEST_CASE(a_stray_quote_costs_one_line_not_the_rest_of_the_file) {
  // Quote parity alone would make everything after line 2 one record; the limit (40 bytes)
  // makes the reader take line 2 alone and resynchronise at line 3.
  std::string content = "h,d\n1,\"ok\nstill ok\"\n2,\"stray\n";
  for (int i = 3; i < 12; ++i) content += std::to_string(i) + ",plain\n";
  content += "12,\"multi\nline\"\n13,end\n";
  bool too_long = false;
  resynchronised_ranges = 0;
  const Records records = read_ranges(content, {}, ReaderLimits{8, 40, true}, too_long);
  BOOST_TEST(!too_long);
  BOOST_REQUIRE(records.size() == 14u);
  BOOST_TEST(records[1].second == "1,\"ok\nstill ok\"");
  BOOST_TEST(records[2].second == "2,\"stray");
  BOOST_TEST(records[3].second == "3,plain");
  BOOST_TEST(records[12].second == "12,\"multi\nline\"");
  BOOST_TEST(records[13].second == "13,end");
  // The same split at any range boundaries and chunk sizes, including ranges whose parity guess
  // is wrong because the stray quote lies before them.
  check_every_split(content, true, 40);
  BOOST_TEST(resynchronised_ranges > 0);
}

BOOST_AUTO_TEST_CASE(a_quote_open_at_the_end_of_the_file_costs_one_line) {
  const std::string content = "a,1\nb,\"open\nc,3\nd,4";
  bool too_long = false;
  const Records records = read_ranges(content, {}, ReaderLimits{4, 1 << 20, true}, too_long);
  BOOST_REQUIRE(records.size() == 4u);
  BOOST_TEST(records[1].second == "b,\"open");
  BOOST_TEST(records[2].second == "c,3");
  BOOST_TEST(records[3].second == "d,4");
  check_every_split(content, true);
}

BOOST_AUTO_TEST_CASE(a_long_multi_line_record_and_a_long_line_in_quoted_mode) {
  // A closed quoted record longer than the limit is cut to its first line, whatever the chunk
  // size; a single line longer than the limit is one too-long record.
  const std::string content = "x,\"" + std::string(30, 'a') + "\n" + std::string(30, 'b') + "\"\n" + std::string(70, 'c') + "\nz,1\n";
  bool too_long = false;
  const Records records = read_ranges(content, {}, ReaderLimits{5, 48, true}, too_long);
  BOOST_TEST(too_long);
  BOOST_REQUIRE(records.size() == 4u);
  BOOST_TEST(records[0].second == "x,\"" + std::string(30, 'a'));
  BOOST_TEST(records[1].second == std::string(30, 'b') + "\"");
  BOOST_TEST(records[2].second == "<too long>");
  BOOST_TEST(records[3].second == "z,1");
  check_every_split(content, true, 48);
}

BOOST_AUTO_TEST_SUITE_END()
