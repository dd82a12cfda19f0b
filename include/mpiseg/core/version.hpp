#pragma once
#include <string>

namespace mpiseg {
/// Semantic version of this build, e.g. "0.1.0".
const char* version();
/// `git describe --always --dirty` of the source tree at build time, or "unknown".
const char* git_revision();
/// "mpiseg 0.1.0 (rev abc123)".
std::string version_line();
}  // namespace mpiseg
