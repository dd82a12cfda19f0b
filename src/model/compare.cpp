#include "mpiseg/model/compare.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <stdexcept>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/json.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/model/stage_groups.hpp"

namespace mpiseg::model {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double pairs(double n) { return n * (n - 1) / 2; }

}  // namespace

std::vector<int> minimum_cost_assignment(const std::vector<double>& cost, std::size_t rows, std::size_t columns) {
  if (rows == 0) return {};
  if (rows > columns) {
    // Assign columns to rows instead, then invert.
    std::vector<double> transposed(rows * columns);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < columns; ++c) transposed[c * rows + r] = cost[r * columns + c];
    const std::vector<int> row_of_column = minimum_cost_assignment(transposed, columns, rows);
    std::vector<int> column_of_row(rows, -1);
    for (std::size_t c = 0; c < columns; ++c) column_of_row[static_cast<std::size_t>(row_of_column[c])] = static_cast<int>(c);
    return column_of_row;
  }
  // Finite costs are required for termination (a NaN or an infinity leaves no column with the
  // least slack); costs so large that potentials could overflow are scaled down, which leaves the
  // optimal assignment unchanged and ordinary costs untouched.
  double largest = 0;
  for (double value : cost) {
    if (!std::isfinite(value)) throw InputError(fmt::format("segment matching: a centroid distance is {} (centroids must be finite)", value));
    largest = std::max(largest, std::abs(value));
  }
  if (largest > 1e150) {
    std::vector<double> scaled(cost);
    for (double& value : scaled) value /= largest;
    return minimum_cost_assignment(scaled, rows, columns);
  }
  // Shortest augmenting paths with potentials (Kuhn-Munkres), O(rows^2 columns). Index 0 is a
  // virtual column; row_of[c] is the row (1-based) assigned to column c.
  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> row_potential(rows + 1, 0), column_potential(columns + 1, 0);
  std::vector<std::size_t> row_of(columns + 1, 0), previous(columns + 1, 0);
  for (std::size_t row = 1; row <= rows; ++row) {
    row_of[0] = row;
    std::size_t column = 0;
    std::vector<double> slack(columns + 1, infinity);
    std::vector<bool> used(columns + 1, false);
    do {
      used[column] = true;
      const std::size_t current = row_of[column];
      double delta = infinity;
      std::size_t next = 0;
      for (std::size_t c = 1; c <= columns; ++c) {
        if (used[c]) continue;
        const double reduced = cost[(current - 1) * columns + (c - 1)] - row_potential[current] - column_potential[c];
        if (reduced < slack[c]) {
          slack[c] = reduced;
          previous[c] = column;
        }
        if (slack[c] < delta) {
          delta = slack[c];
          next = c;
        }
      }
      for (std::size_t c = 0; c <= columns; ++c) {
        if (used[c]) {
          row_potential[row_of[c]] += delta;
          column_potential[c] -= delta;
        } else {
          slack[c] -= delta;
        }
      }
      if (next == 0) throw std::logic_error("segment matching: no augmenting column (non-finite reduced costs)");
      column = next;
    } while (row_of[column] != 0);
    do {
      const std::size_t back = previous[column];
      row_of[column] = row_of[back];
      column = back;
    } while (column != 0);
  }
  std::vector<int> column_of_row(rows, -1);
  for (std::size_t c = 1; c <= columns; ++c)
    if (row_of[c] != 0) column_of_row[row_of[c] - 1] = static_cast<int>(c - 1);
  return column_of_row;
}

SegmentModel read_segment_model(const std::filesystem::path& path, comm::Communicator& comm) {
  h5::File file = open_model_file(path, comm);
  const h5::Group root = file.root();
  KMeansGroup kmeans = read_kmeans_group(root);
  AssignmentsGroup assignments = read_assignments_group(root, kmeans.k);
  SegmentModel model;
  model.features = std::move(kmeans.feature_names);
  model.centroids_scaled = std::move(kmeans.centroids_scaled);
  model.centroids_original = std::move(kmeans.centroids);
  model.k = kmeans.k;
  model.customer = std::move(assignments.customer);
  model.segment = std::move(assignments.segment);
  if (!std::is_sorted(model.customer.begin(), model.customer.end())) {
    std::vector<std::size_t> order(model.customer.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return model.customer[a] < model.customer[b]; });
    std::vector<std::uint64_t> customer(order.size());
    std::vector<std::int32_t> segment(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      customer[i] = model.customer[order[i]];
      segment[i] = model.segment[order[i]];
    }
    model.customer = std::move(customer);
    model.segment = std::move(segment);
  }
  file.close();
  return model;
}

namespace {

/// Column of each of `newer`'s features in `older`, or none.
std::vector<std::optional<std::size_t>> columns_in(const std::vector<std::string>& older, const std::vector<std::string>& newer) {
  std::vector<std::optional<std::size_t>> columns;
  for (const auto& name : newer) {
    const auto found = std::find(older.begin(), older.end(), name);
    columns.push_back(found == older.end() ? std::nullopt : std::optional(static_cast<std::size_t>(found - older.begin())));
  }
  return columns;
}

/// An old centroid coordinate in the newer model's scaled space.
double old_coordinate(const SegmentModel& older, const CommonSpace& space, std::size_t segment, std::size_t old_column,
                      std::size_t new_column) {
  const std::size_t d = older.features.size();
  const bool map = !older.centroids_original.empty() && new_column < space.to_scaled.size() && space.to_scaled[new_column];
  return map ? space.to_scaled[new_column](older.centroids_original[segment * d + old_column]) : older.centroids_scaled[segment * d + old_column];
}

/// The matching part of a comparison: common features, old_of_new, drift, change.
void match_segments(const SegmentModel& older, const SegmentModel& newer, const CommonSpace& space, ModelComparison& result) {
  result.old_k = older.k;
  result.new_k = newer.k;
  std::vector<std::size_t> old_column, new_column;
  const auto columns = columns_in(older.features, newer.features);
  for (std::size_t j = 0; j < columns.size(); ++j) {
    if (!columns[j]) continue;
    result.features.push_back(newer.features[j]);
    old_column.push_back(*columns[j]);
    new_column.push_back(j);
  }
  if (result.features.empty()) throw InputError("the two models have no feature in common: nothing to compare centroids on");
  const std::size_t d = result.features.size(), old_d = older.features.size(), new_d = newer.features.size();
  std::vector<double> cost(newer.k * older.k);
  for (std::size_t n = 0; n < newer.k; ++n)
    for (std::size_t o = 0; o < older.k; ++o) {
      double sum = 0;
      for (std::size_t f = 0; f < d; ++f) {
        const double difference = newer.centroids_scaled[n * new_d + new_column[f]] - old_coordinate(older, space, o, old_column[f], new_column[f]);
        sum += difference * difference;
      }
      cost[n * older.k + o] = std::sqrt(sum);
    }
  result.old_of_new = minimum_cost_assignment(cost, newer.k, older.k);
  result.drift.assign(newer.k, kNaN);
  result.change.assign(newer.k * d, kNaN);
  for (std::size_t n = 0; n < newer.k; ++n) {
    const int o = result.old_of_new[n];
    if (o < 0) continue;
    result.drift[n] = cost[n * older.k + static_cast<std::size_t>(o)];
    if (!newer.centroids_original.empty() && !older.centroids_original.empty())
      for (std::size_t f = 0; f < d; ++f)
        result.change[n * d + f] = newer.centroids_original[n * new_d + new_column[f]] -
                                   older.centroids_original[static_cast<std::size_t>(o) * old_d + old_column[f]];
  }
}

/// Adds (old segment, new segment) counts of the given customers (any subset of the newer model's)
/// to the migration matrix; customers not in the older model count as new_only.
void count_migration(const SegmentModel& older, std::span<const std::uint64_t> customers, std::span<const std::int32_t> segments,
                     ModelComparison& result) {
  result.migration.resize(result.old_k * result.new_k, 0);
  for (std::size_t i = 0; i < customers.size(); ++i) {
    const auto found = std::lower_bound(older.customer.begin(), older.customer.end(), customers[i]);
    if (found == older.customer.end() || *found != customers[i]) {
      ++result.new_only;
      continue;
    }
    const auto old_segment = static_cast<std::size_t>(older.segment[static_cast<std::size_t>(found - older.customer.begin())]);
    ++result.migration[old_segment * result.new_k + static_cast<std::size_t>(segments[i])];
    ++result.common_customers;
  }
}

/// old_only and the adjusted Rand index, once the migration matrix is complete.
void finish_agreement(const SegmentModel& older, ModelComparison& result) {
  result.old_only = older.customer.size() - result.common_customers;
  double index = 0, row_pairs = 0, column_pairs = 0;
  std::vector<double> column_sum(result.new_k, 0);
  for (std::size_t o = 0; o < result.old_k; ++o) {
    double row_sum = 0;
    for (std::size_t n = 0; n < result.new_k; ++n) {
      const auto count = static_cast<double>(result.migration[o * result.new_k + n]);
      index += pairs(count);
      row_sum += count;
      column_sum[n] += count;
    }
    row_pairs += pairs(row_sum);
  }
  for (double sum : column_sum) column_pairs += pairs(sum);
  const double total_pairs = pairs(static_cast<double>(result.common_customers));
  const double expected = total_pairs > 0 ? row_pairs * column_pairs / total_pairs : 0;
  const double maximum = (row_pairs + column_pairs) / 2;
  result.adjusted_rand = maximum - expected != 0 ? (index - expected) / (maximum - expected) : 1.0;
}

}  // namespace

CommonSpace common_space(const std::vector<features::FeatureTransform>& older, const std::vector<features::FeatureTransform>& newer) {
  CommonSpace space;
  for (const auto& transform : newer) {
    space.features.push_back(transform.name);
    // A feature scaled identically in both models is compared on the stored scaled centroids
    // (exact: a model compared with itself has zero drift); otherwise the old centroid in
    // original units goes through the new transform.
    const bool same = std::any_of(older.begin(), older.end(), [&](const features::FeatureTransform& other) {
      return other.name == transform.name && other.spec.log1p == transform.spec.log1p && other.spec.scaling == transform.spec.scaling &&
             other.center == transform.center && other.scale == transform.scale && other.zero_variance == transform.zero_variance;
    });
    if (same)
      space.to_scaled.emplace_back();
    else
      space.to_scaled.push_back([transform](double value) { return transform.apply(value); });
  }
  return space;
}

std::vector<double> centroids_in_space(const SegmentModel& older, const std::vector<std::string>& features, const CommonSpace& space) {
  const auto columns = columns_in(older.features, features);
  std::vector<double> values(older.k * features.size());
  for (std::size_t j = 0; j < features.size(); ++j) {
    if (!columns[j]) throw InputError(fmt::format("the previous model has no feature '{}'", features[j]));
    for (std::size_t s = 0; s < older.k; ++s) values[s * features.size() + j] = old_coordinate(older, space, s, *columns[j], j);
  }
  return values;
}

ModelComparison compare_segment_models(const SegmentModel& older, const SegmentModel& newer, const CommonSpace& space) {
  ModelComparison result;
  match_segments(older, newer, space, result);
  count_migration(older, newer.customer, newer.segment, result);
  finish_agreement(older, result);
  return result;
}

ModelComparison compare_with_previous(const SegmentModel& older, const SegmentModel& newer, std::span<const std::uint64_t> customers,
                                      std::span<const std::int32_t> segments, const CommonSpace& space, comm::Communicator& comm) {
  ModelComparison result;
  match_segments(older, newer, space, result);
  count_migration(older, customers, segments, result);
  comm.allreduce(std::span(result.migration), comm::ReduceOp::sum);
  result.common_customers = comm.allreduce(result.common_customers, comm::ReduceOp::sum);
  result.new_only = comm.allreduce(result.new_only, comm::ReduceOp::sum);
  finish_agreement(older, result);
  return result;
}

std::vector<features::FeatureTransform> read_model_transforms(const std::filesystem::path& path, comm::Communicator& comm) {
  h5::File file = open_model_file(path, comm);
  std::vector<features::FeatureTransform> transforms;
  if (file.root().exists("features")) transforms = model::read_transforms(file.root());
  file.close();
  return transforms;
}

ModelComparison compare_models(const std::filesystem::path& older, const std::filesystem::path& newer, comm::Communicator& comm) {
  const SegmentModel old_model = read_segment_model(older, comm);
  const SegmentModel new_model = read_segment_model(newer, comm);
  const auto new_transforms = read_model_transforms(newer, comm);
  const CommonSpace space = new_transforms.empty() ? CommonSpace{} : common_space(read_model_transforms(older, comm), new_transforms);
  return compare_segment_models(old_model, new_model, space);
}

std::string render_comparison(const ModelComparison& c) {
  std::string text = fmt::format("segments: {} before, {} now; compared on {}\n", c.old_k, c.new_k, fmt::join(c.features, ", "));
  text += fmt::format("customers: {} in both, {} only before, {} only now; adjusted Rand index {:.4f}\n", c.common_customers, c.old_only,
                      c.new_only, c.adjusted_rand);
  text += "matching (new <- old, centroid drift in the new model's scaled space):\n";
  for (std::size_t n = 0; n < c.new_k; ++n) {
    if (c.old_of_new[n] < 0) {
      text += fmt::format("  {:>3} <- (new segment, no counterpart)\n", n);
      continue;
    }
    text += fmt::format("  {:>3} <- {:>3}   drift {:.4f}", n, c.old_of_new[n], c.drift[n]);
    for (std::size_t f = 0; f < c.features.size() && f < 4; ++f)
      if (!std::isnan(c.change[n * c.features.size() + f])) text += fmt::format("  {} {:+.4g}", c.features[f], c.change[n * c.features.size() + f]);
    text += "\n";
  }
  text += "migration (rows: old segment, columns: new segment, customers):\n       ";
  for (std::size_t n = 0; n < c.new_k; ++n) text += fmt::format(" {:>8}", n);
  text += "\n";
  for (std::size_t o = 0; o < c.old_k; ++o) {
    text += fmt::format("  {:>4} ", o);
    std::uint64_t row = 0;
    for (std::size_t n = 0; n < c.new_k; ++n) row += c.migration[o * c.new_k + n];
    for (std::size_t n = 0; n < c.new_k; ++n) text += fmt::format(" {:>8}", c.migration[o * c.new_k + n]);
    text += fmt::format("   ({} customers)\n", row);
  }
  return text;
}

std::string comparison_json(const ModelComparison& c) {
  std::string json = fmt::format("{{\"old_k\": {}, \"new_k\": {}, \"common_customers\": {}, \"old_only\": {}, \"new_only\": {}, \"adjusted_rand_index\": {}, ",
                                 c.old_k, c.new_k, c.common_customers, c.old_only, c.new_only, json_number(c.adjusted_rand));
  json += "\"features\": [";
  for (std::size_t f = 0; f < c.features.size(); ++f) json += (f ? ", " : "") + json_string(c.features[f]);
  json += "], \"old_of_new\": [";
  for (std::size_t n = 0; n < c.new_k; ++n) json += fmt::format("{}{}", n ? ", " : "", c.old_of_new[n]);
  json += "], \"drift\": [";
  for (std::size_t n = 0; n < c.new_k; ++n) json += (n ? ", " : "") + json_number(c.drift[n]);
  json += "], \"migration\": [";
  for (std::size_t o = 0; o < c.old_k; ++o) {
    json += o ? ", [" : "[";
    for (std::size_t n = 0; n < c.new_k; ++n) json += fmt::format("{}{}", n ? ", " : "", c.migration[o * c.new_k + n]);
    json += "]";
  }
  return json + "]}\n";
}

void write_comparison(h5::Group& root, const ModelComparison& c, const std::string& previous_model) {
  h5::Group group = root.create_group("compare");
  group.write_attribute("previous_model", previous_model);
  group.write_attribute("common_customers", static_cast<std::int64_t>(c.common_customers));
  group.write_attribute("previous_only", static_cast<std::int64_t>(c.old_only));
  group.write_attribute("new_only", static_cast<std::int64_t>(c.new_only));
  group.write_attribute("adjusted_rand", c.adjusted_rand);
  h5::write_strings(group, "features", c.features);
  std::vector<std::int32_t> match(c.old_of_new.begin(), c.old_of_new.end());
  h5::write_replicated(group, "previous_segment", match);
  h5::write_replicated(group, "drift", c.drift);
  h5::write_replicated(group, "change", c.change, c.features.size());
  h5::write_replicated(group, "migration", c.migration, c.new_k);
  group.write_dataset_attribute("previous_segment", "meaning", "per segment: the previous model's segment it was matched to (-1: none)");
  group.write_dataset_attribute("drift", "units", "Euclidean distance between matched centroids in this model's scaled feature space");
  group.write_dataset_attribute("change", "units", "centroid change in original units (this model minus the previous one)");
  group.write_dataset_attribute("migration", "meaning", "customers by (previous segment, segment), over customers in both models");
}

}  // namespace mpiseg::model
