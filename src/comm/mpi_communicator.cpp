// The only translation unit that talks to MPI. Boost.MPI's communicator owns the MPI_Comm and
// carries the typed collectives (barrier, broadcast, all_gather, all_reduce); raw MPI is used
// where Boost.MPI would serialise (variable-size personalised exchanges) and where a payload
// exceeds what one call can carry (int counts): those are split into chunks below.
#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <type_traits>
#include <vector>

#include "mpiseg/comm/mpi.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/posix_file.hpp"

namespace mpiseg::comm {
namespace {

std::string mpi_error_text(int status) {
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, message, &length);
  return std::string(message, static_cast<std::size_t>(length));
}

void check_mpi(int status, const char* what) {
  if (status != MPI_SUCCESS) throw Error(fmt::format("{} failed: {}", what, mpi_error_text(status)));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, std::int8_t>) return MPI_INT8_T;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return MPI_UINT8_T;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return MPI_UINT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else return MPI_DOUBLE;
}

// MPI_Allreduce called directly rather than through Boost.MPI's all_reduce, whose in-place form
// binds a reference to MPI_IN_PLACE (undefined behaviour that UBSan reports).
template <class T>
void allreduce_in_place(MPI_Comm comm, T* data, int count, ReduceOp op) {
  MPI_Op mpi_op = MPI_SUM;
  switch (op) {
    case ReduceOp::sum: mpi_op = MPI_SUM; break;
    case ReduceOp::min: mpi_op = MPI_MIN; break;
    case ReduceOp::max: mpi_op = MPI_MAX; break;
    case ReduceOp::bit_or:
    case ReduceOp::bit_and:
      if constexpr (!std::is_integral_v<T>) throw std::logic_error("bitwise reduction of floating-point values");
      mpi_op = op == ReduceOp::bit_or ? MPI_BOR : MPI_BAND;
      break;
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, count, mpi_type<T>(), mpi_op, comm), "MPI_Allreduce");
}

class MpiSharedFileWriter final : public SharedFileWriter {
 public:
  MpiSharedFileWriter(MPI_Comm comm, std::filesystem::path path, std::size_t max_message_bytes)
      : comm_(comm), path_(std::move(path)), temporary_(temporary_path_for(path_)), max_message_(max_message_bytes) {
    MPI_Comm_rank(comm_, &rank_);
    const int status = MPI_File_open(comm_, temporary_.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file_);
    if (status != MPI_SUCCESS) {
      file_ = MPI_FILE_NULL;
      check_mpi(status, fmt::format("MPI_File_open('{}')", temporary_.string()).c_str());
    }
    check_mpi(MPI_File_set_size(file_, 0), "MPI_File_set_size");
  }

  // Closing an MPI file is collective; a destructor may run on one rank only while it unwinds,
  // so an abandoned file is left to MPI_Abort and only its temporary name is removed.
  ~MpiSharedFileWriter() override {
    if (!committed_ && rank_ == 0) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }

  void write_at_all(std::uint64_t offset, std::span<const std::byte> data) override {
    // Every rank must make the same number of collective calls: agree on the round count. A write
    // that fails or falls short (a full disk) is noted and the rounds go on, so that every rank
    // learns of the failure at the same point instead of waiting in a collective.
    std::uint64_t rounds = (data.size() + max_message_ - 1) / max_message_;
    MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_UINT64_T, MPI_MAX, comm_);
    std::size_t done = 0;
    std::string failure;
    for (std::uint64_t round = 0; round < rounds; ++round) {
      const std::size_t count = std::min(max_message_, data.size() - done);
      MPI_Status status;
      const int result = MPI_File_write_at_all(file_, static_cast<MPI_Offset>(offset + done), data.data() + done, static_cast<int>(count),
                                               MPI_BYTE, &status);
      int written = 0;
      if (result == MPI_SUCCESS) MPI_Get_count(&status, MPI_BYTE, &written);
      if (failure.empty() && (result != MPI_SUCCESS || static_cast<std::size_t>(written) != count))
        failure = fmt::format("cannot write '{}' at byte {}: {}", temporary_.string(), offset + done,
                              result != MPI_SUCCESS ? mpi_error_text(result) : fmt::format("{} of {} bytes written (disk full?)", written, count));
      done += count;
    }
    agree(failure);
  }

  void commit() override {
    // Synced and closed by every rank, then renamed by rank 0 only if all of that succeeded.
    std::string failure;
    const int synced = MPI_File_sync(file_);
    if (synced != MPI_SUCCESS) failure = fmt::format("cannot write '{}' to storage: {}", temporary_.string(), mpi_error_text(synced));
    const int closed = MPI_File_close(&file_);
    if (closed != MPI_SUCCESS && failure.empty()) failure = fmt::format("cannot close '{}': {}", temporary_.string(), mpi_error_text(closed));
    agree(failure);
    int ok = 1;
    if (rank_ == 0) {
      try {
        rename_into_place(temporary_, path_);
      } catch (const std::exception& error) {
        ok = 0;
        failure = error.what();
      }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm_);
    committed_ = ok != 0;
    if (!ok) throw IoError(rank_ == 0 ? failure : fmt::format("cannot rename '{}' into place", temporary_.string()));
  }

 private:
  /// Collective: throws on every rank when `failure` is set on any (rank 0's temporary is removed
  /// by the destructor, so no half-written file is left behind).
  void agree(const std::string& failure) {
    int ok = failure.empty() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm_);
    if (ok) return;
    throw IoError(!failure.empty() ? failure : fmt::format("writing '{}' failed on another rank", path_.string()));
  }

  MPI_Comm comm_;
  std::filesystem::path path_;
  std::filesystem::path temporary_;
  std::size_t max_message_;
  MPI_File file_ = MPI_FILE_NULL;
  int rank_ = 0;
  bool committed_ = false;
};

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(std::size_t max_message_bytes)
      : comm_(MPI_COMM_WORLD, boost::mpi::comm_duplicate),
        max_message_(std::clamp<std::size_t>(max_message_bytes, 1, INT_MAX)) {}

  int rank() const noexcept override { return comm_.rank(); }
  int size() const noexcept override { return comm_.size(); }
  void barrier() override { comm_.barrier(); }

  std::unique_ptr<SharedFileWriter> create_shared_file(const std::filesystem::path& path) override {
    return std::make_unique<MpiSharedFileWriter>(raw(), path, max_message_);
  }

  void configure_hdf5_file_access(std::int64_t fapl) const override {
    if (H5Pset_fapl_mpio(static_cast<hid_t>(fapl), raw(), MPI_INFO_NULL) < 0)
      throw IoError("H5Pset_fapl_mpio failed: the HDF5 library cannot use the MPI-IO driver");
    // All ranks read metadata collectively instead of each rank hitting the file system.
    H5Pset_all_coll_metadata_ops(static_cast<hid_t>(fapl), true);
    H5Pset_coll_metadata_write(static_cast<hid_t>(fapl), true);
  }
  bool uses_parallel_hdf5() const noexcept override { return true; }

 protected:
  void do_allreduce(void* data, std::size_t count, ScalarType type, ReduceOp op) override {
    switch (type) {
      case ScalarType::int8: return chunked_allreduce(static_cast<std::int8_t*>(data), count, op);
      case ScalarType::uint8: return chunked_allreduce(static_cast<std::uint8_t*>(data), count, op);
      case ScalarType::int32: return chunked_allreduce(static_cast<std::int32_t*>(data), count, op);
      case ScalarType::uint32: return chunked_allreduce(static_cast<std::uint32_t*>(data), count, op);
      case ScalarType::int64: return chunked_allreduce(static_cast<std::int64_t*>(data), count, op);
      case ScalarType::uint64: return chunked_allreduce(static_cast<std::uint64_t*>(data), count, op);
      case ScalarType::float32: return chunked_allreduce(static_cast<float*>(data), count, op);
      case ScalarType::float64: return chunked_allreduce(static_cast<double*>(data), count, op);
    }
  }

  void do_broadcast(void* data, std::size_t bytes, int root) override {
    auto* bytes_ptr = static_cast<char*>(data);
    for (std::size_t done = 0; done < bytes; done += max_message_) {
      const std::size_t count = std::min(max_message_, bytes - done);
      boost::mpi::broadcast(comm_, bytes_ptr + done, static_cast<int>(count), root);
    }
  }

  void do_allgather(const void* send, std::size_t bytes, void* recv) override {
    if (bytes * static_cast<std::size_t>(size()) > max_message_) {
      // Rare (allgather carries one small value per rank); fall back to one broadcast per rank.
      auto* out = static_cast<char*>(recv);
      std::memcpy(out + bytes * static_cast<std::size_t>(rank()), send, bytes);
      for (int root = 0; root < size(); ++root) do_broadcast(out + bytes * static_cast<std::size_t>(root), bytes, root);
      return;
    }
    boost::mpi::all_gather(comm_, static_cast<const char*>(send), static_cast<int>(bytes), static_cast<char*>(recv));
  }

  void do_allgatherv(const void* send, std::size_t bytes, void* recv, std::span<const std::uint64_t> recv_bytes) override {
    std::uint64_t total = 0;
    for (std::uint64_t part : recv_bytes) total += part;
    auto* out = static_cast<char*>(recv);
    if (total > max_message_) {
      // Displacements would overflow int (or the test limit): each rank broadcasts its part.
      std::uint64_t offset = 0;
      for (int root = 0; root < size(); ++root) {
        if (root == rank() && bytes != 0) std::memcpy(out + offset, send, bytes);
        do_broadcast(out + offset, recv_bytes[static_cast<std::size_t>(root)], root);
        offset += recv_bytes[static_cast<std::size_t>(root)];
      }
      return;
    }
    std::vector<int> counts(recv_bytes.size()), displacements(recv_bytes.size());
    int offset = 0;
    for (std::size_t r = 0; r < recv_bytes.size(); ++r) {
      counts[r] = static_cast<int>(recv_bytes[r]);
      displacements[r] = offset;
      offset += counts[r];
    }
    check_mpi(MPI_Allgatherv(send, static_cast<int>(bytes), MPI_BYTE, out, counts.data(), displacements.data(),
                             MPI_BYTE, raw()),
              "MPI_Allgatherv");
  }

  void do_alltoall(const void* send, std::size_t bytes_each, void* recv) override {
    check_mpi(MPI_Alltoall(send, static_cast<int>(bytes_each), MPI_BYTE, recv, static_cast<int>(bytes_each), MPI_BYTE,
                           raw()),
              "MPI_Alltoall");
  }

  void do_alltoallv(const void* send, std::span<const std::uint64_t> send_bytes, void* recv,
                    std::span<const std::uint64_t> recv_bytes) override {
    std::uint64_t send_total = 0, recv_total = 0;
    for (std::size_t r = 0; r < send_bytes.size(); ++r) {
      send_total += send_bytes[r];
      recv_total += recv_bytes[r];
    }
    // One MPI_Alltoallv only if every rank's counts and displacements fit; decided together,
    // since the two paths do not match each other's messages.
    const int local_large = std::max(send_total, recv_total) > max_message_ ? 1 : 0;
    int any_large = 0;
    MPI_Allreduce(&local_large, &any_large, 1, MPI_INT, MPI_MAX, raw());
    if (any_large != 0) {
      chunked_point_to_point(static_cast<const char*>(send), send_bytes, static_cast<char*>(recv), recv_bytes);
      return;
    }
    const std::size_t ranks = send_bytes.size();
    std::vector<int> send_counts(ranks), send_displacements(ranks), recv_counts(ranks), recv_displacements(ranks);
    int send_offset = 0, recv_offset = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      send_counts[r] = static_cast<int>(send_bytes[r]);
      recv_counts[r] = static_cast<int>(recv_bytes[r]);
      send_displacements[r] = send_offset;
      recv_displacements[r] = recv_offset;
      send_offset += send_counts[r];
      recv_offset += recv_counts[r];
    }
    check_mpi(MPI_Alltoallv(send, send_counts.data(), send_displacements.data(), MPI_BYTE, recv, recv_counts.data(),
                            recv_displacements.data(), MPI_BYTE, raw()),
              "MPI_Alltoallv");
  }

 private:
  MPI_Comm raw() const { return static_cast<MPI_Comm>(comm_); }

  template <class T>
  void chunked_allreduce(T* data, std::size_t count, ReduceOp op) {
    const std::size_t per_call = std::max<std::size_t>(1, max_message_ / sizeof(T));
    for (std::size_t done = 0; done < count; done += per_call)
      allreduce_in_place(static_cast<MPI_Comm>(comm_), data + done, static_cast<int>(std::min(per_call, count - done)), op);
  }

  // Every pair exchanges its block as a sequence of messages of at most max_message_ bytes.
  // MPI keeps messages between two ranks with the same tag in order, so the chunks of a block
  // arrive in the order they were sent.
  void chunked_point_to_point(const char* send, std::span<const std::uint64_t> send_bytes, char* recv,
                              std::span<const std::uint64_t> recv_bytes) {
    const int me = rank();
    const std::size_t ranks = send_bytes.size();
    std::vector<std::uint64_t> send_offsets(ranks, 0), recv_offsets(ranks, 0);
    for (std::size_t r = 1; r < ranks; ++r) {
      send_offsets[r] = send_offsets[r - 1] + send_bytes[r - 1];
      recv_offsets[r] = recv_offsets[r - 1] + recv_bytes[r - 1];
    }
    constexpr int kTag = 7301;
    std::vector<MPI_Request> requests;
    for (std::size_t r = 0; r < ranks; ++r) {
      if (static_cast<int>(r) == me) continue;
      for (std::uint64_t done = 0; done < recv_bytes[r]; done += max_message_) {
        const auto count = static_cast<int>(std::min<std::uint64_t>(max_message_, recv_bytes[r] - done));
        requests.emplace_back();
        check_mpi(MPI_Irecv(recv + recv_offsets[r] + done, count, MPI_BYTE, static_cast<int>(r), kTag, raw(),
                            &requests.back()),
                  "MPI_Irecv");
      }
    }
    for (std::size_t r = 0; r < ranks; ++r) {
      if (static_cast<int>(r) == me) continue;
      for (std::uint64_t done = 0; done < send_bytes[r]; done += max_message_) {
        const auto count = static_cast<int>(std::min<std::uint64_t>(max_message_, send_bytes[r] - done));
        requests.emplace_back();
        check_mpi(MPI_Isend(send + send_offsets[r] + done, count, MPI_BYTE, static_cast<int>(r), kTag, raw(),
                            &requests.back()),
                  "MPI_Isend");
      }
    }
    const auto self = static_cast<std::size_t>(me);
    if (send_bytes[self] != 0) std::memcpy(recv + recv_offsets[self], send + send_offsets[self], send_bytes[self]);
    check_mpi(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  }

  boost::mpi::communicator comm_;
  std::size_t max_message_;
};

}  // namespace

void initialize_mpi(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes and become exceptions with MPI's message (check_mpi), instead of
  // MPI killing the job before mpiseg can say which rank failed and why.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

void finalize_mpi() {
  // HDF5 is shut down while MPI still works: a file whose close failed (a full disk) stays open
  // inside HDF5, and closing it from MPI_Finalize's clean-up hooks, after MPI's own teardown has
  // begun, crashes in H5F__close_cb.
  H5close();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void abort_job(int exit_code) noexcept {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

std::unique_ptr<Communicator> make_world_communicator(std::size_t max_message_bytes) {
  return std::make_unique<MpiCommunicator>(max_message_bytes);
}

}  // namespace mpiseg::comm
