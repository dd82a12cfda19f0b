#pragma once
/// Error types. Every failure mpiseg reports to a user is one of these; the message names the
/// thing that was wrong (file, key, line) so the user can act without reading the source.
///
///   throw ConfigError(fmt::format("{}: unknown key [{}] {}", file, section, key));
#include <stdexcept>
#include <string>

namespace mpiseg {

/// Base of all mpiseg errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A job file or command-line setting is missing, unknown or has the wrong type or value.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// Input data cannot be used (unreadable file, too many rejected rows, bad matrix values).
class InputError : public Error {
 public:
  using Error::Error;
};

/// HDF5 or file-system failure; carries the library's own message.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Another rank failed; this rank stops too so that no rank waits forever in a collective.
class PeerFailure : public Error {
 public:
  using Error::Error;
};

/// A configured limit (itemset count, memory guard) was reached; the run stops cleanly.
class LimitExceeded : public Error {
 public:
  using Error::Error;
};

/// The run stopped on request after writing a checkpoint (core/interrupt.hpp); thrown on every
/// rank at the same point, it ends the run with kExitCheckpointed.
class Checkpointed : public Error {
 public:
  using Error::Error;
};

}  // namespace mpiseg
