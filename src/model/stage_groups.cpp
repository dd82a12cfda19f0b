#include "mpiseg/model/stage_groups.hpp"

#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::model {

using namespace mpiseg::features;
using kmeans::KMeansResult;
using kmeans::KMeansSettings;
using kmeans::KSummary;
using kmeans::LloydResult;
using fpgrowth::FpSettings;
using fpgrowth::FrequentItemsets;
using fpgrowth::ItemsetTable;
using fpgrowth::RuleTable;

void write_features(h5::Group& root, const FeatureTable& table) {
  h5::Group group = root.create_group("features");
  const std::uint64_t d = table.cols();
  h5::write_rows(group, "customer", table.customer);
  h5::write_strings(group, "names", table.names);
  h5::write_rows(group, "raw", table.raw, d);
  h5::write_rows(group, "matrix", table.scaled, d);
  h5::write_rows(group, "rfm_score", table.rfm_score, 3);
  h5::write_rows(group, "rfm_code", table.rfm_code);
  group.write_dataset_attribute("raw", "meaning", "features in original units, columns as in names (see the README's definitions)");
  group.write_dataset_attribute("matrix", "meaning", "transformed features (scaler/), the matrix K-means sees");
  group.write_dataset_attribute("rfm_score", "meaning", "R, F, M scores 1..5 from exact quintiles (5: most recent, most frequent, highest spend)");
  group.write_dataset_attribute("rfm_code", "meaning", "100 R + 10 F + M");
  group.write_attribute("reference_time", table.reference_time);
  group.write_attribute("reference_date", format_date(table.reference_time));
  group.write_attribute("customers", static_cast<std::int64_t>(table.customers));
  group.write_attribute("excluded_no_purchase", static_cast<std::int64_t>(table.excluded_no_purchase));
  group.write_attribute("recency_cuts", std::span<const double>(table.rfm_cuts[0]));
  group.write_attribute("frequency_cuts", std::span<const double>(table.rfm_cuts[1]));
  group.write_attribute("monetary_cuts", std::span<const double>(table.rfm_cuts[2]));

  h5::Group scaler = group.create_group("scaler");
  h5::write_columns(scaler, table.transforms,
                    h5::Column{"transform", [](const FeatureTransform& transform) { return describe_transform(transform.spec); }},
                    h5::Column{"center", &FeatureTransform::center}, h5::Column{"scale", &FeatureTransform::scale},
                    h5::Column{"zero_variance", [](const FeatureTransform& transform) -> std::uint8_t { return transform.zero_variance ? 1 : 0; }},
                    h5::Column{"clipped", &FeatureTransform::clipped});
  scaler.write_attribute("formula", "matrix = (f(raw) - center) / scale, f = log1p(max(raw, 0)) for log1p transforms; 0 if zero_variance");
}

FeatureTable read_features(const h5::Group& root) {
  comm::Communicator& comm = root.file().comm();
  const h5::Group group = root.open_group("features");
  FeatureTable table;
  table.names = h5::read_strings(group, "names");
  const std::uint64_t total = h5::dataset_shape(group, "customer").at(0);
  const h5::RowRange range = h5::even_split(total, comm.rank(), comm.size());
  table.customer = h5::read_rows<std::uint64_t>(group, "customer", range.begin, range.size());
  table.raw = h5::read_rows<double>(group, "raw", range.begin, range.size());
  table.scaled = h5::read_rows<double>(group, "matrix", range.begin, range.size());
  table.rfm_score = h5::read_rows<std::uint8_t>(group, "rfm_score", range.begin, range.size());
  table.rfm_code = h5::read_rows<std::uint16_t>(group, "rfm_code", range.begin, range.size());
  table.reference_time = group.read_int_attribute("reference_time");
  table.customers = static_cast<std::uint64_t>(group.read_int_attribute("customers"));
  table.excluded_no_purchase = static_cast<std::uint64_t>(group.read_int_attribute("excluded_no_purchase"));
  const char* cut_names[] = {"recency_cuts", "frequency_cuts", "monetary_cuts"};
  for (std::size_t f = 0; f < 3; ++f) {
    const auto cuts = group.read_double_array_attribute(cut_names[f]);
    for (std::size_t c = 0; c < 4 && c < cuts.size(); ++c) table.rfm_cuts[f][c] = cuts[c];
  }
  table.transforms = read_transforms(root);
  return table;
}

std::vector<FeatureTransform> read_transforms(const h5::Group& root) {
  const h5::Group group = root.open_group("features");
  const auto names = h5::read_strings(group, "names");
  const h5::Group scaler = group.open_group("scaler");
  const auto specs = h5::read_strings(scaler, "transform");
  const auto center = h5::read_all<double>(scaler, "center");
  const auto scale = h5::read_all<double>(scaler, "scale");
  const auto zero = h5::read_all<std::uint8_t>(scaler, "zero_variance");
  const auto clipped = h5::read_all<std::uint64_t>(scaler, "clipped");
  if (specs.size() != names.size() || center.size() != specs.size() || scale.size() != specs.size())
    throw IoError(fmt::format("{}: /features/scaler does not match /features/names", root.file().path().string()));
  std::vector<FeatureTransform> transforms;
  for (std::size_t j = 0; j < specs.size(); ++j) {
    FeatureTransform transform;
    transform.name = names[j];
    transform.spec = parse_transform(specs[j], root.describe("features/scaler/transform"));
    transform.center = center[j];
    transform.scale = scale[j];
    transform.zero_variance = zero.at(j) != 0;
    transform.clipped = clipped.at(j);
    transforms.push_back(std::move(transform));
  }
  return transforms;
}

void write_kmeans(h5::Group& root, const KMeansResult& result,
                  const std::vector<std::string>& feature_names, const std::vector<features::FeatureTransform>& transforms,
                  std::span<const std::uint64_t> keys) {
  const KMeansSettings& settings = result.settings;
  const LloydResult& best = result.best;
  const KSummary& chosen = result.sweep.at(result.chosen);
  const auto k = static_cast<std::size_t>(best.centroids.rows()), d = static_cast<std::size_t>(best.centroids.cols());
  h5::Group group = root.create_group("kmeans");
  group.write_attribute("k", chosen.k);
  group.write_attribute("init", init_name(settings.init));
  group.write_attribute("seed", static_cast<std::int64_t>(settings.seed));
  group.write_attribute("n_init", settings.n_init);
  group.write_attribute("accelerate", static_cast<std::int64_t>(settings.accelerate ? 1 : 0));
  group.write_attribute("algorithm", algorithm_name(algorithm_for(settings, chosen.k, d)));
  group.write_attribute("max_iter", settings.max_iter);
  group.write_attribute("tol", settings.tol);
  group.write_attribute("shift_tolerance", result.shift_tolerance);
  group.write_attribute("mean_feature_std", result.mean_feature_std);
  group.write_attribute("iterations", best.iterations);
  group.write_attribute("converged_reason", stop_reason_name(best.reason));
  group.write_attribute("inertia", best.inertia);
  group.write_attribute("empty_relocations", static_cast<std::int64_t>(best.empty_relocations));
  group.write_attribute("selection", selection_name(settings.selection));
  group.write_attribute("segment_order", result.segment_order);

  std::vector<double> scaled(best.centroids.data(), best.centroids.data() + best.centroids.size());
  h5::write_strings(group, "feature_names", feature_names);
  h5::write_replicated(group, "centroids_scaled", scaled, d);
  group.write_dataset_attribute("centroids_scaled", "units", "the transformed feature space K-means ran in (/features/scaler)");
  if (!transforms.empty()) {
    std::vector<double> original(k * d);
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t c = 0; c < d; ++c) original[j * d + c] = transforms[c].invert(scaled[j * d + c]);
    h5::write_replicated(group, "centroids", original, d);
    group.write_dataset_attribute("centroids", "units",
                                  "original feature units: the scaled centroid mapped back through the inverse transform "
                                  "(for log1p features a geometric-type mean, not the arithmetic mean of the members)");
  }
  h5::write_replicated(group, "sizes", best.cluster_size);
  h5::write_replicated(group, "weights", best.cluster_weight);
  h5::write_replicated(group, "inertia_history", best.inertia_history);
  group.write_dataset_attribute("sizes", "units", "points (customers)");
  group.write_dataset_attribute("weights", "units", "sum of sample weights (customers when unweighted)");
  group.write_dataset_attribute("inertia_history", "meaning", "sum of w ||x - c||^2 after each iteration's centroid update");

  h5::Group sweep = group.create_group("sweep");
  h5::write_columns(sweep, result.sweep, h5::Column{"k", &KSummary::k}, h5::Column{"inertia", &KSummary::inertia},
                    h5::Column{"silhouette", [](const KSummary& summary) { return summary.metrics.silhouette; }},
                    h5::Column{"calinski_harabasz", [](const KSummary& summary) { return summary.metrics.calinski_harabasz; }},
                    h5::Column{"davies_bouldin", [](const KSummary& summary) { return summary.metrics.davies_bouldin; }},
                    h5::Column{"iterations", &KSummary::iterations}, h5::Column{"best_init", &KSummary::best_init},
                    h5::Column{"converged_reason", &KSummary::stop_reason});
  sweep.write_attribute("chosen_k", chosen.k);
  sweep.write_attribute("silhouette_sample", static_cast<std::int64_t>(settings.silhouette_sample));
  sweep.write_attribute("meaning",
                        "one row per k tried: best inertia over n_init starts, silhouette (higher is better; NaN when not "
                        "computed), Calinski-Harabasz (higher is better), Davies-Bouldin (lower is better), iterations and "
                        "stop reason of the best start; chosen_k is the k kept in /kmeans");

  h5::Group assignments = root.create_group("assignments");
  std::vector<double> distance(best.squared_distances.size());
  for (std::size_t i = 0; i < distance.size(); ++i) distance[i] = std::sqrt(best.squared_distances[i]);
  h5::write_rows(assignments, "customer", std::vector<std::uint64_t>(keys.begin(), keys.end()));
  h5::write_rows(assignments, "segment", best.labels);
  h5::write_rows(assignments, "distance", distance);
  assignments.write_dataset_attribute("distance", "units", "Euclidean distance to the segment centroid in the scaled feature space");
  assignments.write_dataset_attribute("segment", "meaning", "index into /kmeans/centroids (numbering: /kmeans segment_order)");
}


void write_itemsets_and_rules(h5::Group& group, const FpSettings& settings, const FrequentItemsets& itemsets, const RuleTable& rules) {
  comm::Communicator& comm = group.file().comm();
  group.write_attribute("baskets", static_cast<std::int64_t>(itemsets.baskets));
  group.write_attribute("min_support", settings.min_support);
  group.write_attribute("min_support_is_count", static_cast<std::int64_t>(settings.min_support_is_count ? 1 : 0));
  group.write_attribute("min_count", static_cast<std::int64_t>(itemsets.min_count));
  group.write_attribute("max_len", static_cast<std::int64_t>(settings.max_len));
  group.write_attribute("frequent_items", static_cast<std::int64_t>(itemsets.flist.size()));
  group.write_attribute("itemset_count", static_cast<std::int64_t>(itemsets.total));
  group.write_attribute("duplicate_items", static_cast<std::int64_t>(itemsets.duplicate_items));
  group.write_attribute("trimmed_baskets", static_cast<std::int64_t>(itemsets.trimmed_baskets));
  group.write_attribute("order",
                        "itemsets: by least frequent item (F-list position), then size, then items; items within an itemset "
                        "in F-list order (support descending, ties by item id); rules: by their itemset, then consequent");

  h5::Group flist = group.create_group("flist");
  h5::write_replicated(flist, "item", itemsets.flist);
  h5::write_replicated(flist, "support", itemsets.flist_support);
  flist.write_attribute("meaning", "frequent items by support descending, ties by item id; support in baskets");

  // Itemsets: CSR with global offsets (the last rank adds the final end offset).
  h5::Group sets = group.create_group("itemsets");
  const ItemsetTable& local = itemsets.local;
  // Global offsets and item ids are computed as they are written: on dense data the itemsets are
  // most of the model, and full copies of both columns cost more than the writing itself.
  h5::write_distributed_offsets(sets, "offsets", local.offsets);
  h5::write_computed_rows<std::uint32_t>(sets, "items", local.items.size(), [&](std::uint64_t first, std::span<std::uint32_t> ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = itemsets.flist[local.items[first + i]];
  });
  h5::write_rows(sets, "support", local.support);
  sets.write_dataset_attribute("support", "units", "baskets");
  sets.write_dataset_attribute("items", "meaning", "item ids (index into /fpgrowth/items/code); itemset i is items[offsets[i]:offsets[i+1]]");

  h5::Group rule_group = group.create_group("rules");
  h5::write_distributed_offsets(rule_group, "antecedent_offsets", rules.antecedent_offsets);
  h5::write_rows(rule_group, "antecedent", rules.antecedent);
  h5::write_distributed_offsets(rule_group, "consequent_offsets", rules.consequent_offsets);
  h5::write_rows(rule_group, "consequent", rules.consequent);
  h5::write_rows(rule_group, "itemset_count", rules.itemset_count);
  h5::write_rows(rule_group, "antecedent_count", rules.antecedent_count);
  h5::write_rows(rule_group, "consequent_count", rules.consequent_count);
  h5::write_rows(rule_group, "support", rules.support);
  h5::write_rows(rule_group, "confidence", rules.confidence);
  h5::write_rows(rule_group, "lift", rules.lift);
  h5::write_rows(rule_group, "leverage", rules.leverage);
  h5::write_rows(rule_group, "conviction", rules.conviction);
  rule_group.write_attribute("rule_count", static_cast<std::int64_t>(comm.allreduce<std::uint64_t>(rules.size(), comm::ReduceOp::sum)));
  rule_group.write_attribute("min_confidence", settings.min_confidence);
  rule_group.write_attribute("min_lift", settings.min_lift);
  rule_group.write_attribute("definitions",
                             "support = n(X u Y)/N; confidence = n(X u Y)/n(X); lift = confidence / (n(Y)/N); "
                             "leverage = support - n(X)n(Y)/N^2; conviction = (1 - n(Y)/N) / (1 - confidence), inf when confidence = 1");
}

}  // namespace mpiseg::model
