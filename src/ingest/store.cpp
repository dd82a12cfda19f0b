#include "mpiseg/ingest/store.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/core/version.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::ingest {
namespace {

constexpr const char* kRowOrder = "customer, time, basket, item, quantity, price, country, flags";
constexpr const char* kFlagMeaning =
    "bit 0 (1): cancellation invoice; bit 1 (2): return (quantity < 0); bit 2 (4): unit price <= 0; bit 3 (8): no customer id";

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

/// First row index >= nominal where the key changes (or `rows`), found by reading growing
/// windows of the key column; collective.
std::uint64_t boundary_at(const h5::Group& group, const char* key_column, std::uint64_t nominal, std::uint64_t rows,
                          comm::Communicator& comm) {
  bool resolved = nominal == 0 || nominal >= rows;
  std::uint64_t boundary = nominal >= rows ? rows : nominal;
  std::uint64_t window = 4096, from = nominal == 0 ? 0 : nominal - 1;
  for (;;) {
    if (!comm::any_rank(comm, !resolved)) break;
    const std::uint64_t count = resolved ? 0 : std::min(window, rows - from);
    const auto keys = h5::read_rows<std::uint64_t>(group, key_column, resolved ? 0 : from, count);
    if (!resolved) {
      std::uint64_t found = rows;
      for (std::uint64_t i = 1; i < keys.size(); ++i)
        if (keys[i] != keys[i - 1]) {
          found = from + i;
          break;
        }
      if (found < rows || from + count >= rows) {
        boundary = found;
        resolved = true;
      } else {
        from += count - 1;
        window *= 2;
      }
    }
  }
  return boundary;
}

}  // namespace

void write_store(const std::filesystem::path& path, const IngestResult& result, const std::string& settings_toml,
                 comm::Communicator& comm) {
  const Stopwatch watch;
  auto file = h5::File::create(path, comm);
  h5::Group root = file.root();
  root.write_attribute("schema", "mpiseg-store");
  root.write_attribute("schema_version", kStoreSchemaVersion);
  // Rank 0's clock names the file's creation time; every rank writes the same attribute.
  std::vector<char> created(32, '\0');
  const std::string now = utc_now();
  std::copy(now.begin(), now.end(), created.begin());
  comm.broadcast(std::span(created), 0);
  root.write_attribute("created", std::string(created.data()));
  root.write_attribute("tool_version", version());
  root.write_attribute("git_revision", git_revision());
  root.write_attribute("rank_count", static_cast<std::int64_t>(comm.size()));
  root.write_attribute("source_format", result.from_basket_file() ? "baskets" : "csv");
  root.write_attribute("row_order", result.from_basket_file() ? "file order (basket = file position of its line)" : kRowOrder);
  root.write_attribute("settings", settings_toml);

  const LineItems& rows = result.rows;
  h5::Group lines = root.create_group("lineitems");
  rows.for_each_named_column([&](std::string_view name, const auto& column) {
    if (name != "country" || result.has_country) h5::write_rows(lines, name, column);
  });
  lines.write_dataset_attribute("basket", "meaning",
                                result.from_basket_file() ? "file index * 2^44 + byte offset of the basket's line"
                                                          : "numeric invoice id, or 2^63 + hash of a non-numeric one");
  lines.write_dataset_attribute("item", "meaning", "index into /items");
  if (!result.from_basket_file()) {
    lines.write_dataset_attribute("time", "units", "seconds since 1970-01-01 00:00:00, local time as written in the input");
    lines.write_dataset_attribute("customer", "meaning",
                                  "numeric customer id, or 2^63 + hash of a non-numeric id (see /customers), 2^64-1: none");
    lines.write_dataset_attribute("flags", "meaning", kFlagMeaning);
  }

  h5::Group items = root.create_group("items");
  h5::write_strings(items, "code", result.items.code);
  h5::write_strings(items, "description", result.items.description);
  if (result.has_category) h5::write_strings(items, "category", result.items.category);
  h5::write_replicated(items, "first_seen", result.items.first_seen);
  if (result.has_country) {
    h5::Group countries = root.create_group("countries");
    h5::write_strings(countries, "name", result.countries);
  }

  h5::Group customers = root.create_group("customers");
  h5::write_rows(customers, "key", result.customer_names.key);
  // Names are distributed like the keys; strings are written replicated, so gather them.
  const std::vector<std::string> names = comm::allgather_strings(result.customer_names.name, comm);
  h5::write_strings(customers, "name", names);

  write_accounting(root, result.accounting);

  write_input_files(root, result.inputs);
  file.commit();
  log::info("ingest: store {} written in {:.2f} s", path.string(), watch.seconds());
}

void write_accounting(h5::Group& parent, const Accounting& accounting) {
  h5::Group group = parent.create_group("accounting");
  group.write_attribute("lines_read", static_cast<std::int64_t>(accounting.lines_read));
  group.write_attribute("header", static_cast<std::int64_t>(accounting.header));
  group.write_attribute("blank", static_cast<std::int64_t>(accounting.blank));
  group.write_attribute("accepted", static_cast<std::int64_t>(accounting.accepted));
  group.write_attribute("rejected", static_cast<std::int64_t>(accounting.rejected_total()));
  group.write_attribute("malformed", static_cast<std::int64_t>(accounting.malformed_total()));
  group.write_attribute("cancellation_lines", static_cast<std::int64_t>(accounting.cancellation_lines));
  group.write_attribute("return_lines", static_cast<std::int64_t>(accounting.return_lines));
  group.write_attribute("nonpositive_price_lines", static_cast<std::int64_t>(accounting.nonpositive_price_lines));
  group.write_attribute("missing_customer_lines", static_cast<std::int64_t>(accounting.missing_customer_lines));
  group.write_attribute("duplicate_lines", static_cast<std::int64_t>(accounting.duplicate_lines));
  group.write_attribute("item_occurrences", static_cast<std::int64_t>(accounting.item_occurrences));
  std::vector<std::string> reasons, explanations;
  std::vector<std::uint64_t> counts;
  std::vector<std::uint8_t> malformed;
  for (std::size_t r = 0; r < kReasonCount; ++r) {
    reasons.emplace_back(reason_name(static_cast<RejectReason>(r)));
    explanations.emplace_back(reason_explanation(static_cast<RejectReason>(r)));
    counts.push_back(accounting.rejected[r]);
    malformed.push_back(accounting.malformed[r] ? 1 : 0);
  }
  h5::write_strings(group, "reason", reasons);
  h5::write_strings(group, "explanation", explanations);
  h5::write_replicated(group, "count", counts);
  h5::write_replicated(group, "malformed", malformed);
  group.write_dataset_attribute("count", "meaning", "lines rejected for each reason (malformed: 1 for malformed input, 0 for a policy)");
}

void write_input_files(h5::Group& parent, const std::vector<InputFileInfo>& inputs) {
  h5::Group group = parent.create_group("inputs");
  h5::write_columns(group, inputs, h5::Column{"path", &InputFileInfo::path}, h5::Column{"size", &InputFileInfo::size},
                    h5::Column{"modified", &InputFileInfo::modified});
  group.write_dataset_attribute("size", "units", "bytes");
  group.write_dataset_attribute("modified", "units", "seconds since 1970-01-01 UTC");
}

IngestResult read_store(const std::filesystem::path& path, comm::Communicator& comm) {
  const Stopwatch watch;
  auto file = h5::File::open(path, comm);
  h5::Group root = file.root();
  if (!root.has_attribute("schema") || root.read_string_attribute("schema") != "mpiseg-store")
    throw InputError(fmt::format("'{}' is not an mpiseg store (no schema = \"mpiseg-store\" attribute)", path.string()));
  const std::int64_t version = root.read_int_attribute("schema_version");
  if (version < kOldestStoreSchemaVersion || version > kStoreSchemaVersion)
    throw InputError(fmt::format("'{}' has store schema_version {}; this mpiseg reads versions {} to {}", path.string(), version,
                                 kOldestStoreSchemaVersion, kStoreSchemaVersion));
  IngestResult result;
  // Version 1 stored made-up customer, time, quantity and price columns for basket files too;
  // they are not read.
  result.rows.baskets_only = root.read_string_attribute("source_format") == "baskets";
  h5::Group lines = root.open_group("lineitems");
  result.has_country = lines.exists("country");

  const std::uint64_t rows = h5::dataset_shape(lines, "item").at(0);
  const h5::RowRange nominal = h5::even_split(rows, comm.rank(), comm.size());
  const char* key_column = result.from_basket_file() ? "basket" : "customer";
  const std::uint64_t begin = boundary_at(lines, key_column, nominal.begin, rows, comm);
  const std::vector<std::uint64_t> begins = comm.allgather(begin);
  const std::uint64_t end = comm.rank() + 1 < comm.size() ? begins[static_cast<std::size_t>(comm.rank() + 1)] : rows;
  const std::uint64_t count = end - begin;

  LineItems& table = result.rows;
  table.for_each_named_column([&](std::string_view name, auto& column) {
    using Value = typename std::decay_t<decltype(column)>::value_type;
    column = name == "country" && !result.has_country ? std::vector<Value>(count, 0) : h5::read_rows<Value>(lines, name, begin, count);
  });

  h5::Group items = root.open_group("items");
  result.items.code = h5::read_strings(items, "code");
  result.items.description = h5::read_strings(items, "description");
  result.has_category = items.exists("category");
  result.items.category = result.has_category ? h5::read_strings(items, "category")
                                              : std::vector<std::string>(result.items.code.size());
  result.items.first_seen = h5::read_all<std::uint32_t>(items, "first_seen");
  if (result.has_country) result.countries = h5::read_strings(root.open_group("countries"), "name");

  h5::Group customers = root.open_group("customers");
  const auto keys = h5::read_all<std::uint64_t>(customers, "key");
  const auto names = h5::read_strings(customers, "name");
  if (!table.customer.empty()) {
    const std::uint64_t low = table.customer.front(), high = table.customer.back();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] >= low && keys[i] <= high) {
        result.customer_names.key.push_back(keys[i]);
        result.customer_names.name.push_back(names[i]);
      }
    }
  }

  h5::Group accounting = root.open_group("accounting");
  Accounting& totals = result.accounting;
  totals.lines_read = static_cast<std::uint64_t>(accounting.read_int_attribute("lines_read"));
  totals.header = static_cast<std::uint64_t>(accounting.read_int_attribute("header"));
  totals.blank = static_cast<std::uint64_t>(accounting.read_int_attribute("blank"));
  totals.accepted = static_cast<std::uint64_t>(accounting.read_int_attribute("accepted"));
  totals.cancellation_lines = static_cast<std::uint64_t>(accounting.read_int_attribute("cancellation_lines"));
  totals.return_lines = static_cast<std::uint64_t>(accounting.read_int_attribute("return_lines"));
  totals.nonpositive_price_lines = static_cast<std::uint64_t>(accounting.read_int_attribute("nonpositive_price_lines"));
  totals.missing_customer_lines = static_cast<std::uint64_t>(accounting.read_int_attribute("missing_customer_lines"));
  totals.duplicate_lines = static_cast<std::uint64_t>(accounting.read_int_attribute("duplicate_lines"));
  totals.item_occurrences = static_cast<std::uint64_t>(accounting.read_int_attribute("item_occurrences"));
  const auto reasons = h5::read_strings(accounting, "reason");
  const auto counts = h5::read_all<std::uint64_t>(accounting, "count");
  const auto malformed = h5::read_all<std::uint8_t>(accounting, "malformed");
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    for (std::size_t r = 0; r < kReasonCount; ++r) {
      if (reason_name(static_cast<RejectReason>(r)) == reasons[i]) {
        totals.rejected[r] = counts.at(i);
        totals.malformed[r] = malformed.at(i) != 0;
      }
    }
  }

  h5::Group inputs = root.open_group("inputs");
  const auto paths = h5::read_strings(inputs, "path");
  const auto sizes = h5::read_all<std::uint64_t>(inputs, "size");
  const auto modified = h5::read_all<std::int64_t>(inputs, "modified");
  for (std::size_t i = 0; i < paths.size(); ++i) result.inputs.push_back(InputFileInfo{paths[i], sizes.at(i), modified.at(i)});
  file.close();

  ReadStatistics& statistics = result.statistics;
  statistics.rows = rows;
  statistics.memory_bytes = comm.allreduce<std::uint64_t>(table.memory_bytes(), comm::ReduceOp::sum);
  statistics.seconds = comm.allreduce(watch.seconds(), comm::ReduceOp::max);
  log::info("store: {} rows from {} in {:.2f} s ({:.2f} GB/s)", rows, path.string(), statistics.seconds,
            static_cast<double>(statistics.memory_bytes) / 1e9 / std::max(statistics.seconds, 1e-9));
  return result;
}

}  // namespace mpiseg::ingest
