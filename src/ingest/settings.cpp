#include "mpiseg/ingest/settings.hpp"

#include <array>
#include <glob.h>

#include <algorithm>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/ingest/keys.toml

namespace mpiseg::ingest {
namespace {

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

std::span<const KeySpec> input_keys() { return module_keys().section("input"); }
std::span<const KeySpec> ingest_keys() { return module_keys().section("ingest"); }

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
