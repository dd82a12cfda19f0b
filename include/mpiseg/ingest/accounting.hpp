#pragma once
/// Every input line is classified exactly once: header, blank, accepted, or rejected with one
/// reason. The identity  lines read = header + blank + accepted + rejected  is checked on every
/// run. Reasons of the *malformed* kind count toward [ingest] max_reject_fraction; *policy* drops
/// (a missing customer when the policy drops such lines, dropped duplicates) do not.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::ingest {

enum class RejectReason : std::uint8_t {
  // malformed
  field_count,             // not as many fields as the header (or [input] field_count)
  bad_quote,               // quote inside an unquoted field, or text after a closing quote
  quoted_newline,          // a quoted field spans lines (or lacks its closing quote) while quoted_newlines = false
  record_too_long,         // longer than [ingest] max_record_bytes
  field_too_long,          // a mapped field longer than [ingest] max_field_bytes
  nul_byte,                // embedded NUL byte
  invalid_encoding,        // not valid UTF-8 (with [input] encoding = "utf-8")
  missing_basket,
  missing_item,
  bad_item,                // not an integer in an integer basket file
  bad_timestamp,
  timestamp_out_of_range,  // outside 1970-01-01 .. 2106-02-07
  bad_quantity,            // not an integer, or outside the 32-bit range
  bad_price,               // not a finite number
  // malformed or policy, by the policy's setting ("reject" or "drop")
  negative_quantity,
  nonpositive_price,
  // policy
  missing_customer,
  cancellation,
  duplicate,
};

inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(RejectReason::duplicate) + 1;

std::string_view reason_name(RejectReason reason) noexcept;
/// Human explanation for the report and error messages.
std::string_view reason_explanation(RejectReason reason) noexcept;

struct Accounting {
  std::uint64_t lines_read = 0;
  std::uint64_t header = 0;
  std::uint64_t blank = 0;
  std::uint64_t accepted = 0;
  std::array<std::uint64_t, kReasonCount> rejected{};
  /// Which reasons count as malformed under the policy in force.
  std::array<bool, kReasonCount> malformed{};

  // Accepted lines with a flag (informational).
  std::uint64_t cancellation_lines = 0;
  std::uint64_t return_lines = 0;
  std::uint64_t nonpositive_price_lines = 0;
  std::uint64_t missing_customer_lines = 0;
  std::uint64_t duplicate_lines = 0;  // exact repeats of an earlier line, kept or dropped
  std::uint64_t item_occurrences = 0; // basket files: items on accepted lines

  void reject(RejectReason reason) noexcept { ++rejected[static_cast<std::size_t>(reason)]; }
  std::uint64_t rejected_total() const noexcept;
  std::uint64_t malformed_total() const noexcept;
  /// lines read - header - blank: what the reject fraction is relative to.
  std::uint64_t data_lines() const noexcept { return lines_read - header - blank; }
  bool balanced() const noexcept { return lines_read == header + blank + accepted + rejected_total(); }
  /// Sums every counter over the ranks.
  void reduce(comm::Communicator& comm);
  /// Multi-line summary for the log.
  std::string summary() const;
};

/// A rejected line kept as an example.
struct RejectSample {
  RejectReason reason;
  std::uint32_t file = 0;         // index into the input file list
  std::uint64_t offset = 0;       // byte offset of the line in its file
  std::uint64_t line_number = 0;  // 1-based record number in its file (filled in after parsing)
  std::string content;            // cut to kSampleBytes, control bytes escaped
};

inline constexpr std::size_t kSampleBytes = 240;

/// Keeps the first `per_reason` rejected lines of each reason in input order (file, offset),
/// whatever order they are offered in (a rank parses its byte ranges, then the chunks of
/// compressed files dealt to it). Offers in input order cost one comparison once full.
class RejectSampler {
 public:
  explicit RejectSampler(std::uint64_t per_reason) : per_reason_(per_reason) {}
  /// `line_number`: 1-based record number (relative, see RecordParser; made absolute later).
  void offer(RejectReason reason, std::uint32_t file, std::uint64_t offset, std::uint64_t line_number, std::string_view content);
  std::vector<RejectSample>& samples() noexcept { return samples_; }

 private:
  std::uint64_t per_reason_;
  std::array<std::uint64_t, kReasonCount> kept_{};
  std::array<std::size_t, kReasonCount> last_kept_{};  // per reason: index of the sample latest in input order, once full
  std::vector<RejectSample> samples_;
};

/// Gathers every rank's samples on rank 0, keeps the first `per_reason` of each reason in input
/// order (file, offset) and writes them as CSV (reason,file,line,byte_offset,content). Collective;
/// only rank 0 writes. Returns false when there was nothing to write.
bool write_reject_samples(std::vector<RejectSample> local, std::uint64_t per_reason, const std::vector<std::string>& files,
                          const std::string& path, comm::Communicator& comm);

}  // namespace mpiseg::ingest
