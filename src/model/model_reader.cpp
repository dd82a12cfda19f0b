#include "mpiseg/model/model_reader.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/propensity_group.hpp"
#include "mpiseg/model/recommend_group.hpp"

namespace mpiseg::model {
namespace {

[[noreturn]] void malformed(const h5::Group& group, std::string_view dataset, std::string_view problem) {
  throw IoError(fmt::format("{}: {} (the model is damaged or was not written by mpiseg)", group.describe(dataset), problem));
}

/// The dataset's shape, which must be `rows` x `columns` (columns 0: 1-D).
void require_shape(const h5::Group& group, std::string_view name, std::uint64_t rows, std::uint64_t columns) {
  const std::vector<std::uint64_t> shape = h5::dataset_shape(group, name);
  const bool ok = columns == 0 ? shape.size() == 1 && shape[0] == rows
                               : shape.size() == 2 && shape[0] == rows && shape[1] == columns;
  if (!ok) {
    std::string found = shape.empty() ? "a scalar" : std::to_string(shape[0]);
    if (shape.size() > 1) found += fmt::format(" x {}", shape[1]);
    malformed(group, name, fmt::format("expected {}{} values, found {}", rows, columns == 0 ? "" : fmt::format(" x {}", columns), found));
  }
}

std::uint64_t length_of(const h5::Group& group, std::string_view name) {
  const std::vector<std::uint64_t> shape = h5::dataset_shape(group, name);
  if (shape.size() != 1) malformed(group, name, "expected a 1-D dataset");
  return shape[0];
}

std::vector<double> read_centroids(const h5::Group& group, std::string_view name, std::size_t k, std::size_t d) {
  require_shape(group, name, k, d);
  std::vector<double> values = h5::read_all<double>(group, name);
  for (double value : values)
    if (!std::isfinite(value) || std::abs(value) > kMaxCentroidMagnitude)
      malformed(group, name, fmt::format("a centroid coordinate is {} (must be finite and at most {:g} in magnitude)", value,
                                         kMaxCentroidMagnitude));
  return values;
}

void require_offsets(const h5::Group& group, std::string_view name, const std::vector<std::uint64_t>& offsets, std::size_t rows,
                     std::size_t items) {
  if (offsets.size() != rows + 1) malformed(group, name, fmt::format("expected {} offsets (rules + 1), found {}", rows + 1, offsets.size()));
  if (offsets.front() != 0) malformed(group, name, "the first offset is not 0");
  for (std::size_t r = 0; r < rows; ++r)
    if (offsets[r + 1] < offsets[r]) malformed(group, name, fmt::format("offsets decrease at rule {}", r));
  if (offsets.back() != items) malformed(group, name, fmt::format("the last offset is {} but there are {} items", offsets.back(), items));
}

void require_items(const h5::Group& group, std::string_view name, const std::vector<std::uint32_t>& items, std::size_t item_count) {
  for (std::uint32_t item : items)
    if (item >= item_count) malformed(group, name, fmt::format("item id {} is not in the item dictionary ({} items)", item, item_count));
}

template <class T>
std::vector<T> read_column(const h5::Group& group, std::string_view name, std::size_t rows) {
  require_shape(group, name, rows, 0);
  return h5::read_all<T>(group, name);
}

std::vector<double> read_metric(const h5::Group& group, std::string_view name, std::size_t rows) {
  std::vector<double> values = read_column<double>(group, name, rows);
  for (double value : values)
    if (std::isnan(value)) malformed(group, name, "a value is NaN");
  return values;
}

}  // namespace

KMeansGroup read_kmeans_group(const h5::Group& root) {
  const h5::Group group = root.open_group("kmeans");
  KMeansGroup kmeans;
  kmeans.feature_names = h5::read_strings(group, "feature_names");
  const std::size_t d = kmeans.feature_names.size();
  if (d == 0) malformed(group, "feature_names", "no features");
  const std::vector<std::uint64_t> shape = h5::dataset_shape(group, "centroids_scaled");
  if (shape.size() != 2 || shape[1] != d)
    malformed(group, "centroids_scaled", fmt::format("expected k x {} values (one column per feature name)", d));
  kmeans.k = static_cast<std::size_t>(shape[0]);
  if (kmeans.k == 0) malformed(group, "centroids_scaled", "no centroids");
  kmeans.centroids_scaled = read_centroids(group, "centroids_scaled", kmeans.k, d);
  if (group.exists("centroids")) kmeans.centroids = read_centroids(group, "centroids", kmeans.k, d);
  kmeans.sizes = read_column<std::uint64_t>(group, "sizes", kmeans.k);
  return kmeans;
}

AssignmentsGroup read_assignments_group(const h5::Group& root, std::size_t k) {
  const h5::Group group = root.open_group("assignments");
  AssignmentsGroup assignments;
  const std::uint64_t n = length_of(group, "customer");
  assignments.customer = h5::read_all<std::uint64_t>(group, "customer");
  assignments.segment = read_column<std::int32_t>(group, "segment", n);
  for (std::int32_t segment : assignments.segment)
    if (segment < 0 || (k != 0 && static_cast<std::size_t>(segment) >= k))
      malformed(group, "segment", k != 0 ? fmt::format("segment {} is outside 0 .. {} (k = {} in /kmeans)", segment, k - 1, k)
                                         : fmt::format("segment {} is negative", segment));
  if (group.exists("distance")) {
    assignments.distance = read_column<double>(group, "distance", n);
    for (double distance : assignments.distance)
      if (!(distance >= 0) || !std::isfinite(distance)) malformed(group, "distance", fmt::format("a distance is {}", distance));
  }
  return assignments;
}

ItemNames read_item_names(const h5::Group& group) {
  const h5::Group items = group.open_group("items");
  ItemNames names;
  names.code = h5::read_strings(items, "code");
  names.description = h5::read_strings(items, "description");
  if (names.description.size() != names.code.size())
    malformed(items, "description", fmt::format("{} descriptions for {} item codes", names.description.size(), names.code.size()));
  return names;
}

std::span<const std::uint32_t> RuleColumns::antecedent_of(std::size_t rule) const {
  return std::span(antecedent).subspan(antecedent_offsets[rule], antecedent_offsets[rule + 1] - antecedent_offsets[rule]);
}

std::span<const std::uint32_t> RuleColumns::consequent_of(std::size_t rule) const {
  return std::span(consequent).subspan(consequent_offsets[rule], consequent_offsets[rule + 1] - consequent_offsets[rule]);
}

std::vector<std::size_t> RuleColumns::by_lift(std::size_t count) const {
  std::vector<std::size_t> order(size());
  std::iota(order.begin(), order.end(), 0);
  count = std::min(count, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    [&](std::size_t a, std::size_t b) { return lift[a] != lift[b] ? lift[a] > lift[b] : a < b; });
  order.resize(count);
  return order;
}

RuleColumns read_rule_columns(const h5::Group& rules, std::size_t item_count) {
  RuleColumns table;
  const std::size_t n = static_cast<std::size_t>(length_of(rules, "support"));
  table.support = read_metric(rules, "support", n);
  table.confidence = read_metric(rules, "confidence", n);
  table.lift = read_metric(rules, "lift", n);
  table.leverage = read_metric(rules, "leverage", n);
  table.conviction = read_metric(rules, "conviction", n);
  table.itemset_count = read_column<std::uint64_t>(rules, "itemset_count", n);
  table.antecedent_offsets = h5::read_all<std::uint64_t>(rules, "antecedent_offsets");
  table.antecedent = h5::read_all<std::uint32_t>(rules, "antecedent");
  table.consequent_offsets = h5::read_all<std::uint64_t>(rules, "consequent_offsets");
  table.consequent = h5::read_all<std::uint32_t>(rules, "consequent");
  require_offsets(rules, "antecedent_offsets", table.antecedent_offsets, n, table.antecedent.size());
  require_offsets(rules, "consequent_offsets", table.consequent_offsets, n, table.consequent.size());
  require_items(rules, "antecedent", table.antecedent, item_count);
  require_items(rules, "consequent", table.consequent, item_count);
  return table;
}

void validate_model_file(const std::filesystem::path& path, comm::Communicator& comm) {
  h5::File file = open_model_file(path, comm);
  const h5::Group root = file.root();
  if (root.exists("kmeans")) {
    const KMeansGroup kmeans = read_kmeans_group(root);
    if (root.exists("assignments")) (void)read_assignments_group(root, kmeans.k);
  }
  if (root.exists("fpgrowth")) {
    const h5::Group fp = root.open_group("fpgrowth");
    const std::size_t items = read_item_names(fp).code.size();
    if (fp.exists("rules")) (void)read_rule_columns(fp.open_group("rules"), items);
    const std::int64_t segments = fp.has_attribute("segments") ? fp.read_int_attribute("segments") : 0;
    for (std::int64_t s = 0; s < segments; ++s) (void)read_rule_columns(fp.open_group(fmt::format("segment_{}/rules", s)), items);
  }
  if (root.exists("propensity")) {
    const StoredPropensity stored = read_propensity(root);
    const std::uint64_t customers = root.exists("features") ? h5::dataset_shape(root.open_group("features"), "customer").at(0) : 0;
    const h5::Group group = root.open_group("propensity");
    for (const StoredTarget& target : stored.targets) {
      const h5::Group target_group = group.open_group(target.name);
      for (const char* name : {"scores", "scored_by"})
        if (h5::dataset_shape(target_group, name).at(0) != customers)
          throw IoError(fmt::format("{}: {} rows for the {} customers of /features", target_group.describe(name),
                                    h5::dataset_shape(target_group, name).at(0), customers));
    }
  }
  if (root.exists("recommend")) (void)read_recommend(root);
  file.close();
}

}  // namespace mpiseg::model
