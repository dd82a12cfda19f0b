#pragma once
/// The /propensity group of a model file: its writer and its validated reader side by side (the
/// propensity module itself never sees HDF5).
///
///   write_propensity(root, result);                       // mpiseg run, mpiseg propensity
///   const StoredPropensity stored = read_propensity(root);  // score, report validation
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpiseg/features/features.hpp"
#include "mpiseg/io/h5/h5.hpp"
#include "mpiseg/propensity/propensity.hpp"

namespace mpiseg::model {

/// Collective. Writes /propensity (see the README's model schema).
void write_propensity(h5::Group& root, const propensity::PropensityResult& result);

/// The stored models of /propensity, for scoring new customers and for the model tools.
struct StoredModel {
  std::vector<double> coefficients;
  double intercept = 0;
};
struct StoredTarget {
  std::string name;   // group name
  std::string text;   // the target as configured
  std::optional<StoredModel> global;
  std::vector<std::optional<StoredModel>> segments;  // the segment models that score their segment (see scores_from)
};
struct StoredPropensity {
  std::size_t segment_count = 0;  // the K-means segments the per-segment models follow (0: none)
  std::vector<std::string> feature_names;
  std::vector<features::FeatureTransform> transforms;
  std::vector<StoredTarget> targets;
};
/// Collective. Validates shapes (coefficients one per feature, finite) and throws IoError naming the dataset.
StoredPropensity read_propensity(const h5::Group& root);

/// Probability and the model used (-1 global) for one row of raw features.
std::pair<double, std::int32_t> score_row(const StoredPropensity& stored, const StoredTarget& target, const double* scaled_row,
                                          std::int32_t segment);

}  // namespace mpiseg::model
