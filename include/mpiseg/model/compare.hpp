#pragma once
/// `mpiseg compare OLD.h5 NEW.h5`: how a resegmentation relates to the previous one.
///
/// Segments are matched by a minimum-cost assignment (Hungarian algorithm) on the distance
/// between centroids in one common feature space: the features both models have, old centroids
/// taken in original units and mapped through the new model's transforms. For every customer in
/// both models the migration matrix counts (old segment, new segment); the adjusted Rand index
/// summarises agreement over those customers.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/io/h5/h5.hpp"

namespace mpiseg::model {

/// Minimum-cost assignment of rows to distinct columns of a rows x columns cost matrix
/// (row-major). Returns, per row, its column or -1 when there are more rows than columns.
std::vector<int> minimum_cost_assignment(const std::vector<double>& cost, std::size_t rows, std::size_t columns);

/// One side of a comparison: centroids and assignments of a model.
struct SegmentModel {
  std::vector<std::string> features;
  std::vector<double> centroids_original;  // k x d, empty when the model has no original units
  std::vector<double> centroids_scaled;    // k x d
  std::size_t k = 0;
  std::vector<std::uint64_t> customer;     // sorted
  std::vector<std::int32_t> segment;
};

/// Collective: reads /kmeans and /assignments of a model (every rank reads all).
SegmentModel read_segment_model(const std::filesystem::path& path, comm::Communicator& comm);

/// The transform of the newer model, to map old centroids (original units) into its scaled
/// space; no transforms at all, or an empty function for a feature: use the old scaled centroid
/// as it is (the feature is scaled identically in both models, or there is no scaler).
struct CommonSpace {
  std::vector<std::string> features;
  std::vector<std::function<double(double)>> to_scaled;  // per feature of the newer model
};

struct ModelComparison {
  std::vector<std::string> features;  // compared features
  std::size_t old_k = 0, new_k = 0;
  std::vector<int> old_of_new;        // per new segment: its matched old segment, -1 if none
  std::vector<double> drift;          // per new segment: distance to the matched old centroid (common space), NaN if none
  std::vector<double> change;         // new_k x features: new - old centroid in original units (NaN if unknown)
  std::vector<std::uint64_t> migration;  // old_k x new_k: customers in both models
  std::uint64_t common_customers = 0, old_only = 0, new_only = 0;
  double adjusted_rand = 0;
};

/// The common space from both models' transforms (see CommonSpace).
CommonSpace common_space(const std::vector<features::FeatureTransform>& older, const std::vector<features::FeatureTransform>& newer);

/// The older model's centroids in the newer scaled space, columns `features` (k x d, row-major);
/// InputError when the older model lacks one of them. The warm start of a resegmentation.
std::vector<double> centroids_in_space(const SegmentModel& older, const std::vector<std::string>& features, const CommonSpace& space);

/// Local computation on two segment models (the new one's transforms define the common space).
ModelComparison compare_segment_models(const SegmentModel& older, const SegmentModel& newer, const CommonSpace& space);

/// Collective: the same, with the newer model's assignments distributed (this rank's customers
/// and segments); `newer` supplies features and centroids only. The result is on every rank.
ModelComparison compare_with_previous(const SegmentModel& older, const SegmentModel& newer, std::span<const std::uint64_t> customers,
                                      std::span<const std::int32_t> segments, const CommonSpace& space, comm::Communicator& comm);

/// Collective: the feature transforms stored in a model (empty without /features).
std::vector<features::FeatureTransform> read_model_transforms(const std::filesystem::path& path, comm::Communicator& comm);

/// Collective: reads both files and compares.
ModelComparison compare_models(const std::filesystem::path& older, const std::filesystem::path& newer, comm::Communicator& comm);

std::string render_comparison(const ModelComparison& comparison);
std::string comparison_json(const ModelComparison& comparison);

/// Collective: stores a comparison as /compare in a model being written.
void write_comparison(h5::Group& root, const ModelComparison& comparison, const std::string& previous_model);

}  // namespace mpiseg::model
