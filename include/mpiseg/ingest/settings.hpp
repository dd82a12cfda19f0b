#pragma once
/// [input] (what to read and how its columns map) and [ingest] (validation policies, limits,
/// store) of the job file.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/field_parsers.hpp"

namespace mpiseg::ingest {

enum class InputFormat { csv, baskets, store, matrix, features };
enum class Encoding { utf8, latin1 };
enum class BasketItems { integer, name };

/// A column named in the header or given by 0-based index; unmapped when empty.
struct ColumnRef {
  std::string name;
  std::int64_t index = -1;
  bool mapped() const noexcept { return index >= 0 || !name.empty(); }
  std::string describe() const { return index >= 0 ? "column " + std::to_string(index) : "column '" + name + "'"; }
};

struct InputSettings {
  std::string path_pattern;                  // as written (file, glob, or file.h5:/dataset for matrices)
  std::vector<std::filesystem::path> paths;  // matching files, sorted (csv, baskets, store)
  InputFormat format = InputFormat::csv;
  char delimiter = ',';
  bool header = true;
  std::int64_t field_count = 0;  // without a header: expected fields per line (0: do not check)
  Encoding encoding = Encoding::utf8;
  TimestampFormat timestamp_format = TimestampFormat::automatic;
  bool quoted_newlines = false;
  ColumnRef customer, basket, timestamp, item, quantity, price, description, country, category;
  BasketItems basket_items = BasketItems::integer;
  std::string key_column;     // matrix input
  std::string weight_column;  // matrix input

  /// Reads and validates [input]; expands the glob for file formats (an error if nothing matches).
  static InputSettings from_job(const JobConfig& job);
};

enum class PolicyAction { keep, drop, reject };

struct IngestPolicy {
  PolicyAction missing_customer = PolicyAction::drop;
  PolicyAction cancellations = PolicyAction::keep;
  PolicyAction negative_quantity = PolicyAction::keep;
  PolicyAction nonpositive_price = PolicyAction::keep;
  PolicyAction duplicates = PolicyAction::keep;
  std::string cancellation_prefix = "C";
  double max_reject_fraction = 0.01;
  std::uint64_t rejects_per_reason = 20;
  std::filesystem::path rejects_file;  // empty: beside the store or model
  std::filesystem::path store;         // where `mpiseg ingest` writes the store
  std::uint64_t chunk_bytes = std::uint64_t{16} << 20;
  std::uint64_t max_record_bytes = std::uint64_t{1} << 20;
  std::uint64_t max_field_bytes = std::uint64_t{1} << 16;

  static IngestPolicy from_job(const JobConfig& job);
  friend bool operator==(const IngestPolicy&, const IngestPolicy&) = default;
};

std::span<const KeySpec> input_keys();
std::span<const KeySpec> ingest_keys();

/// Files matching `pattern` (glob(3)), sorted; InputError if none.
std::vector<std::filesystem::path> expand_input_pattern(const std::string& pattern);

}  // namespace mpiseg::ingest
