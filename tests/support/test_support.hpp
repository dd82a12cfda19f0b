#pragma once
// Helpers shared by mpiseg's tests.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::testing {

/// The world communicator of an MPI test executable (set up by the global fixture).
comm::Communicator& world();

/// ../shared/data (or $MPISEG_SHARED_DATA) if it exists.
std::optional<std::filesystem::path> shared_data_dir();

/// Boost.Test precondition: skips a test, with a message saying why, when the real datasets
/// are not beside the checkout. Use as *boost::unit_test::precondition(shared_data_available).
boost::test_tools::assertion_result shared_data_available(boost::unit_test::test_unit_id);

/// A temporary directory that every rank agrees on (rank 0 creates it and broadcasts the
/// name); removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(comm::Communicator& comm);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  comm::Communicator& comm_;
  std::filesystem::path path_;
};

/// Reads a whole file as bytes.
std::string read_file(const std::filesystem::path& path);

}  // namespace mpiseg::testing
