#pragma once
/// `mpiseg generate`: line items in the UCI Online Retail CSV schema with planted truth.
///
/// Customers are generated in fixed blocks of kCustomersPerBlock; block b goes to rank b mod P
/// and every block's bytes are a pure function of (settings, b). Blocks are written in block
/// order at offsets agreed by an allgather of block sizes, so the output file is byte-identical
/// for any number of ranks.
#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/generate/catalogue.hpp"

namespace mpiseg::generate {

inline constexpr std::uint64_t kCustomersPerBlock = 256;
inline constexpr std::string_view kHeader = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

/// Deliberately malformed lines, named after the ingest reject reason each must produce.
inline constexpr std::array<std::string_view, 7> kMalformedKinds = {
    "bad_quantity", "bad_price", "bad_timestamp", "field_count", "invalid_encoding", "missing_item", "nul_byte"};

struct GeneratorSettings {
  CatalogueSettings catalogue;
  std::uint64_t customers = 10000;
  std::uint64_t line_items = 1000000;
  std::int64_t start_seconds = days_from_civil(2010, 12, 1) * kSecondsPerDay;  // start_date at midnight
  double missing_customer_rate = 0.1;
  double return_rate = 0.03;
  double malformed_rate = 0.0;
  std::filesystem::path output = "line_items.csv";
  std::filesystem::path truth = "truth.h5";
  bool file_per_rank = false;

  /// Reads and validates [generate]; ConfigError names the offending key.
  static GeneratorSettings from_job(const JobConfig& job);
  friend bool operator==(const GeneratorSettings&, const GeneratorSettings&) = default;
};

/// The [generate] keys of the job file.
std::span<const KeySpec> generate_keys();

/// What was written, summed over all ranks.
struct GenerationCounts {
  std::uint64_t lines = 0;  // data lines (the header excluded)
  std::uint64_t bytes = 0;
  std::uint64_t customers = 0;
  std::uint64_t baskets = 0;                 // purchase invoices
  std::uint64_t cancellation_lines = 0;      // lines of 'C' invoices
  std::uint64_t missing_customer_lines = 0;  // well-formed lines without CustomerID
  std::array<std::uint64_t, kMalformedKinds.size()> malformed{};
  std::uint64_t malformed_total() const;
};

/// Collective. Writes settings.output (and settings.truth when set) and returns the counts.
GenerationCounts generate_line_items(const GeneratorSettings& settings, comm::Communicator& comm);

/// The CustomerID value of generated customer `index` (also the key after ingest).
constexpr std::uint64_t generated_customer_id(std::uint64_t index) noexcept { return 12346 + index; }

}  // namespace mpiseg::generate
