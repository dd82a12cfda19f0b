// The CSV record reader and the field splitter: the records of a file read as one range must be
// the records read as two ranges cut anywhere, with any chunk size and either quoting rule (the
// entry of the second range checked against the exit of the first, as ingest does); every record
// then goes through the field splitter and the field parsers. Records the reader splits while
// it finds their end (split_fields_at) must come with scan_record's fields.
#include <fcntl.h>

#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "mpiseg/ingest/field_parsers.hpp"
#include "mpiseg/ingest/record_reader.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;

namespace {
using Records = std::vector<std::pair<std::uint64_t, std::string>>;

void check_split(const Record& record) {
  std::string_view line = record.text;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> fields;
  const RecordScan scan = scan_record(line, ',', fields);
  if (fields != *record.fields || scan.has_quote != record.scan.has_quote || scan.has_nul != record.scan.has_nul ||
      scan.is_ascii != record.scan.is_ascii)
    std::abort();
}

Records read(const PosixFile& file, std::uint64_t size, const std::vector<std::uint64_t>& bounds, const ReaderLimits& limits,
             std::string_view content, bool split = false) {
  Records records;
  std::optional<std::uint64_t> entry;
  for (std::size_t r = 0; r + 1 < bounds.size(); ++r) {
    std::uint64_t quotes = 0;
    for (std::uint64_t i = 0; i < bounds[r]; ++i) quotes += content[i] == '"';
    RecordReader reader(file, size, bounds[r], bounds[r + 1], limits, quotes % 2 != 0, limits.quoted_newlines ? entry : std::nullopt);
    if (split) reader.split_fields_at(',');
    entry = reader.for_each([&](const Record& record) {
      if (record.fields != nullptr) check_split(record);
      records.emplace_back(record.offset, record.too_long ? std::string("<too long>") : std::string(record.text));
    });
    if (r == 0) entry = entry.value_or(0);
  }
  return records;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes bytes(data, size);
  ReaderLimits limits;
  limits.chunk_bytes = 1 + bytes.byte() % 64;
  limits.max_record_bytes = 4 + bytes.byte();
  limits.quoted_newlines = bytes.byte() % 2 != 0;
  const std::uint32_t cut_seed = bytes.below(65536);
  const std::string_view content = bytes.rest();
  static const std::filesystem::path path = fuzz::scratch_file(".csv");
  fuzz::write_file(path, reinterpret_cast<const std::uint8_t*>(content.data()), content.size());
  const PosixFile file(path, O_RDONLY);
  const std::uint64_t total = content.size();
  const Records whole = read(file, total, {0, total}, limits, content);
  const std::uint64_t cut = total == 0 ? 0 : cut_seed % (total + 1);
  if (read(file, total, {0, cut, total}, limits, content) != whole) std::abort();  // a range boundary changed the records
  if (read(file, total, {0, cut, total}, limits, content, true) != whole) std::abort();  // splitting changed the records

  std::vector<std::string_view> fields;
  std::string scratch;
  for (const auto& [offset, text] : whole) {
    if (!split_fields(text, ',', fields, scratch)) continue;
    for (std::string_view field : fields) {
      (void)parse_integer(field);
      (void)parse_decimal(field);
      (void)parse_numeric_key(field);
      (void)is_valid_utf8(field);
      (void)parse_timestamp(field, TimestampFormat::automatic);
    }
  }
  return 0;
}
