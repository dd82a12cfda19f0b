#include "mpiseg/pipeline/points.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/ingest/compressed_input.hpp"
#include "mpiseg/ingest/field_parsers.hpp"
#include "mpiseg/ingest/record_reader.hpp"
#include "mpiseg/ingest/settings.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/stage_groups.hpp"
#include "mpiseg/model/model_file.hpp"
#include "keys_toml.hpp"  // module_keys(): src/pipeline/keys.toml

namespace mpiseg::pipeline {
namespace {

PointTable load_csv_matrix(const PointInputSettings& settings, const ingest::IngestPolicy& policy, comm::Communicator& comm) {
  const std::vector<std::filesystem::path> paths = ingest::expand_input_pattern(settings.path);
  if (paths.size() != 1)
    throw ConfigError(fmt::format("[input] path: a matrix is one file, '{}' matches {}", settings.path, paths.size()));
  const auto& path = paths.front();
  const ingest::Compression compression = ingest::detect_compression(path);
  if (compression != ingest::Compression::none)
    throw InputError(fmt::format("{}: a {}-compressed matrix is not read (line items and basket files are); decompress it first",
                                 path.string(), ingest::compression_name(compression)));
  PosixFile file(path, O_RDONLY);
  const std::uint64_t size = file.size();
  const h5::RowRange bytes = h5::even_split(size, comm.rank(), comm.size());
  const bool keyed = !settings.key_column.empty(), weighted = !settings.weight_column.empty();
  const std::size_t leading = (keyed ? 1 : 0) + (weighted ? 1 : 0);
  PointTable table;
  std::vector<std::string_view> fields;
  std::string scratch;
  std::size_t min_cols = std::numeric_limits<std::size_t>::max(), max_cols = 0;
  comm::collectively(comm, "reading the matrix", [&] {
    ingest::RecordReader reader(file, size, bytes.begin, bytes.end, ingest::ReaderLimits{policy.chunk_bytes, policy.max_record_bytes, false});
    reader.for_each([&](const ingest::Record& record) {
      std::string_view text = record.text;
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.empty()) return;
      auto fail = [&](const std::string& why) {
        throw InputError(fmt::format("{}: line at byte {}: {}", path.string(), record.offset, why));
      };
      if (record.too_long) fail("longer than [ingest] max_record_bytes");
      if (!ingest::split_fields(text, settings.delimiter == ' ' ? ',' : settings.delimiter, fields, scratch)) fail("unbalanced quotes");
      if (fields.size() <= leading) fail("no coordinates");
      if (keyed) {
        const auto key = ingest::parse_numeric_key(fields[0]);
        if (!key) fail(fmt::format("key '{}' is not a non-negative integer", fields[0]));
        table.keys.push_back(*key);
      }
      if (weighted) {
        const auto weight = ingest::parse_decimal(fields[keyed ? 1 : 0]);
        if (!weight || *weight < 0) fail(fmt::format("weight '{}' is not a finite number >= 0", fields[keyed ? 1 : 0]));
        table.weights.push_back(*weight);
      }
      for (std::size_t c = leading; c < fields.size(); ++c) {
        const auto value = ingest::parse_decimal(fields[c]);
        if (!value) fail(fmt::format("'{}' is not a finite number", fields[c]));
        table.values.push_back(*value);
      }
      const std::size_t cols = fields.size() - leading;
      min_cols = std::min(min_cols, cols);
      max_cols = std::max(max_cols, cols);
      ++table.rows;
    });
  });
  const std::uint64_t global_min = comm.allreduce<std::uint64_t>(min_cols, comm::ReduceOp::min);
  const std::uint64_t global_max = comm.allreduce<std::uint64_t>(max_cols, comm::ReduceOp::max);
  if (global_max == 0) throw InputError(fmt::format("{}: the matrix has no rows", path.string()));
  if (global_min != global_max)
    throw InputError(fmt::format("{}: rows have between {} and {} coordinates; every row needs the same number", path.string(),
                                 global_min, global_max));
  table.cols = global_max;
  if (!keyed) {
    const std::uint64_t first = comm.exclusive_prefix_sum<std::uint64_t>(table.rows);
    for (std::size_t i = 0; i < table.rows; ++i) table.keys.push_back(first + i);
  }
  return table;
}

PointTable load_h5_matrix(const PointInputSettings& settings, comm::Communicator& comm) {
  const std::string& spec = settings.path;
  const auto colon = spec.rfind(".h5:");
  if (colon == std::string::npos)
    throw ConfigError(fmt::format("[input] path = '{}': a matrix is a CSV file or FILE.h5:/dataset", spec));
  const std::string path = spec.substr(0, colon + 3), dataset = spec.substr(colon + 4);
  auto file = h5::File::open(path, comm);
  const h5::Group root = file.root();
  const auto shape = h5::dataset_shape(root, dataset);
  if (shape.size() != 2) throw InputError(fmt::format("{}: a matrix must be a 2-D dataset", root.describe(dataset)));
  PointTable table;
  const h5::RowRange range = h5::even_split(shape[0], comm.rank(), comm.size());
  table.rows = range.size();
  table.cols = shape[1];
  table.values = h5::read_rows<double>(root, dataset, range.begin, range.size());
  if (!settings.key_column.empty()) {
    table.keys = h5::read_rows<std::uint64_t>(root, settings.key_column, range.begin, range.size());
  } else {
    for (std::uint64_t i = range.begin; i < range.end; ++i) table.keys.push_back(i);
  }
  if (!settings.weight_column.empty()) table.weights = h5::read_rows<double>(root, settings.weight_column, range.begin, range.size());
  file.close();
  return table;
}

}  // namespace

void check_unique_keys(std::span<const std::uint64_t> keys, comm::Communicator& comm) {
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  std::vector<std::uint64_t> counts(ranks, 0);
  std::vector<std::vector<std::uint64_t>> buckets(ranks);
  for (std::uint64_t key : keys) buckets[mix64(key) % ranks].push_back(key);
  std::vector<std::uint64_t> send;
  for (std::size_t r = 0; r < ranks; ++r) {
    counts[r] = buckets[r].size();
    send.insert(send.end(), buckets[r].begin(), buckets[r].end());
  }
  std::vector<std::uint64_t> received_counts;
  std::vector<std::uint64_t> mine = comm.alltoallv(std::span<const std::uint64_t>(send), counts, received_counts);
  std::sort(mine.begin(), mine.end());
  std::uint64_t duplicate = 0, duplicates = 0;
  for (std::size_t i = 1; i < mine.size(); ++i)
    if (mine[i] == mine[i - 1]) duplicate = mine[i], ++duplicates;
  if (comm.allreduce(duplicates, comm::ReduceOp::sum) != 0)
    throw InputError(fmt::format("point keys must be unique; key {} (and maybe others) appears more than once",
                                 comm.allreduce(duplicate, comm::ReduceOp::max)));
}

namespace {

std::vector<std::vector<double>> read_csv_rows(const std::string& path) {
  std::ifstream stream(path);
  if (!stream) throw InputError(fmt::format("cannot open centroid file '{}'", path));
  std::vector<std::vector<double>> rows;
  std::string line;
  for (std::size_t number = 1; std::getline(stream, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      char* end = nullptr;
      const double value = std::strtod(field.c_str(), &end);
      if (end == field.c_str() || *end != '\0' || !std::isfinite(value))
        throw InputError(fmt::format("{}:{}: '{}' is not a finite number", path, number, field));
      row.push_back(value);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::optional<kmeans::InitialCentroids> read_initial_centroids(const kmeans::KMeansSettings& settings, std::size_t d, comm::Communicator& comm) {
  if (settings.init != kmeans::InitMethod::file) return std::nullopt;
  const std::string& spec = settings.init_file;
  std::vector<double> values;
  std::size_t rows = 0, cols = 0;
  const auto colon = spec.rfind(".h5:");
  if (colon != std::string::npos || h5::is_hdf5_file(spec)) {
    const std::string path = colon != std::string::npos ? spec.substr(0, colon + 3) : spec;
    const std::string dataset = colon != std::string::npos ? spec.substr(colon + 4) : "kmeans/centroids_scaled";
    auto file = h5::File::open(path, comm);
    const h5::Group root = file.root();
    const auto shape = h5::dataset_shape(root, dataset);
    rows = shape.at(0);
    cols = shape.size() > 1 ? shape[1] : 1;
    values = h5::read_all<double>(root, dataset);
    file.close();
  } else {
    for (const auto& row : read_csv_rows(spec)) {
      if (cols != 0 && row.size() != cols) throw InputError(fmt::format("{}: rows have different numbers of values", spec));
      cols = row.size();
      values.insert(values.end(), row.begin(), row.end());
      ++rows;
    }
  }
  for (const std::int64_t k : settings.k)
    if (rows != static_cast<std::size_t>(k) || cols != d)
      throw InputError(fmt::format("initial centroids '{}' are {} x {}; this run needs k x d = {} x {}", spec, rows, cols, k, d));
  for (double value : values)
    if (!std::isfinite(value)) throw InputError(fmt::format("initial centroids '{}' contain NaN or Inf", spec));
  return kmeans::InitialCentroids{
      Eigen::Map<const kmeans::RowMatrix>(values.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(d))};
}

std::span<const KeySpec> point_input_keys() { return module_keys().section("input"); }

PointInputSettings PointInputSettings::from_job(const JobConfig& job) {
  PointInputSettings settings;
  settings.source = input_source(job);
  if (settings.source == InputSource::transactions)
    throw ConfigError(fmt::format("{}: kmeans reads format = \"matrix\" or \"features\" (use `mpiseg run` for transactions)",
                                  job.describe("input", "format")));
  if (!job.has("input", "path")) throw ConfigError(fmt::format("{}: missing required key [input] path", job.origin()));
  settings.path = job.get_string("input", "path");
  settings.delimiter = ingest::delimiter_from_job(job, ',');
  settings.key_column = job.get_string("input", "key_column");
  settings.weight_column = job.get_string("input", "weight_column");
  return settings;
}

PointTable load_points(const JobConfig& job, comm::Communicator& comm) {
  const auto settings = PointInputSettings::from_job(job);
  PointTable table;
  if (settings.source == InputSource::features) {
    auto file = model::open_model_file(settings.path, comm);
    table.features = model::read_features(file.root());
    file.close();
    table.from_features = true;
    table.values = table.features.scaled;
    table.rows = table.features.rows();
    table.cols = table.features.cols();
    table.keys = table.features.customer;
    table.names = table.features.names;
  } else {
    const bool hdf5 = settings.path.find(".h5:") != std::string::npos;
    table = hdf5 ? load_h5_matrix(settings, comm) : load_csv_matrix(settings, ingest::IngestPolicy::from_job(job), comm);
    for (std::size_t c = 0; c < table.cols; ++c) table.names.push_back(fmt::format("x{}", c));
    comm::global_max_abs(table.values, comm, settings.path);  // NaN or Inf: a clear error on every rank
  }
  check_unique_keys(table.keys, comm);
  const std::uint64_t rows = comm.allreduce<std::uint64_t>(table.rows, comm::ReduceOp::sum);
  log::info("points: {} x {} from {}{}", rows, table.cols, settings.path, table.weights.empty() ? "" : " (weighted)");
  return table;
}

}  // namespace mpiseg::pipeline
