#include "mpiseg/ingest/settings.hpp"

#include <array>
#include <glob.h>

#include <algorithm>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"

namespace mpiseg::ingest {
namespace {

constexpr KeySpec kInputKeys[] = {
    {"input", "path", ValueKind::string, "",
     "input file or glob (csv, baskets, store); for format = \"matrix\" a CSV file or FILE.h5:/dataset; for \"features\" a model file"},
    {"input", "format", ValueKind::string, "\"csv\"",
     "\"csv\" (line items), \"baskets\" (one basket per line), \"store\" (an ingest store), \"matrix\" (dense points for kmeans), \"features\" (a features/model file for kmeans)"},
    {"input", "delimiter", ValueKind::string, "\"\"",
     "field or item separator, one character; empty: ',' for csv and name baskets, ' ' for integer baskets"},
    {"input", "header", ValueKind::boolean, "true", "csv: the first line of every file names the columns"},
    {"input", "field_count", ValueKind::integer, "0", "csv without header: fields expected per line (0: not checked)"},
    {"input", "encoding", ValueKind::string, "\"utf-8\"", "\"utf-8\" (validated; a BOM is skipped) or \"latin-1\" (converted to UTF-8)"},
    {"input", "timestamp_format", ValueKind::string, "\"auto\"",
     "\"iso\" (YYYY-MM-DD HH:MM:SS), \"dmy\" (DD-MM-YYYY [HH:MM[:SS]]), \"mdy\" (M/D/YYYY H:MM), \"epoch\" (seconds), or \"auto\" (by the shape of each value)"},
    {"input", "quoted_newlines", ValueKind::boolean, "false",
     "false: every newline ends a record and a line with an odd number of quotes is rejected (quoted_newline); true: quoted fields may span lines (RFC 4180 quoting; a quote not closed within max_record_bytes costs its line only, reading resumes at the next line)"},
    {"input", "customer", ValueKind::string_or_integer, "\"CustomerID\"", "customer id column: header name or 0-based index"},
    {"input", "basket", ValueKind::string_or_integer, "\"InvoiceNo\"", "basket/invoice column"},
    {"input", "timestamp", ValueKind::string_or_integer, "\"InvoiceDate\"", "timestamp column"},
    {"input", "item", ValueKind::string_or_integer, "\"StockCode\"", "item code column"},
    {"input", "quantity", ValueKind::string_or_integer, "\"Quantity\"", "quantity column (integer)"},
    {"input", "price", ValueKind::string_or_integer, "\"UnitPrice\"", "unit price column"},
    {"input", "description", ValueKind::string_or_integer, "\"Description\"", "optional item description column (\"\": none)"},
    {"input", "country", ValueKind::string_or_integer, "\"Country\"", "optional country column (\"\": none)"},
    {"input", "category", ValueKind::string_or_integer, "\"\"", "optional item category column (\"\": none)"},
    {"input", "basket_items", ValueKind::string, "\"integer\"",
     "baskets: \"integer\" (FIMI: non-negative integers, trailing separators allowed) or \"name\" (names, never trimmed)"},
};

constexpr KeySpec kIngestKeys[] = {
    {"ingest", "store", ValueKind::string, "\"\"", "HDF5 transaction store written by `mpiseg ingest` (and by `run` when set)"},
    {"ingest", "missing_customer", ValueKind::string, "\"drop\"", "lines without customer id: \"drop\" (counted) or \"keep\" (flagged)"},
    {"ingest", "cancellations", ValueKind::string, "\"keep\"", "lines of cancellation invoices: \"keep\" (flagged) or \"drop\""},
    {"ingest", "cancellation_prefix", ValueKind::string, "\"C\"", "invoice prefix that marks a cancellation"},
    {"ingest", "negative_quantity", ValueKind::string, "\"keep\"", "\"keep\" (flagged as returns), \"drop\", or \"reject\" (counts as malformed)"},
    {"ingest", "nonpositive_price", ValueKind::string, "\"keep\"", "unit price <= 0: \"keep\" (flagged), \"drop\", or \"reject\""},
    {"ingest", "duplicates", ValueKind::string, "\"keep\"", "exact duplicate lines: \"keep\" (counted) or \"drop\" (one copy kept)"},
    {"ingest", "max_reject_fraction", ValueKind::number, "0.01",
     "the run fails when malformed lines exceed this share of data lines (policy drops do not count)"},
    {"ingest", "rejects_file", ValueKind::string, "\"\"", "CSV of sample rejected lines; empty: STORE.rejects.csv, else MODEL.rejects.csv, else rejects.csv"},
    {"ingest", "rejects_per_reason", ValueKind::integer, "20", "sample lines kept per reject reason"},
    {"ingest", "chunk_bytes", ValueKind::integer, "16777216", "bytes read per I/O call; memory for reading does not grow with file size"},
    {"ingest", "max_record_bytes", ValueKind::integer, "1048576", "longer lines are rejected (record_too_long) without being buffered"},
    {"ingest", "max_field_bytes", ValueKind::integer, "65536", "longer mapped fields are rejected (field_too_long)"},
};

ColumnRef column_ref(const JobConfig& job, std::string_view key) {
  ColumnRef ref;
  const IntOrString value = job.get_int_or_string("input", key);
  if (const auto* index = std::get_if<std::int64_t>(&value)) {
    if (*index < 0) throw ConfigError(fmt::format("{} must be a column name or a 0-based index", job.describe("input", key)));
    ref.index = *index;
  } else {
    ref.name = std::get<std::string>(value);
  }
  return ref;
}

PolicyAction action(const JobConfig& job, std::string_view key, bool allow_reject) {
  const std::string text = job.get_string("ingest", key);
  if (text == "keep") return PolicyAction::keep;
  if (text == "drop") return PolicyAction::drop;
  if (text == "reject" && allow_reject) return PolicyAction::reject;
  throw ConfigError(fmt::format("{} must be \"keep\", \"drop\"{}, got \"{}\"", job.describe("ingest", key),
                                allow_reject ? " or \"reject\"" : "", text));
}

}  // namespace

std::span<const KeySpec> input_keys() { return kInputKeys; }
std::span<const KeySpec> ingest_keys() { return kIngestKeys; }

char delimiter_from_job(const JobConfig& job, char fallback) {
  const std::string delimiter = job.get_string("input", "delimiter");
  if (delimiter.size() > 1 || delimiter == "\"" || delimiter == "\n" || delimiter == "\r")
    throw ConfigError(fmt::format("{} must be one character other than a quote or line break", job.describe("input", "delimiter")));
  return delimiter.empty() ? fallback : delimiter[0];
}

std::vector<std::filesystem::path> expand_input_pattern(const std::string& pattern) {
  glob_t matches{};
  const int status = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
  std::vector<std::filesystem::path> paths;
  if (status == 0)
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
  globfree(&matches);
  if (paths.empty()) throw InputError(fmt::format("[input] path: no file matches '{}'", pattern));
  // Every match is read: one that cannot be (a FIFO, a directory, a dangling link) is an error,
  // never silently left out of the data.
  for (const auto& path : paths) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status))
      throw InputError(fmt::format("[input] path: '{}' (matched by '{}') does not exist (a dangling symbolic link?)", path.string(), pattern));
    if (!std::filesystem::is_regular_file(status))
      throw InputError(fmt::format("[input] path: '{}' (matched by '{}') is not a regular file ({})", path.string(), pattern,
                                   std::filesystem::is_directory(status) ? "a directory" : "a FIFO, socket or device"));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

InputSettings InputSettings::from_job(const JobConfig& job) {
  InputSettings settings;
  settings.format = job.get_choice("input", "format",
                                   std::array<Choice<InputFormat>, 3>{{{"csv", InputFormat::csv},
                                                                       {"baskets", InputFormat::baskets},
                                                                       {"store", InputFormat::store}}});
  settings.basket_items = job.get_choice(
      "input", "basket_items", std::array<Choice<BasketItems>, 2>{{{"integer", BasketItems::integer}, {"name", BasketItems::name}}});

  settings.delimiter =
      delimiter_from_job(job, settings.format == InputFormat::baskets && settings.basket_items == BasketItems::integer ? ' ' : ',');

  settings.header = job.get_bool("input", "header");
  settings.field_count = job.get_int("input", "field_count");
  const std::string encoding = job.get_string("input", "encoding");
  if (encoding == "utf-8" || encoding == "utf8") settings.encoding = Encoding::utf8;
  else if (encoding == "latin-1" || encoding == "latin1" || encoding == "iso-8859-1") settings.encoding = Encoding::latin1;
  else throw ConfigError(fmt::format("{} must be \"utf-8\" or \"latin-1\"", job.describe("input", "encoding")));
  const auto timestamp_format = parse_timestamp_format(job.get_string("input", "timestamp_format"));
  if (!timestamp_format)
    throw ConfigError(fmt::format("{} must be auto, iso, dmy, mdy or epoch", job.describe("input", "timestamp_format")));
  settings.timestamp_format = *timestamp_format;
  settings.quoted_newlines = job.get_bool("input", "quoted_newlines");
  settings.customer = column_ref(job, "customer");
  settings.basket = column_ref(job, "basket");
  settings.timestamp = column_ref(job, "timestamp");
  settings.item = column_ref(job, "item");
  settings.quantity = column_ref(job, "quantity");
  settings.price = column_ref(job, "price");
  settings.description = column_ref(job, "description");
  settings.country = column_ref(job, "country");
  settings.category = column_ref(job, "category");
  if (settings.format == InputFormat::csv) {
    for (const auto& [ref, key] : {std::pair{&settings.customer, "customer"}, {&settings.basket, "basket"},
                                   {&settings.timestamp, "timestamp"}, {&settings.item, "item"},
                                   {&settings.quantity, "quantity"}, {&settings.price, "price"}})
      if (!ref->mapped()) throw ConfigError(fmt::format("{} must name a column", job.describe("input", key)));
  }
  if (!job.has("input", "path")) throw ConfigError(fmt::format("{}: missing required key [input] path", job.origin()));
  settings.path_pattern = job.get_string("input", "path");
  settings.paths = expand_input_pattern(settings.path_pattern);
  return settings;
}

IngestPolicy IngestPolicy::from_job(const JobConfig& job) {
  IngestPolicy policy;
  policy.missing_customer = action(job, "missing_customer", false);
  policy.cancellations = action(job, "cancellations", false);
  policy.negative_quantity = action(job, "negative_quantity", true);
  policy.nonpositive_price = action(job, "nonpositive_price", true);
  policy.duplicates = action(job, "duplicates", false);
  policy.cancellation_prefix = job.get_string("ingest", "cancellation_prefix");
  policy.max_reject_fraction = job.get_number("ingest", "max_reject_fraction");
  if (!(policy.max_reject_fraction >= 0 && policy.max_reject_fraction <= 1))
    throw ConfigError(fmt::format("{} must be in [0, 1]", job.describe("ingest", "max_reject_fraction")));
  const auto positive = [&](std::string_view key) { return static_cast<std::uint64_t>(job.get_int_in("ingest", key, 1)); };
  policy.rejects_per_reason = static_cast<std::uint64_t>(std::max<std::int64_t>(0, job.get_int("ingest", "rejects_per_reason")));
  policy.chunk_bytes = positive("chunk_bytes");
  policy.max_record_bytes = positive("max_record_bytes");
  policy.max_field_bytes = positive("max_field_bytes");
  policy.rejects_file = job.get_string("ingest", "rejects_file");
  policy.store = job.get_string("ingest", "store");
  return policy;
}

}  // namespace mpiseg::ingest
