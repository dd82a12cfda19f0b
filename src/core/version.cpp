#include "mpiseg/core/version.hpp"

namespace mpiseg {
namespace detail {
extern const char* const kGitRevision;
extern const char* const kVersion;
}  // namespace detail

const char* version() { return detail::kVersion; }
const char* git_revision() { return detail::kGitRevision; }
std::string version_line() { return std::string("mpiseg ") + version() + " (rev " + git_revision() + ")"; }
}  // namespace mpiseg
