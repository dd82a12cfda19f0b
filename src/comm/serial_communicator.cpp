#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/posix_file.hpp"
#include "mpiseg/core/error.hpp"

namespace mpiseg::comm {
namespace {

class SerialSharedFileWriter final : public SharedFileWriter {
 public:
  explicit SerialSharedFileWriter(std::filesystem::path path)
      : path_(std::move(path)), temporary_(temporary_path_for(path_)), file_(temporary_, O_WRONLY | O_CREAT | O_TRUNC) {}

  ~SerialSharedFileWriter() override {
    if (!committed_) std::filesystem::remove(temporary_, ignored_);
  }

  void write_at_all(std::uint64_t offset, std::span<const std::byte> data) override {
    file_.write_at(offset, data);
  }

  void commit() override {
    file_.sync();
    file_.close();
    rename_into_place(temporary_, path_);
    committed_ = true;
  }

 private:
  std::filesystem::path path_;
  std::filesystem::path temporary_;
  PosixFile file_;
  bool committed_ = false;
  std::error_code ignored_;
};

class SerialCommunicator final : public Communicator {
 public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  void barrier() override {}
  std::unique_ptr<SharedFileWriter> create_shared_file(const std::filesystem::path& path) override {
    return std::make_unique<SerialSharedFileWriter>(path);
  }
  void configure_hdf5_file_access(std::int64_t) const override {}
  bool uses_parallel_hdf5() const noexcept override { return false; }

 protected:
  void do_allreduce(void*, std::size_t, ScalarType, ReduceOp) override {}
  void do_broadcast(void*, std::size_t, int) override {}
  void do_allgather(const void* send, std::size_t bytes, void* recv) override { copy(recv, send, bytes); }
  void do_allgatherv(const void* send, std::size_t bytes, void* recv, std::span<const std::uint64_t>) override {
    copy(recv, send, bytes);
  }
  void do_alltoall(const void* send, std::size_t bytes_each, void* recv) override { copy(recv, send, bytes_each); }
  void do_alltoallv(const void* send, std::span<const std::uint64_t> send_bytes, void* recv,
                    std::span<const std::uint64_t>) override {
    copy(recv, send, send_bytes[0]);
  }

 private:
  static void copy(void* to, const void* from, std::size_t bytes) {
    if (bytes != 0) std::memcpy(to, from, bytes);
  }
};

}  // namespace

std::unique_ptr<Communicator> make_serial_communicator() { return std::make_unique<SerialCommunicator>(); }

}  // namespace mpiseg::comm
