#include "mpiseg/pipeline/score.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <tuple>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/features/customer_features.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/kmeans/assignment.hpp"
#include "mpiseg/model/stage_groups.hpp"
#include "mpiseg/model/export.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/pipeline/input.hpp"
#include "mpiseg/model/propensity_group.hpp"
#include "mpiseg/model/recommend_group.hpp"

namespace mpiseg::pipeline {
namespace {

struct ScoredRecommendations {
  std::string method;
  recommend::Recommendations lists;
};

/// The stored model's recommendations for customers it was not trained on: their lines (items the
/// model does not know are left out) against the stored item side (buyer counts, neighbour lists,
/// item factors). Rules are not scored here: they live in /fpgrowth, mined from the training data.
std::vector<ScoredRecommendations> recommend_for(const model::StoredRecommendations& stored, const ingest::IngestResult& data,
                                                 std::span<const std::uint64_t> customers, std::span<const std::int32_t> labels,
                                                 std::int64_t reference, comm::Communicator& comm) {
  const std::vector<std::string>& codes = stored.items.code;  // ids are the codes in byte order
  std::vector<std::int64_t> model_id(data.items.size(), -1);
  for (std::size_t i = 0; i < data.items.size(); ++i) {
    const auto found = std::lower_bound(codes.begin(), codes.end(), data.items.code[i]);
    if (found != codes.end() && *found == data.items.code[i]) model_id[i] = found - codes.begin();
  }
  recommend::Interactions bought = recommend::collect_interactions(data.rows, customers, std::numeric_limits<std::int64_t>::min(),
                                                                   std::numeric_limits<std::int64_t>::max());
  const std::uint64_t unknown = comm.allreduce(recommend::translate_items(bought, model_id), comm::ReduceOp::sum);
  if (unknown > 0) log::info("score: {} (customer, item) pairs name items the model does not know: they cannot be recommended from", unknown);
  const recommend::ItemLists excluded = recommend::items_since(bought, stored.exclude_days > 0 ? reference - stored.exclude_days * kSecondsPerDay : -1);
  const auto n = static_cast<std::size_t>(stored.n), n_items = codes.size();
  // item_cf and als saw each customer's most recent items only; so do their scores here.
  recommend::Interactions recent = bought;
  (void)recommend::keep_recent_items(recent, static_cast<std::size_t>(stored.max_items_per_customer));
  std::vector<ScoredRecommendations> out;
  for (const model::StoredMethod& method : stored.methods) {
    if (method.name == "popularity") {
      out.push_back({method.name, recommend::recommend_popular(stored.popularity, labels, false, excluded, n)});
    } else if (method.name == "segment_popularity") {
      if (labels.empty() || static_cast<std::int64_t>(stored.popularity.segment_customers.size()) != stored.segments) continue;
      out.push_back({method.name, recommend::recommend_popular(stored.popularity, labels, true, excluded, n)});
    } else if (method.name == "item_cf") {
      recommend::ItemNeighbours neighbours;
      neighbours.neighbours.offsets = stored.neighbour_offsets;
      neighbours.neighbours.item = stored.neighbour_item;
      neighbours.similarity = stored.neighbour_similarity;
      out.push_back({method.name, recommend::recommend_by_neighbours(neighbours, recent, excluded, n)});
    } else if (method.name == "als") {
      recommend::AlsModel als;
      als.factors = stored.factors;
      als.item_factors = stored.item_factors;
      const recommend::AlsSettings settings{stored.factors, stored.regularization, stored.alpha, 0, 0, stored.values};
      als.customer_factors = recommend::solve_customer_factors(settings, als.item_factors, n_items, recent);
      std::vector<std::uint8_t> candidates(n_items);
      for (std::size_t i = 0; i < n_items; ++i) candidates[i] = stored.popularity.buyers[i] > 0 ? 1 : 0;
      out.push_back({method.name, recommend::recommend_by_factors(als, candidates, excluded, n)});
    } else {
      log::info("score: method {} is not scored for new customers (its rules are in /fpgrowth)", method.name);
    }
  }
  return out;
}

}  // namespace

ScoreSummary score_customers(const JobConfig& job, const std::filesystem::path& model_path, const std::filesystem::path& out,
                             comm::Communicator& comm) {
  // The model's transform and centroids, its propensity models and its recommenders.
  h5::File model = model::open_model_file(model_path, comm);
  const bool has_segments = model.root().exists("kmeans"), has_propensity = model.root().exists("propensity");
  const bool has_recommend = model.root().exists("recommend"), has_features = has_segments || has_propensity;
  if (!has_features && !has_recommend)
    throw IoError(fmt::format("{}: no /kmeans, /propensity or /recommend: nothing to score with", model_path.string()));
  const model::KMeansGroup segments = has_segments ? model::read_kmeans_group(model.root()) : model::KMeansGroup{};
  const std::optional<model::StoredPropensity> propensities =
      has_propensity ? std::optional(model::read_propensity(model.root())) : std::nullopt;
  const std::optional<model::StoredRecommendations> recommender =
      has_recommend ? std::optional(model::read_recommend(model.root(), false)) : std::nullopt;
  if (propensities && propensities->segment_count != 0 && (!has_segments || segments.k != propensities->segment_count))
    throw IoError(fmt::format("{}: /propensity has models for {} segments, /kmeans {}", model_path.string(), propensities->segment_count,
                              has_segments ? fmt::format("has {}", segments.k) : std::string("is missing")));
  const std::vector<features::FeatureTransform> transforms =
      has_segments ? model::read_transforms(model.root()) : has_propensity ? propensities->transforms : std::vector<features::FeatureTransform>{};
  const std::vector<std::string> names = has_segments ? segments.feature_names : has_propensity ? propensities->feature_names : std::vector<std::string>{};
  const std::vector<double>& centroid_values = segments.centroids_scaled;
  model.close();
  const std::size_t d = names.size();
  if (transforms.size() != d)
    throw IoError(fmt::format("{}: /features and /kmeans have different feature lists", model_path.string()));
  for (std::size_t j = 0; j < d; ++j)
    if (transforms[j].name != names[j]) throw IoError(fmt::format("{}: feature {} is '{}' in /features but '{}' in /kmeans", model_path.string(), j, transforms[j].name, names[j]));
  if (propensities && propensities->feature_names != names)
    throw IoError(fmt::format("{}: /propensity/feature_names differ from /kmeans/feature_names", model_path.string()));
  const std::size_t k = segments.k;

  // The new customers' raw features, as the model defines them.
  const ingest::IngestResult data = load_transactions(job, out, comm);
  if (data.from_basket_file()) throw ConfigError("score needs line items with customers, not a basket file");
  const features::FeatureSettings settings = features::FeatureSettings::from_job(job);
  std::int64_t reference = settings.reference_time;
  if (reference < 0) reference = ingest::line_span(data.rows, comm).data_end();
  const std::vector<std::string> categories = features::share_categories(names);
  const std::vector<std::int32_t> item_category = features::category_of_items(data.items, categories);
  features::LocalCustomerFeatures local = features::compute_customer_features(
      data.rows, reference, settings.monetary, settings.keep_no_purchase, item_category, categories.size());
  if (!has_features) local.customer = recommend::purchasing_customers(data.rows);  // a recommender only: its customers
  const auto base = features::base_feature_names();
  const std::size_t n = local.customer.size();
  std::vector<double> raw(n * d);
  for (std::size_t j = 0; j < d; ++j) {
    const auto found = std::find(base.begin(), base.end(), names[j]);
    const auto category = std::find(categories.begin(), categories.end(), names[j].substr(std::min(names[j].size(), features::kCategorySharePrefix.size())));
    for (std::size_t i = 0; i < n && has_features; ++i) {
      if (found != base.end())
        raw[i * d + j] = local.base[i * features::kBaseFeatureCount + static_cast<std::size_t>(found - base.begin())];
      else if (category != categories.end())
        raw[i * d + j] = local.category_share[i * categories.size() + static_cast<std::size_t>(category - categories.begin())];
      else
        throw IoError(fmt::format("{}: feature '{}' is not one mpiseg can compute from line items", model_path.string(), names[j]));
    }
  }
  const std::vector<double> scaled = features::apply_transforms(transforms, raw);

  // Nearest centroid with the same deterministic kernel as K-means.
  std::vector<std::int32_t> labels(n, -1);
  std::vector<double> squared(n, std::numeric_limits<double>::quiet_NaN());
  if (has_segments) labels = kmeans::nearest_centroids(scaled, n, d, centroid_values, k, squared.data());

  // Propensity: the stored scaler, then each target's model (the segment's own where it scores its segment).
  std::vector<model::ScoreColumn> score_columns;
  std::vector<std::vector<std::int32_t>> scored_by;
  if (propensities) {
    const std::vector<double> propensity_scaled = features::apply_transforms(propensities->transforms, raw);
    for (const model::StoredTarget& target : propensities->targets) {
      model::ScoreColumn column{"propensity:" + target.text, std::vector<double>(n), {}};
      std::vector<std::int32_t> by(n);
      for (std::size_t i = 0; i < n; ++i)
        std::tie(column.values[i], by[i]) = model::score_row(*propensities, target, &propensity_scaled[i * d], labels[i]);
      score_columns.push_back(std::move(column));
      scored_by.push_back(std::move(by));
    }
  }

  // Recommendations: one column per method (item codes, best first) or /recommend/METHOD lists.
  std::vector<ScoredRecommendations> recommended;
  if (recommender) {
    recommended = recommend_for(*recommender, data, local.customer, has_segments ? std::span<const std::int32_t>(labels) : std::span<const std::int32_t>(),
                                reference, comm);
    for (const ScoredRecommendations& method : recommended) {
      model::ScoreColumn column{"recommend:" + method.method, std::vector<double>(n), std::vector<std::string>(n)};
      for (std::size_t i = 0; i < n; ++i)
        for (std::uint64_t e = method.lists.offsets[i]; e < method.lists.offsets[i + 1]; ++e)
          (column.text[i] += e == method.lists.offsets[i] ? "" : " ") += recommender->items.code[method.lists.item[e]];
      score_columns.push_back(std::move(column));
    }
  }

  ScoreSummary summary;
  summary.customers = comm.allreduce<std::uint64_t>(n, comm::ReduceOp::sum);
  summary.per_segment.assign(k, 0);
  for (std::int32_t label : labels)
    if (label >= 0) ++summary.per_segment[static_cast<std::size_t>(label)];
  comm.allreduce(std::span(summary.per_segment), comm::ReduceOp::sum);

  if (out.extension() == ".csv") {
    model::write_assignments_csv(out, local.customer, labels, squared, data.customer_names, comm, false, score_columns);
  } else {
    h5::File file = model::create_model_file(out, comm);
    h5::Group root = file.root();
    root.write_attribute("scored_with", model_path.string());
    h5::Group group = root.create_group("assignments");
    std::vector<double> distance(n);
    for (std::size_t i = 0; i < n; ++i) distance[i] = std::sqrt(squared[i]);
    h5::write_rows(group, "customer", local.customer);
    h5::write_rows(group, "segment", labels);
    h5::write_rows(group, "distance", distance);
    group.write_dataset_attribute("distance", "units", "Euclidean distance to the segment centroid in the model's scaled feature space");
    if (propensities) {
      h5::Group scores = root.create_group("propensity");
      for (std::size_t t = 0; t < propensities->targets.size(); ++t) {
        h5::Group target = scores.create_group(propensities->targets[t].name);
        target.write_attribute("target", propensities->targets[t].text);
        h5::write_rows(target, "scores", score_columns[t].values);
        h5::write_rows(target, "scored_by", scored_by[t]);
      }
    }
    if (recommender) {
      h5::Group group_recommend = root.create_group("recommend");
      h5::write_strings(group_recommend, "item_codes", recommender->items.code);
      for (const ScoredRecommendations& method : recommended) {
        h5::Group lists = group_recommend.create_group(method.method);
        std::vector<std::uint64_t> counts(n);
        for (std::size_t i = 0; i < n; ++i) counts[i] = method.lists.offsets[i + 1] - method.lists.offsets[i];
        h5::write_rows(lists, "counts", counts);
        h5::write_rows(lists, "items", method.lists.item);
        h5::write_rows(lists, "scores", method.lists.score);
        lists.write_attribute("meaning", "customer i (/assignments/customer) gets counts[i] items (ids into ../item_codes), best first");
      }
    }
    file.commit();
  }
  log::info("score: {} customers scored with {}: {} segments, {} propensity target(s), {} recommender(s) (reference date {})",
            summary.customers, model_path.string(), k, propensities ? propensities->targets.size() : 0, recommended.size(),
            format_date(reference));
  return summary;
}

}  // namespace mpiseg::pipeline
