#pragma once
/// Validated readers of the model groups that the model tools (inspect, export, compare, score)
/// and a warm start (run.previous_model) consume. A model file is input like any other: it may be
/// truncated, edited or written by something else. Every dataset read here is checked for its
/// shape, its length against the others and the range of its values before any of it is used as
/// an index or a size, so a malformed model gives an IoError naming the file and the dataset, never
/// a crash, a hang or output computed from garbage.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/io/h5/h5.hpp"

namespace mpiseg::model {

/// Largest magnitude accepted for a stored centroid coordinate (scaled or original units): far
/// beyond any real feature value, and small enough that squared distances between centroids of up
/// to 10^4 features stay finite.
inline constexpr double kMaxCentroidMagnitude = 1e100;

/// /kmeans: the segments. Centroids are k x d, row-major, every value finite and at most
/// kMaxCentroidMagnitude in magnitude.
struct KMeansGroup {
  std::vector<std::string> feature_names;  // d
  std::size_t k = 0;
  std::vector<double> centroids_scaled;    // k x d
  std::vector<double> centroids;           // k x d in original units; empty when the model has none
  std::vector<std::uint64_t> sizes;        // k
};
KMeansGroup read_kmeans_group(const h5::Group& root);

/// /assignments: customer, segment (each in [0, k); k = 0: a file without /kmeans, segments only
/// non-negative) and distance (finite, >= 0, when present), equal lengths.
struct AssignmentsGroup {
  std::vector<std::uint64_t> customer;
  std::vector<std::int32_t> segment;
  std::vector<double> distance;
};
AssignmentsGroup read_assignments_group(const h5::Group& root, std::size_t k);

/// An item dictionary (`group/items`): code and description, one per item id.
struct ItemNames {
  std::vector<std::string> code;
  std::vector<std::string> description;
};
ItemNames read_item_names(const h5::Group& group);

/// A rule table (`.../rules`): CSR antecedents and consequents whose offsets start at 0, never
/// decrease and end at the item count, item ids below `item_count`, and one value per rule in
/// every metric column.
struct RuleColumns {
  std::vector<std::uint64_t> antecedent_offsets, consequent_offsets;
  std::vector<std::uint32_t> antecedent, consequent;
  std::vector<double> support, confidence, lift, leverage, conviction;
  std::vector<std::uint64_t> itemset_count;
  std::size_t size() const noexcept { return support.size(); }
  std::span<const std::uint32_t> antecedent_of(std::size_t rule) const;
  std::span<const std::uint32_t> consequent_of(std::size_t rule) const;
  /// The positions of the `count` rules of highest lift (all by default), highest first, ties in
  /// stored order.
  std::vector<std::size_t> by_lift(std::size_t count = std::numeric_limits<std::size_t>::max()) const;
};
RuleColumns read_rule_columns(const h5::Group& rules, std::size_t item_count);

/// Collective: opens a model and validates every group the readers above cover (/kmeans,
/// /assignments, the item dictionary and every rule table), /propensity and /recommend; an IoError names the first problem.
/// For tools that hand the model to code outside mpiseg (scripts/report.py).
void validate_model_file(const std::filesystem::path& path, comm::Communicator& comm);

}  // namespace mpiseg::model
