#include <chrono>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::comm {
namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Communicator::Timer::Timer(Communicator& comm, std::uint64_t sent, std::uint64_t received)
    : comm_(comm), start_(now_seconds()) {
  comm_.traffic_.calls += 1;
  comm_.traffic_.bytes_sent += sent;
  comm_.traffic_.bytes_received += received;
}

Communicator::Timer::~Timer() { comm_.traffic_.seconds += now_seconds() - start_; }

void allreduce_exact(std::span<int128> sums, Communicator& comm) {
  if (comm.size() == 1) return;
  std::vector<std::int64_t> limbs(sums.size() * 3);
  for (std::size_t i = 0; i < sums.size(); ++i) split_limbs(sums[i], &limbs[3 * i]);
  comm.allreduce(std::span(limbs), ReduceOp::sum);
  for (std::size_t i = 0; i < sums.size(); ++i) sums[i] = join_limbs(&limbs[3 * i]);
}

ByteWriter& ByteWriter::put_string(std::string_view text) {
  if (text.size() > UINT32_MAX) throw InputError(fmt::format("a string of {} bytes is too long to exchange (4 GiB at most)", text.size()));
  put(static_cast<std::uint32_t>(text.size()));
  const std::size_t at = bytes_.size();
  bytes_.resize(at + text.size());
  if (!text.empty()) std::memcpy(bytes_.data() + at, text.data(), text.size());
  return *this;
}

const char* ByteReader::take(std::size_t size) {
  if (size > bytes_.size() - std::min(position_, bytes_.size()))
    throw IoError(fmt::format("reading {} bytes at offset {} of a {}-byte exchange buffer", size, position_, bytes_.size()));
  const char* at = bytes_.data() + position_;
  position_ += size;
  return at;
}

std::string_view ByteReader::get_view() {
  const auto length = get<std::uint32_t>();
  return std::string_view(take(length), length);
}

std::string ByteReader::get_string() { return std::string(get_view()); }

std::vector<char> exchange_bytes(const std::vector<ByteWriter>& outgoing, Communicator& comm) {
  std::vector<char> send;
  std::vector<std::uint64_t> counts(outgoing.size());
  for (std::size_t r = 0; r < outgoing.size(); ++r) {
    counts[r] = outgoing[r].bytes().size();
    send.insert(send.end(), outgoing[r].bytes().begin(), outgoing[r].bytes().end());
  }
  std::vector<std::uint64_t> received_counts;
  return comm.alltoallv(std::span<const char>(send), counts, received_counts);
}

std::vector<std::string> allgather_strings(std::span<const std::string> local, Communicator& comm) {
  ByteWriter mine;
  for (const std::string& text : local) mine.put_string(text);
  const std::vector<char> all = comm.allgatherv(std::span<const char>(mine.bytes()));
  std::vector<std::string> strings;
  for (ByteReader in(all); !in.done();) strings.push_back(in.get_string());
  return strings;
}

std::string broadcast_string(std::string_view text, int root, Communicator& comm) {
  std::vector<char> bytes(text.begin(), text.end());
  comm.broadcast_vector(bytes, root);
  return std::string(bytes.begin(), bytes.end());
}

double global_max_abs(std::span<const double> values, Communicator& comm, std::string_view what) {
  double local_max = 0;
  std::uint64_t bad = 0;
  for (double value : values) {
    if (!std::isfinite(value)) {
      ++bad;
      continue;
    }
    local_max = std::max(local_max, std::abs(value));
  }
  const std::uint64_t global_bad = comm.allreduce(bad, ReduceOp::sum);
  if (global_bad != 0)
    throw InputError(fmt::format("{}: {} value(s) are NaN or infinite", what, global_bad));
  return comm.allreduce(local_max, ReduceOp::max);
}

}  // namespace mpiseg::comm
