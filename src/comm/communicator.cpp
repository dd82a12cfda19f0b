#include <chrono>
#include <cmath>
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
