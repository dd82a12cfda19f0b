#pragma once
/// [input] (which transactions to read and how their columns map) and [ingest] (validation
/// policies, limits, store) of the job file. [input] format, the key that says whether the input
/// is transactions at all, belongs to pipeline/input.hpp (points for K-means are read there).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/field_parsers.hpp"

namespace mpiseg::ingest {

/// The transaction formats: line items, one basket per line, or an ingest store.
enum class InputFormat { csv, baskets, store };
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
  std::string path_pattern;                  // as written (a file or a glob)
  std::vector<std::filesystem::path> paths;  // matching files, sorted
  InputFormat format = InputFormat::csv;
  char delimiter = ',';
  bool header = true;
  std::int64_t field_count = 0;  // without a header: expected fields per line (0: do not check)
  Encoding encoding = Encoding::utf8;
  TimestampFormat timestamp_format = TimestampFormat::automatic;
  bool quoted_newlines = false;
  ColumnRef customer, basket, timestamp, item, quantity, price, description, country, category;
  BasketItems basket_items = BasketItems::integer;

  /// Reads and validates [input] for a transaction format (csv, baskets or store: any other
  /// format is a ConfigError); expands the glob (an error if nothing matches).
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
  std::uint64_t chunk_bytes = std::uint64_t{1} << 20;
  std::uint64_t max_record_bytes = std::uint64_t{1} << 20;
  std::uint64_t max_field_bytes = std::uint64_t{1} << 16;

  static IngestPolicy from_job(const JobConfig& job);
  friend bool operator==(const IngestPolicy&, const IngestPolicy&) = default;
};

std::span<const KeySpec> input_keys();
std::span<const KeySpec> ingest_keys();

/// [input] delimiter: one character other than a quote or a line break; `fallback` when empty.
char delimiter_from_job(const JobConfig& job, char fallback);

/// Files matching `pattern` (glob(3)), sorted; InputError if none.
std::vector<std::filesystem::path> expand_input_pattern(const std::string& pattern);

}  // namespace mpiseg::ingest
