#pragma once
/// Process-wide logging. Rank 0 prints progress; every rank may print errors and warnings that
/// concern only itself with a "[rank r]" prefix. Configure once in main:
///
///   log::configure(log::Level::info, comm.rank());
///   log::info("ingest: {} lines in {:.2f} s", n, seconds);   // rank 0 only
///   log::error_any_rank("cannot read {}", path);              // any rank, prefixed
#include <fmt/format.h>

#include <string_view>

namespace mpiseg::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

/// Parses "error", "warn", "info" or "debug"; throws ConfigError otherwise.
Level parse_level(std::string_view text);
void configure(Level level, int rank);
Level level() noexcept;
int rank() noexcept;

void write(Level level, bool any_rank, std::string_view message);

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info && rank() == 0) write(Level::info, false, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::debug && rank() == 0) write(Level::debug, false, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::warn && rank() == 0) write(Level::warn, false, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void error_any_rank(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::error, true, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mpiseg::log
