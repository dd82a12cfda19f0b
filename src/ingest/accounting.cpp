#include "mpiseg/ingest/accounting.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <fstream>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/csv.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/posix_file.hpp"

namespace mpiseg::ingest {
namespace {

struct ReasonInfo {
  std::string_view name;
  std::string_view explanation;
};

constexpr std::array<ReasonInfo, kReasonCount> kReasons = {{
    {"field_count", "the line does not have as many fields as the header"},
    {"bad_quote", "a quote inside an unquoted field, or text after a closing quote"},
    {"quoted_newline", "odd number of quotes: a quoted field spans lines or is not closed (set [input] quoted_newlines = true if the file has multi-line fields)"},
    {"record_too_long", "the line is longer than [ingest] max_record_bytes"},
    {"field_too_long", "a field is longer than [ingest] max_field_bytes"},
    {"nul_byte", "the line contains a NUL byte"},
    {"invalid_encoding", "a text field is not valid UTF-8 (set [input] encoding = \"latin-1\" for ISO-8859-1 files)"},
    {"missing_basket", "the basket/invoice field is empty"},
    {"missing_item", "the item field is empty"},
    {"bad_item", "an item of an integer basket file is not a non-negative integer"},
    {"bad_timestamp", "the timestamp does not match [input] timestamp_format"},
    {"timestamp_out_of_range", "the timestamp is before 1970-01-01 or after 2106-02-07"},
    {"bad_quantity", "the quantity is not an integer in the 32-bit range"},
    {"bad_price", "the unit price is not a finite number"},
    {"negative_quantity", "negative quantity, rejected or dropped by [ingest] negative_quantity"},
    {"nonpositive_price", "unit price <= 0, rejected or dropped by [ingest] nonpositive_price"},
    {"missing_customer", "no customer id, dropped by [ingest] missing_customer"},
    {"cancellation", "cancellation invoice, dropped by [ingest] cancellations"},
    {"duplicate", "exact repeat of an earlier line, dropped by [ingest] duplicates"},
}};

std::string escape_for_sample(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kSampleBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out += c;
  }
  if (text.size() > kSampleBytes) out += "...";
  return out;
}

std::string csv_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string_view reason_name(RejectReason reason) noexcept { return kReasons[static_cast<std::size_t>(reason)].name; }
std::string_view reason_explanation(RejectReason reason) noexcept {
  return kReasons[static_cast<std::size_t>(reason)].explanation;
}

std::uint64_t Accounting::rejected_total() const noexcept {
  std::uint64_t total = 0;
  for (std::uint64_t count : rejected) total += count;
  return total;
}

std::uint64_t Accounting::malformed_total() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < kReasonCount; ++r)
    if (malformed[r]) total += rejected[r];
  return total;
}

void Accounting::reduce(comm::Communicator& comm) {
  std::vector<std::uint64_t> packed = {lines_read, header, blank, accepted, cancellation_lines, return_lines,
                                       nonpositive_price_lines, missing_customer_lines, duplicate_lines, item_occurrences};
  packed.insert(packed.end(), rejected.begin(), rejected.end());
  comm.allreduce(std::span(packed), comm::ReduceOp::sum);
  lines_read = packed[0];
  header = packed[1];
  blank = packed[2];
  accepted = packed[3];
  cancellation_lines = packed[4];
  return_lines = packed[5];
  nonpositive_price_lines = packed[6];
  missing_customer_lines = packed[7];
  duplicate_lines = packed[8];
  item_occurrences = packed[9];
  std::copy(packed.begin() + 10, packed.end(), rejected.begin());
}

std::string Accounting::summary() const {
  std::string text = fmt::format("lines read {} = header {} + blank {} + accepted {} + rejected {} ({})", lines_read,
                                 header, blank, accepted, rejected_total(), balanced() ? "balanced" : "NOT BALANCED");
  for (std::size_t r = 0; r < kReasonCount; ++r) {
    if (rejected[r] == 0) continue;
    text += fmt::format("\n  rejected {:>12}  {:<22} [{}] {}", rejected[r], kReasons[r].name,
                        malformed[r] ? "malformed" : "policy", kReasons[r].explanation);
  }
  if (cancellation_lines + return_lines + nonpositive_price_lines + missing_customer_lines > 0)
    text += fmt::format("\n  accepted lines flagged: cancellation {}, return {}, unit price <= 0 {}, no customer {}",
                        cancellation_lines, return_lines, nonpositive_price_lines, missing_customer_lines);
  return text;
}

void RejectSampler::offer(RejectReason reason, std::uint32_t file, std::uint64_t offset, std::uint64_t line_number,
                          std::string_view content) {
  const auto r = static_cast<std::size_t>(reason);
  auto later = [](const RejectSample& sample, std::uint32_t f, std::uint64_t o) { return std::tie(sample.file, sample.offset) > std::tie(f, o); };
  // Once full, the sample latest in input order gives way to an earlier line.
  auto find_latest = [&] {
    std::size_t latest = samples_.size();
    for (std::size_t i = 0; i < samples_.size(); ++i)
      if (samples_[i].reason == reason && (latest == samples_.size() || later(samples_[i], samples_[latest].file, samples_[latest].offset)))
        latest = i;
    last_kept_[r] = latest;
  };
  if (kept_[r] < per_reason_) {
    ++kept_[r];
    samples_.push_back(RejectSample{reason, file, offset, line_number, escape_for_sample(content)});
    if (kept_[r] == per_reason_) find_latest();
    return;
  }
  if (per_reason_ == 0 || !later(samples_[last_kept_[r]], file, offset)) return;
  samples_[last_kept_[r]] = RejectSample{reason, file, offset, line_number, escape_for_sample(content)};
  find_latest();
}

bool write_reject_samples(std::vector<RejectSample> local, std::uint64_t per_reason, const std::vector<std::string>& files,
                          const std::string& path, comm::Communicator& comm) {
  comm::ByteWriter bytes;
  for (const RejectSample& sample : local)
    bytes.put(sample.reason).put(sample.file).put(sample.offset).put(sample.line_number).put_string(sample.content);
  const std::vector<char> all = comm.allgatherv(std::span<const char>(bytes.bytes()));
  if (all.empty()) return false;
  if (comm.rank() != 0) return true;

  std::vector<RejectSample> samples;
  for (comm::ByteReader in(all); !in.done();) {
    RejectSample sample;
    sample.reason = in.get<decltype(sample.reason)>();
    sample.file = in.get<decltype(sample.file)>();
    sample.offset = in.get<decltype(sample.offset)>();
    sample.line_number = in.get<decltype(sample.line_number)>();
    sample.content = in.get_string();
    samples.push_back(std::move(sample));
  }
  std::sort(samples.begin(), samples.end(), [](const RejectSample& a, const RejectSample& b) {
    return std::tie(a.reason, a.file, a.offset) < std::tie(b.reason, b.file, b.offset);
  });
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  std::ostringstream out;
  out << "reason,file,line,byte_offset,content\n";
  std::array<std::uint64_t, kReasonCount> written{};
  for (const RejectSample& sample : samples) {
    if (written[static_cast<std::size_t>(sample.reason)]++ >= per_reason) continue;
    // The content is a rejected input line: neutralised like any data cell a spreadsheet may run.
    out << reason_name(sample.reason) << ',' << csv_quote(files.at(sample.file)) << ',' << sample.line_number << ','
        << sample.offset << ',' << csv_quote(looks_like_formula(sample.content) ? "'" + sample.content : sample.content) << '\n';
  }
  write_file_atomically(path, out.str());
  return true;
}

}  // namespace mpiseg::ingest
