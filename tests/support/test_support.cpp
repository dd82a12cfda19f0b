#include "support/test_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace mpiseg::testing {

std::optional<std::filesystem::path> shared_data_dir() {
  const char* from_environment = std::getenv("MPISEG_SHARED_DATA");
  const std::filesystem::path path = from_environment != nullptr ? from_environment : MPISEG_DEFAULT_SHARED_DATA;
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return path;
  return std::nullopt;
}

boost::test_tools::assertion_result shared_data_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(shared_data_dir().has_value());
  if (!result) {
    constexpr const char* kWhy = "SKIPPED: the real datasets (../shared/data beside the checkout, or $MPISEG_SHARED_DATA) are absent";
    result.message() << kWhy;
    std::fprintf(stderr, "%s\n", kWhy);
  }
  return result;
}

ScratchDir::ScratchDir(comm::Communicator& comm) : comm_(comm) {
  std::vector<char> name(4096, '\0');
  if (comm.rank() == 0) {
    std::string pattern = (std::filesystem::temp_directory_path() / "mpiseg-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    std::copy(pattern.begin(), pattern.end(), name.begin());
  }
  comm.broadcast(std::span(name), 0);
  path_ = name.data();
}

ScratchDir::~ScratchDir() {
  comm_.barrier();
  if (comm_.rank() == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

}  // namespace mpiseg::testing
