#pragma once
/// Writers (and the /features reader) of the groups the analysis stages produce: /features,
/// /kmeans with /assignments, and the itemsets and rules of /fpgrowth. The stages themselves never
/// see HDF5; their validated readers for the model tools are in model_reader.hpp.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/features/features.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/io/h5/h5.hpp"
#include "mpiseg/kmeans/kmeans.hpp"

namespace mpiseg::model {

/// Collective. Writes /features (see the README's model schema) under `root`.
void write_features(h5::Group& root, const features::FeatureTable& table);
/// Collective. Reads /features of a model file; rows split evenly over the ranks (in key order).
features::FeatureTable read_features(const h5::Group& root);
/// Collective. Only the fitted transforms of /features (names and scaler), for scoring and comparing.
std::vector<features::FeatureTransform> read_transforms(const h5::Group& root);

/// Collective. Writes /kmeans (centroids in scaled and, through `transforms`, original units;
/// sizes; inertia history; stop reason; the sweep) and /assignments (key, segment, distance).
/// `transforms` may be empty (a plain matrix: centroids are given in its units only).
void write_kmeans(h5::Group& root, const kmeans::KMeansResult& result,
                  const std::vector<std::string>& feature_names, const std::vector<features::FeatureTransform>& transforms,
                  std::span<const std::uint64_t> keys);

/// Collective. Writes itemsets, rules and F-list under `group` (e.g. /fpgrowth or /fpgrowth/segment_3).
void write_itemsets_and_rules(h5::Group& group, const fpgrowth::FpSettings& settings, const fpgrowth::FrequentItemsets& itemsets,
                              const fpgrowth::RuleTable& rules);

}  // namespace mpiseg::model
