#pragma once
/// Reads the records (lines) of one byte range of a file in bounded chunks.
///
/// A record belongs to the range that contains its first byte; a record that straddles the end
/// of a range is read to its end by the range's owner, and skipped by the next range's owner,
/// so every record is read exactly once whatever the range boundaries and chunk sizes.
///
/// Two splitting rules ([input] quoted_newlines):
///  - false: every '\n' ends a record.
///  - true: a record that starts at s ends at the first '\n' after which the number of '"' since
///    s is even (RFC 4180 quoting), provided that is at most max_record_bytes after s. Otherwise
///    (a stray quote, or a quoted field that never closes) only the record's first physical line
///    is taken as the record, and reading resynchronises at the next line: one broken quote costs
///    one line, never the rest of the file. These record starts depend on everything before them,
///    so a range's first record start (its *entry*) is first guessed from the quote parity before
///    the range (count_quotes), which is exact unless a resynchronisation happened earlier, and
///    then checked against the previous range's *exit* (the first record start at or after its
///    end, returned by for_each); ingest repeats the scan of ranges whose guess was wrong until
///    all agree, which is the sequential split at any rank count.
///
/// Memory: one buffer of chunk_bytes, grown only to hold one record of up to max_record_bytes;
/// longer records are reported as too long and skipped without being buffered.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "mpiseg/core/posix_file.hpp"

namespace mpiseg::ingest {

struct ReaderLimits {
  std::uint64_t chunk_bytes = std::uint64_t{1} << 20;
  std::uint64_t max_record_bytes = std::uint64_t{1} << 20;
  bool quoted_newlines = false;
};

/// What one pass over a record's bytes finds besides its delimiters.
struct RecordScan {
  bool has_quote = false;
  bool has_nul = false;
  bool is_ascii = true;  // no byte above 0x7f
};

/// What the reader hands over for each record.
struct Record {
  std::string_view text;  // without the terminating '\n' (a trailing '\r' is kept); a prefix when too_long
  std::uint64_t offset;   // byte offset of the record's first byte in the file
  bool too_long;
  // After RecordReader::split_fields_at, for records it could split in the pass that found their
  // end: the fields and findings of scan_record over `text` less a trailing '\r'. Else null.
  const std::vector<std::string_view>* fields = nullptr;
  RecordScan scan{};
};

/// Where the reader's bytes come from: fills the span from the offset, short only at the end.
using ReadAt = std::function<std::size_t(std::uint64_t offset, std::span<std::byte> buffer)>;

/// The file size to give for a stream whose length is only known at its end (a decompressed
/// file, read from offset 0 forward).
inline constexpr std::uint64_t kUnknownSize = ~std::uint64_t{0};

class RecordReader {
 public:
  /// Reads records starting in [begin, end) of `file` (size `file_size`). `odd_quotes_before` is
  /// the parity of '"' in [0, begin) (only used with quoted_newlines). With `entry`, the first
  /// record starts there (a record start known from the previous range's exit) instead.
  RecordReader(const PosixFile& file, std::uint64_t file_size, std::uint64_t begin, std::uint64_t end,
               const ReaderLimits& limits, bool odd_quotes_before = false, std::optional<std::uint64_t> entry = std::nullopt);
  /// The same over any source; reads go strictly forward from `begin` (or the byte before it).
  RecordReader(ReadAt read_at, std::uint64_t file_size, std::uint64_t begin, std::uint64_t end, const ReaderLimits& limits,
               bool odd_quotes_before = false, std::optional<std::uint64_t> entry = std::nullopt);

  /// Calls `on_record` for every record, in file order. Views are valid during the call only.
  /// Returns the range's exit: the offset of the first record start at or after its end (the
  /// file size when the file ends first).
  std::uint64_t for_each(const std::function<void(const Record&)>& on_record);

  /// Every '\n' ending a record (quoted_newlines off): finds each record's fields, split at
  /// `delimiter`, in the same pass over its bytes that finds its end (scan_line), and hands them
  /// over with the record. Records it cannot split that way (too long, or the first of a
  /// buffer refill) come without fields.
  void split_fields_at(char delimiter) noexcept { split_at_ = delimiter; }

  /// The offset where the first record of the range started (valid after for_each).
  std::uint64_t entry() const noexcept { return entry_; }

 private:
  bool fill();  // appends the next chunk to the buffer; false at end of file
  // Position (relative to buffer_) of the '\n' ending the record that starts at `start`, or
  // npos when the buffer does not hold the end yet; `scanned`/`parity` carry the scan state.
  std::size_t find_record_end(std::size_t start, std::size_t& scanned, bool& odd) const;

  ReadAt read_at_;
  std::uint64_t file_size_;
  std::uint64_t begin_;
  std::uint64_t end_;
  ReaderLimits limits_;
  bool odd_before_;
  std::vector<char> buffer_;
  std::uint64_t buffer_offset_ = 0;  // file offset of buffer_[0]
  std::size_t buffer_size_ = 0;
  std::uint64_t next_read_ = 0;  // file offset of the next byte to read
  std::optional<std::uint64_t> given_entry_;
  std::uint64_t entry_ = 0;
  std::optional<char> split_at_;
  std::vector<std::string_view> fields_;
};

/// Number of '"' bytes in [begin, end) of `file`, read in chunks.
std::uint64_t count_quotes(const PosixFile& file, std::uint64_t begin, std::uint64_t end, std::uint64_t chunk_bytes);

/// Splits a record that holds no quote at every delimiter.
void split_unquoted(std::string_view record, char delimiter, std::vector<std::string_view>& fields);

/// One vectorised pass that splits `record` at every delimiter into `fields`, as split_unquoted
/// does, and finds quotes, NUL bytes and non-ASCII bytes on the way. With a quote the fields are
/// not the record's (split_fields then does the quoting). 64 bytes at a time where the CPU has
/// AVX-512BW (chosen at run time; MPISEG_KERNEL=generic forces the other path), else 16 at a
/// time with SSE2, which every x86-64 has.
RecordScan scan_record(std::string_view record, char delimiter, std::vector<std::string_view>& fields);

/// scan_record fused with finding the record's end: the offset of the first '\n' in
/// [data, data + size), or npos when there is none; with a '\n', `fields` and `scan` are
/// scan_record's over the bytes before it less a trailing '\r' (the parser strips it).
std::size_t scan_line(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan);

namespace detail {
/// The two paths of scan_record and scan_line, for tests that hold them to each other.
RecordScan scan_record_sse2(std::string_view record, char delimiter, std::vector<std::string_view>& fields);
RecordScan scan_record_avx512(std::string_view record, char delimiter, std::vector<std::string_view>& fields);
std::size_t scan_line_sse2(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan);
std::size_t scan_line_avx512(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan);
bool avx512_scan_available();
}  // namespace detail

/// Splits one record into fields. Quoted fields (RFC 4180: the quote opens the field, "" is a
/// literal quote) are unescaped into `scratch`, which must not be modified while `fields` is used.
/// Returns false on a stray quote (inside an unquoted field, or followed by anything but the
/// delimiter or the end of the record).
bool split_fields(std::string_view record, char delimiter, std::vector<std::string_view>& fields, std::string& scratch);

}  // namespace mpiseg::ingest
