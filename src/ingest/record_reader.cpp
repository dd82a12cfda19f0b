#include "mpiseg/ingest/record_reader.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mpiseg/core/resources.hpp"

namespace mpiseg::ingest {
namespace {
constexpr std::size_t npos = static_cast<std::size_t>(-1);

std::size_t count_char(const char* data, std::size_t size, char c) {
  std::size_t count = 0;
  const char* end = data + size;
  for (const char* p = data; (p = static_cast<const char*>(std::memchr(p, c, static_cast<std::size_t>(end - p)))) != nullptr; ++p)
    ++count;
  return count;
}
}  // namespace

RecordReader::RecordReader(const PosixFile& file, std::uint64_t file_size, std::uint64_t begin, std::uint64_t end,
                           const ReaderLimits& limits, bool odd_quotes_before, std::optional<std::uint64_t> entry)
    : RecordReader([&file](std::uint64_t offset, std::span<std::byte> buffer) { return file.read_at(offset, buffer); }, file_size,
                   begin, end, limits, odd_quotes_before, entry) {}

RecordReader::RecordReader(ReadAt read_at, std::uint64_t file_size, std::uint64_t begin, std::uint64_t end, const ReaderLimits& limits,
                           bool odd_quotes_before, std::optional<std::uint64_t> entry)
    : read_at_(std::move(read_at)),
      file_size_(file_size),
      begin_(begin),
      end_(std::min(end, file_size)),
      limits_(limits),
      odd_before_(odd_quotes_before),
      given_entry_(entry) {
  limits_.chunk_bytes = std::max<std::uint64_t>(limits_.chunk_bytes, 1);
  // One byte before the range tells whether the range starts at a record boundary.
  next_read_ = entry ? *entry : begin_ == 0 ? 0 : begin_ - 1;
  buffer_offset_ = next_read_;
}

bool RecordReader::fill() {
  if (next_read_ >= file_size_) return false;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(limits_.chunk_bytes, file_size_ - next_read_));
  if (buffer_.size() < buffer_size_ + want) buffer_.resize(buffer_size_ + want);
  const std::size_t got = read_at_(next_read_, std::as_writable_bytes(std::span(buffer_.data() + buffer_size_, want)));
  buffer_size_ += got;
  next_read_ += got;
  return got > 0;
}

std::size_t RecordReader::find_record_end(std::size_t start, std::size_t& scanned, bool& odd) const {
  const char* data = buffer_.data();
  std::size_t position = std::max(start, scanned);
  while (position < buffer_size_) {
    const void* found = std::memchr(data + position, '\n', buffer_size_ - position);
    if (found == nullptr) break;
    const auto newline = static_cast<std::size_t>(static_cast<const char*>(found) - data);
    if (limits_.quoted_newlines) odd ^= (count_char(data + position, newline - position, '"') & 1) != 0;
    if (!odd) return newline;
    position = newline + 1;
    scanned = position;
  }
  if (limits_.quoted_newlines && position < buffer_size_) {
    odd ^= (count_char(data + position, buffer_size_ - position, '"') & 1) != 0;
  }
  scanned = buffer_size_;
  return npos;
}

std::uint64_t RecordReader::for_each(const std::function<void(const Record&)>& on_record) {
  std::size_t cursor = 0;  // relative to buffer_
  if (given_entry_) {
    entry_ = *given_entry_;
    if (entry_ >= end_ || entry_ >= file_size_) return entry_;
  } else {
    entry_ = begin_;
    if ((begin_ >= end_ && begin_ != 0) || begin_ >= file_size_) return begin_;
  }
  if (!given_entry_ && begin_ > 0) {
    // Find the first record that starts at or after begin_.
    bool odd = odd_before_;  // parity at begin_ - 1 equals the parity at begin_ unless that byte is '"'
    bool first = true;
    for (;;) {
      if (cursor >= buffer_size_) {
        buffer_size_ = 0;
        buffer_offset_ = next_read_;
        cursor = 0;
        if (!fill()) return entry_ = file_size_;
      }
      const char c = buffer_[cursor];
      if (first) {
        // The byte at begin_ - 1: parity before begin_ already includes it.
        first = false;
        if (c == '\n' && !(limits_.quoted_newlines && odd)) {
          ++cursor;
          break;
        }
        ++cursor;
        continue;
      }
      if (limits_.quoted_newlines && c == '"') odd = !odd;
      ++cursor;
      if (c == '\n' && !(limits_.quoted_newlines && odd)) break;
    }
    entry_ = buffer_offset_ + cursor;
  }

  const std::size_t max_record = static_cast<std::size_t>(std::min<std::uint64_t>(limits_.max_record_bytes, SIZE_MAX / 2));
  // The first physical line of the record at `start`: its '\n', or npos when not buffered.
  auto first_newline = [&](std::size_t start) -> std::size_t {
    const void* found = std::memchr(buffer_.data() + start, '\n', buffer_size_ - start);
    return found == nullptr ? npos : static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.data());
  };
  for (;;) {
    if (cursor == buffer_size_) {
      buffer_offset_ += cursor;
      buffer_size_ = 0;
      cursor = 0;
      if (!fill()) return buffer_offset_;
    }
    const std::uint64_t record_offset = buffer_offset_ + cursor;
    if (record_offset >= end_ || record_offset >= file_size_) return record_offset;
    if (split_at_ && !limits_.quoted_newlines) {
      RecordScan scan;
      const std::size_t length =
          scan_line(buffer_.data() + cursor, std::min(buffer_size_ - cursor, max_record + 1), *split_at_, fields_, scan);
      if (length != npos) {
        on_record(Record{std::string_view(buffer_.data() + cursor, length), record_offset, false, &fields_, scan});
        cursor += length + 1;
        continue;
      }
    }

    std::size_t scanned = cursor;
    bool odd = false;
    std::size_t newline = find_record_end(cursor, scanned, odd);
    // Where the next record starts once this one is handed over (relative to buffer_), or npos:
    // skip to the end of the physical line that starts at the cursor.
    std::size_t next = npos;
    while (newline == npos) {
      if (buffer_size_ - cursor > max_record) {
        // No end within max_record_bytes. With quoted newlines, the first physical line alone is
        // the record (a stray quote: the parser rejects it) if it fits; otherwise it is too long.
        const std::size_t line_end = limits_.quoted_newlines ? first_newline(cursor) : npos;
        if (line_end != npos && line_end - cursor <= max_record) {
          on_record(Record{std::string_view(buffer_.data() + cursor, line_end - cursor), record_offset, false});
          next = line_end + 1;
        } else {
          on_record(Record{std::string_view(buffer_.data() + cursor, std::min<std::size_t>(buffer_size_ - cursor, 4096)), record_offset, true});
          next = line_end != npos ? line_end + 1 : npos;
        }
        break;
      }
      // Move the partial record to the front (once per chunk, at most one record) and read on.
      if (cursor > 0) {
        std::memmove(buffer_.data(), buffer_.data() + cursor, buffer_size_ - cursor);
        buffer_offset_ += cursor;
        buffer_size_ -= cursor;
        scanned -= cursor;
        cursor = 0;
      }
      if (!fill()) {
        // The file ends inside this record. A quote still open: its first line alone, as above.
        const std::size_t line_end = limits_.quoted_newlines && odd ? first_newline(cursor) : npos;
        if (line_end != npos) {
          on_record(Record{std::string_view(buffer_.data() + cursor, line_end - cursor), record_offset, false});
          next = line_end + 1;
          break;
        }
        // The last record of the file has no terminating newline.
        on_record(Record{std::string_view(buffer_.data() + cursor, buffer_size_ - cursor), record_offset, buffer_size_ - cursor > max_record});
        return file_size_;
      }
      newline = find_record_end(cursor, scanned, odd);
    }
    if (newline != npos) {
      const std::size_t length = newline - cursor;
      const std::size_t line_end = length > max_record && limits_.quoted_newlines ? first_newline(cursor) : newline;
      if (line_end != newline && line_end - cursor <= max_record) {
        // A multi-line record longer than the limit: its first line alone (the same outcome as
        // when the buffer held less of it, so chunk sizes cannot change the split).
        on_record(Record{std::string_view(buffer_.data() + cursor, line_end - cursor), record_offset, false});
      } else {
        on_record(Record{std::string_view(buffer_.data() + cursor, std::min(line_end - cursor, length)), record_offset,
                         line_end - cursor > max_record});
      }
      cursor = line_end + 1;
      continue;
    }
    if (next != npos) {
      cursor = next;
      continue;
    }
    // A physical line longer than the limit: skip to its end without buffering it.
    for (;;) {
      buffer_offset_ += buffer_size_;
      buffer_size_ = 0;
      if (!fill()) return file_size_;
      const std::size_t line_end = first_newline(0);
      if (line_end != npos) {
        cursor = line_end + 1;
        break;
      }
    }
  }
}

std::uint64_t count_quotes(const PosixFile& file, std::uint64_t begin, std::uint64_t end, std::uint64_t chunk_bytes) {
  std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(chunk_bytes, 1), end - begin)));
  std::uint64_t count = 0;
  for (std::uint64_t position = begin; position < end;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end - position));
    const std::size_t got = file.read_at(position, std::as_writable_bytes(std::span(buffer.data(), want)));
    if (got == 0) break;
    count += count_char(buffer.data(), got, '"');
    position += got;
  }
  return count;
}

void split_unquoted(std::string_view record, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  for (std::size_t start = 0;;) {
    const std::size_t next = record.find(delimiter, start);
    if (next == std::string_view::npos) {
      fields.push_back(record.substr(start));
      return;
    }
    fields.push_back(record.substr(start, next - start));
    start = next + 1;
  }
}

namespace detail {

RecordScan scan_record_sse2(std::string_view record, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  const char* data = record.data();
  const std::size_t size = record.size();
  std::size_t start = 0;  // of the field being read
  auto cut_at = [&](std::uint32_t delimiters, std::size_t base) {
    for (; delimiters != 0; delimiters &= delimiters - 1) {
      const std::size_t at = base + static_cast<std::size_t>(std::countr_zero(delimiters));
      fields.emplace_back(data + start, at - start);
      start = at + 1;
    }
  };
  std::uint32_t quotes = 0, nuls = 0, highs = 0;
#if defined(__SSE2__)
  const __m128i delimiter_bytes = _mm_set1_epi8(delimiter), quote_bytes = _mm_set1_epi8('"'), zero = _mm_setzero_si128();
  auto block = [&](__m128i bytes, std::uint32_t valid, std::size_t base) {
    quotes |= static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, quote_bytes))) & valid;
    nuls |= static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, zero))) & valid;
    highs |= static_cast<std::uint32_t>(_mm_movemask_epi8(bytes)) & valid;
    cut_at(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, delimiter_bytes))) & valid, base);
  };
  std::size_t i = 0;
  for (; i + 16 <= size; i += 16) block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i)), 0xffff, i);
  // The last bytes: the record's last 16 (the bits of bytes already seen masked off), never past
  // its end, which could be an unmapped page; a record shorter than 16 bytes through a copy.
  if (i < size && size >= 16) {
    block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + size - 16)), 0xffffu & ~((1u << (16 - (size - i))) - 1), size - 16);
  } else if (i < size) {
    alignas(16) char tail[16] = {};
    std::memcpy(tail, data, size);
    block(_mm_load_si128(reinterpret_cast<const __m128i*>(tail)), (1u << size) - 1, 0);
  }
#else
  for (std::size_t i = 0; i < size; ++i) {
    const auto byte = static_cast<unsigned char>(data[i]);
    quotes |= byte == '"';
    nuls |= byte == 0;
    highs |= byte >> 7;
    if (data[i] == delimiter) cut_at(1, i);
  }
#endif
  fields.emplace_back(data + start, size - start);
  return RecordScan{quotes != 0, nuls != 0, highs == 0};
}

#if defined(__x86_64__)
// 64 bytes per step, and no tail to special-case: a masked load reads only the bytes asked for
// (the masked-off ones are neither read nor able to fault), so a typical line item of 60-100
// bytes is one or two steps instead of the SSE2 path's four to seven. With kToNewline the scan
// also compares '\n' and stops before the first one (scan_line: the line is read once, not once
// by memchr and once more here), returning its offset, or npos when there is none; without, it
// returns `size`.
template <bool kToNewline>
__attribute__((target("avx512f,avx512bw"))) std::size_t scan_avx512(const char* data, std::size_t size, char delimiter,
                                                                     std::vector<std::string_view>& fields, RecordScan& scan) {
  fields.clear();
  std::size_t start = 0;
  const __m512i delimiter_bytes = _mm512_set1_epi8(delimiter), quote_bytes = _mm512_set1_epi8('"'), newline_bytes = _mm512_set1_epi8('\n');
  std::uint64_t quotes = 0, nuls = 0, highs = 0;
  for (std::size_t base = 0; base < size; base += 64) {
    const std::size_t count = std::min<std::size_t>(64, size - base);
    __mmask64 valid = count == 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
    const __m512i bytes = _mm512_maskz_loadu_epi8(valid, data + base);
    __mmask64 newlines = 0;
    if constexpr (kToNewline) {
      newlines = _mm512_mask_cmpeq_epi8_mask(valid, bytes, newline_bytes);
      if (newlines != 0) valid = (newlines & (~newlines + 1)) - 1;  // the bytes before the first '\n'
    }
    quotes |= _mm512_mask_cmpeq_epi8_mask(valid, bytes, quote_bytes);
    nuls |= _mm512_mask_testn_epi8_mask(valid, bytes, bytes);
    highs |= _mm512_movepi8_mask(bytes) & valid;
    for (std::uint64_t cuts = _mm512_mask_cmpeq_epi8_mask(valid, bytes, delimiter_bytes); cuts != 0; cuts &= cuts - 1) {
      const std::size_t at = base + static_cast<std::size_t>(std::countr_zero(cuts));
      fields.emplace_back(data + start, at - start);
      start = at + 1;
    }
    if (newlines != 0) {
      const std::size_t newline = base + static_cast<std::size_t>(std::countr_zero(newlines));
      // A '\r' is never the delimiter, so the last field holds it when the line has one.
      const std::size_t end = newline > start && data[newline - 1] == '\r' ? newline - 1 : newline;
      fields.emplace_back(data + start, end - start);
      scan = RecordScan{quotes != 0, nuls != 0, highs == 0};
      return newline;
    }
  }
  if constexpr (kToNewline) return npos;
  fields.emplace_back(data + start, size - start);
  scan = RecordScan{quotes != 0, nuls != 0, highs == 0};
  return size;
}

RecordScan scan_record_avx512(std::string_view record, char delimiter, std::vector<std::string_view>& fields) {
  RecordScan scan;
  scan_avx512<false>(record.data(), record.size(), delimiter, fields, scan);
  return scan;
}

std::size_t scan_line_avx512(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan) {
  return scan_avx512<true>(data, size, delimiter, fields, scan);
}

bool avx512_scan_available() {
  static const bool available = [] {
    if (!cpu_specific_kernels_allowed()) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  }();
  return available;
}
#else
RecordScan scan_record_avx512(std::string_view record, char delimiter, std::vector<std::string_view>& fields) {
  return scan_record_sse2(record, delimiter, fields);
}

std::size_t scan_line_avx512(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan) {
  return scan_line_sse2(data, size, delimiter, fields, scan);
}

bool avx512_scan_available() { return false; }
#endif

std::size_t scan_line_sse2(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan) {
  const void* found = std::memchr(data, '\n', size);
  if (found == nullptr) return npos;
  const auto newline = static_cast<std::size_t>(static_cast<const char*>(found) - data);
  const std::size_t end = newline > 0 && data[newline - 1] == '\r' ? newline - 1 : newline;
  scan = scan_record_sse2(std::string_view(data, end), delimiter, fields);
  return newline;
}

}  // namespace detail

RecordScan scan_record(std::string_view record, char delimiter, std::vector<std::string_view>& fields) {
  return detail::avx512_scan_available() ? detail::scan_record_avx512(record, delimiter, fields)
                                         : detail::scan_record_sse2(record, delimiter, fields);
}

std::size_t scan_line(const char* data, std::size_t size, char delimiter, std::vector<std::string_view>& fields, RecordScan& scan) {
  return detail::avx512_scan_available() ? detail::scan_line_avx512(data, size, delimiter, fields, scan)
                                         : detail::scan_line_sse2(data, size, delimiter, fields, scan);
}

bool split_fields(std::string_view record, char delimiter, std::vector<std::string_view>& fields, std::string& scratch) {
  if (record.find('"') == std::string_view::npos) {
    split_unquoted(record, delimiter, fields);  // fast path: no quoting at all
    return true;
  }
  fields.clear();
  scratch.clear();
  scratch.reserve(record.size());  // views into scratch stay valid: it never reallocates below
  std::size_t position = 0;
  for (;;) {
    if (position < record.size() && record[position] == '"') {
      const std::size_t begin = scratch.size();
      ++position;
      for (;;) {
        const std::size_t quote = record.find('"', position);
        if (quote == std::string_view::npos) return false;  // not closed within the record
        scratch.append(record.substr(position, quote - position));
        position = quote + 1;
        if (position < record.size() && record[position] == '"') {
          scratch += '"';
          ++position;
          continue;
        }
        break;
      }
      fields.emplace_back(scratch.data() + begin, scratch.size() - begin);
      if (position == record.size()) return true;
      if (record[position] != delimiter) return false;
      ++position;
      if (position == record.size()) {
        fields.emplace_back();
        return true;
      }
      continue;
    }
    const std::size_t next = record.find(delimiter, position);
    const std::string_view field = record.substr(position, next == std::string_view::npos ? std::string_view::npos : next - position);
    if (field.find('"') != std::string_view::npos) return false;
    fields.push_back(field);
    if (next == std::string_view::npos) return true;
    position = next + 1;
  }
}

}  // namespace mpiseg::ingest
