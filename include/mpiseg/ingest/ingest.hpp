#pragma once
/// The ingest stage: parallel, validated, dictionary-coded reading of line items (CSV) or
/// baskets (one basket per line), with every line accounted for.
///
///   auto result = ingest::read_input(settings, policy, "run.rejects.csv", comm);
///   // result.rows: this rank's customers (all their lines), sorted; result.accounting: global
///
/// Each file is split into byte ranges over the ranks (the concatenation of all input files is
/// divided evenly); every rank preads its range in chunks of [ingest] chunk_bytes. Item codes
/// become dense ids in byte order of the codes, so ids (and everything built on them) do not
/// depend on the rank count. Numeric customer and invoice ids are kept as numbers (17850.0 ->
/// 17850); other ids are hashed to 63-bit keys, with a global check that no two distinct ids
/// share a key.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/ingest/accounting.hpp"
#include "mpiseg/ingest/line_items.hpp"
#include "mpiseg/ingest/settings.hpp"

namespace mpiseg::ingest {

struct InputFileInfo {
  std::string path;
  std::uint64_t size = 0;
  std::int64_t modified = 0;  // seconds since 1970 (UTC)
};

/// What reading the line items cost; the pipeline keeps it with the stage's costs in the model.
struct ReadStatistics {
  std::uint64_t rows = 0;          // global
  std::uint64_t memory_bytes = 0;  // the rows in memory, all ranks
  std::uint64_t parsed_bytes = 0;  // text parsed (compressed files: decompressed), all ranks; 0 for a store
  double parse_seconds = 0;        // reading and parsing the text, slowest rank
  double seconds = 0;              // the whole read (parse, exchange, dictionaries; or the store read), slowest rank
};

struct IngestResult {
  /// Line items: partitioned by customer and sorted (see line_items.hpp). Basket files: one row
  /// per item occurrence (basket = position of the line, item; no other columns), in file order
  /// (the same at any rank count).
  LineItems rows;
  ItemDictionary items;
  std::vector<std::string> countries;
  CustomerNames customer_names;
  Accounting accounting;  // global (identical on every rank)
  std::vector<InputFileInfo> inputs;
  bool has_country = false;
  bool has_category = false;
  ReadStatistics statistics;

  bool from_basket_file() const noexcept { return rows.baskets_only; }
};

/// Collective. Reads [input] path (csv or baskets) under `policy`, writes sample rejects to
/// `rejects_path` when any line is rejected, and throws InputError (on every rank) when the
/// malformed share exceeds policy.max_reject_fraction.
IngestResult read_input(const InputSettings& settings, const IngestPolicy& policy,
                        const std::filesystem::path& rejects_path, comm::Communicator& comm);

/// The period the line items of all ranks cover: the first and last timestamp (first > last when
/// there is no line anywhere), and the data's end, midnight after the last line, which the
/// features' default reference date and the time splits measure from.
struct LineSpan {
  std::uint32_t first = ~std::uint32_t{0};
  std::uint32_t last = 0;
  bool empty() const noexcept { return first > last; }
  std::int64_t data_end() const noexcept;
};
/// Collective.
LineSpan line_span(const LineItems& rows, comm::Communicator& comm);

/// Size and modification time of each input file (for provenance).
std::vector<InputFileInfo> describe_inputs(const std::vector<std::filesystem::path>& paths);

/// Sorts this rank's rows canonically (customer, time, basket, item, quantity, price, country,
/// flags) and returns the number of rows that repeat the previous row exactly.
std::uint64_t sort_rows_and_count_duplicates(LineItems& rows);

}  // namespace mpiseg::ingest
