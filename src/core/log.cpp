#include "mpiseg/core/log.hpp"

#include <cstdio>
#include <string>

#include "mpiseg/core/error.hpp"

namespace mpiseg::log {
namespace {
Level g_level = Level::info;
int g_rank = 0;
}  // namespace

Level parse_level(std::string_view text) {
  if (text == "error") return Level::error;
  if (text == "warn") return Level::warn;
  if (text == "info") return Level::info;
  if (text == "debug") return Level::debug;
  throw ConfigError(fmt::format("unknown log level '{}' (expected error, warn, info or debug)", text));
}

void configure(Level level, int rank) {
  g_level = level;
  g_rank = rank;
}

Level level() noexcept { return g_level; }
int rank() noexcept { return g_rank; }

void write(Level level, bool any_rank, std::string_view message) {
  static constexpr const char* kNames[] = {"error", "warning", "", "debug"};
  std::string line;
  if (any_rank) line += fmt::format("[rank {}] ", g_rank);
  if (level != Level::info) line += fmt::format("{}: ", kNames[static_cast<int>(level)]);
  line += message;
  line += '\n';
  // One fwrite per line keeps lines from different ranks whole on a shared terminal.
  std::FILE* stream = level <= Level::warn ? stderr : stdout;
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fflush(stream);
}

}  // namespace mpiseg::log
