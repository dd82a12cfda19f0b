#include "mpiseg/features/features.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/features/customer_features.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::features {
namespace {

/// Exact global sum of `values` (rank-count independent); `bound` must be a global bound of |value|.
double exact_sum(const std::vector<double>& values, double bound, comm::Communicator& comm) {
  const auto grid = FixedPointGrid::for_bound(bound);
  int128 sum = 0;
  for (double value : values) sum += grid.quantize(value);
  comm::allreduce_exact(std::span(&sum, 1), comm);
  return grid.to_double(sum);
}

/// Fits the scaling of one column (already log-transformed if requested).
void fit_scaling(FeatureTransform& transform, const std::vector<double>& column, std::uint64_t n, comm::Communicator& comm) {
  switch (transform.spec.scaling) {
    case Scaling::none:
      transform.center = 0;
      transform.scale = 1;
      return;
    case Scaling::zscore: {
      // Two passes with exact sums: the mean, then the mean squared deviation (population).
      const double bound = comm::global_max_abs(column, comm, transform.name);
      const double mean = n == 0 ? 0.0 : exact_sum(column, bound, comm) / static_cast<double>(n);
      std::vector<double> squares(column.size());
      double local_max = 0;
      for (std::size_t i = 0; i < column.size(); ++i) {
        squares[i] = (column[i] - mean) * (column[i] - mean);
        local_max = std::max(local_max, squares[i]);
      }
      const double square_bound = comm.allreduce(local_max, comm::ReduceOp::max);
      const double variance = n == 0 ? 0.0 : exact_sum(squares, square_bound, comm) / static_cast<double>(n);
      transform.center = mean;
      transform.scale = std::sqrt(variance);
      break;
    }
    case Scaling::robust: {
      const std::vector<double> probabilities = {0.25, 0.5, 0.75};
      const std::vector<double> q = comm::quantiles(column, probabilities, comm);
      transform.center = q[1];
      transform.scale = q[2] - q[0];
      break;
    }
  }
  transform.zero_variance = !(transform.scale > 0);
  if (transform.zero_variance) transform.scale = 1;
}

/// Category of each item among the `top` categories with the most purchase spend, or -1.
std::vector<std::int32_t> choose_categories(const ingest::IngestResult& ingested, std::uint32_t top, comm::Communicator& comm,
                                            std::vector<std::string>& chosen) {
  std::vector<std::int32_t> item_category(ingested.items.size(), -1);
  if (!ingested.has_category || top == 0) return item_category;
  std::vector<std::string> names = ingested.items.category;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  names.erase(std::remove(names.begin(), names.end(), std::string()), names.end());
  std::vector<std::int32_t> category_of_item(ingested.items.size(), -1);
  for (std::size_t i = 0; i < ingested.items.size(); ++i) {
    const auto found = std::lower_bound(names.begin(), names.end(), ingested.items.category[i]);
    if (found != names.end() && *found == ingested.items.category[i]) category_of_item[i] = static_cast<std::int32_t>(found - names.begin());
  }
  // Exact global spend per category, so the ranking cannot depend on the rank count.
  const ingest::LineItems& rows = ingested.rows;
  double local_bound = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) local_bound = std::max(local_bound, std::abs(rows.quantity[i] * rows.price[i]));
  const auto grid = FixedPointGrid::for_bound(comm.allreduce(local_bound, comm::ReduceOp::max));
  std::vector<int128> spend(names.size(), 0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int32_t category = category_of_item[rows.item[i]];
    if (category >= 0 && rows.quantity[i] > 0 && (rows.flags[i] & ingest::line_flags::cancellation) == 0 &&
        rows.customer[i] != ingest::kMissingCustomer)
      spend[static_cast<std::size_t>(category)] += grid.quantize(rows.quantity[i] * rows.price[i]);
  }
  comm::allreduce_exact(spend, comm);
  std::vector<std::size_t> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return spend[a] != spend[b] ? spend[a] > spend[b] : a < b; });
  order.resize(std::min<std::size_t>(order.size(), top));
  std::vector<std::int32_t> rank_of_category(names.size(), -1);
  for (std::size_t k = 0; k < order.size(); ++k) {
    rank_of_category[order[k]] = static_cast<std::int32_t>(k);
    chosen.push_back(names[order[k]]);
  }
  for (std::size_t i = 0; i < item_category.size(); ++i)
    if (category_of_item[i] >= 0) item_category[i] = rank_of_category[static_cast<std::size_t>(category_of_item[i])];
  return item_category;
}

}  // namespace

double FeatureTransform::apply(double raw) const noexcept {
  const double value = spec.log1p ? std::log1p(std::max(raw, 0.0)) : raw;
  if (spec.scaling == Scaling::none) return value;
  if (zero_variance) return 0.0;
  return (value - center) / scale;
}

double FeatureTransform::invert(double scaled) const noexcept {
  const double value = spec.scaling == Scaling::none ? scaled : (zero_variance ? center : scaled * scale + center);
  return spec.log1p ? std::expm1(value) : value;
}

std::vector<double> apply_transforms(const std::vector<FeatureTransform>& transforms, const std::vector<double>& raw) {
  const std::size_t d = transforms.size();
  std::vector<double> scaled(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) scaled[i] = transforms[i % d].apply(raw[i]);
  return scaled;
}

std::vector<std::string> share_categories(std::span<const std::string> names) {
  std::vector<std::string> categories;
  for (const std::string& name : names)
    if (name.starts_with(kCategorySharePrefix)) categories.push_back(name.substr(kCategorySharePrefix.size()));
  return categories;
}

std::vector<std::int32_t> category_of_items(const ingest::ItemDictionary& items, const std::vector<std::string>& categories) {
  std::vector<std::int32_t> category(items.size(), -1);
  for (std::size_t i = 0; i < items.size() && i < items.category.size(); ++i) {
    const auto found = std::find(categories.begin(), categories.end(), items.category[i]);
    if (found != categories.end()) category[i] = static_cast<std::int32_t>(found - categories.begin());
  }
  return category;
}

FeatureTable build_features(const FeatureSettings& settings, const ingest::IngestResult& ingested, comm::Communicator& comm,
                            const FeatureWindow& window) {
  const Stopwatch watch;
  if (ingested.from_basket_file())
    throw ConfigError("customer features need line items with customers; the input is a basket file");
  FeatureTable table;
  const ingest::LineItems& rows = ingested.rows;

  // Reference time: configured, or midnight after the last timestamp in the data.
  if (settings.reference_time >= 0) {
    table.reference_time = settings.reference_time;
  } else {
    std::uint32_t last = 0;
    for (std::uint32_t time : rows.time) last = std::max(last, time);
    last = comm.allreduce(last, comm::ReduceOp::max);
    table.reference_time = (static_cast<std::int64_t>(last) / kSecondsPerDay + 1) * kSecondsPerDay;
  }

  std::vector<std::string> categories;
  std::vector<std::int32_t> item_category;
  if (window.categories) {
    categories = *window.categories;
    item_category = ingested.has_category ? category_of_items(ingested.items, categories)
                                          : std::vector<std::int32_t>(ingested.items.size(), -1);
  } else {
    item_category = choose_categories(ingested, settings.top_categories, comm, categories);
  }
  const LocalCustomerFeatures local = compute_customer_features(rows, table.reference_time, settings.monetary,
                                                                settings.keep_no_purchase, item_category, categories.size(),
                                                                window.lines_before);
  const std::size_t n = local.customer.size();
  table.customer = local.customer;
  table.customers = comm.allreduce<std::uint64_t>(n, comm::ReduceOp::sum);
  table.excluded_no_purchase = comm.allreduce(local.excluded_no_purchase, comm::ReduceOp::sum);
  if (table.customers == 0) throw InputError("no customer with a purchase: nothing to compute features for");

  // Matrix columns: the included base features, then the category shares.
  const auto base_names = base_feature_names();
  std::vector<std::size_t> base_columns;
  for (const std::string& name : settings.include) {
    table.names.push_back(name);
    base_columns.push_back(static_cast<std::size_t>(std::find(base_names.begin(), base_names.end(), name) - base_names.begin()));
  }
  for (const std::string& category : categories) table.names.push_back(std::string(kCategorySharePrefix) + category);
  const std::size_t d = table.names.size();
  table.raw.resize(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < base_columns.size(); ++j) table.raw[i * d + j] = local.base[i * kBaseFeatureCount + base_columns[j]];
    for (std::size_t k = 0; k < categories.size(); ++k) table.raw[i * d + base_columns.size() + k] = local.category_share[i * categories.size() + k];
  }

  // Transforms fitted on global statistics, one column at a time.
  table.scaled.resize(n * d);
  std::vector<std::string> zero_variance;
  for (std::size_t j = 0; j < d; ++j) {
    FeatureTransform transform;
    transform.name = table.names[j];
    transform.spec = settings.transform_for(transform.name);
    std::vector<double> column(n);
    std::uint64_t clipped = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double value = table.raw[i * d + j];
      if (transform.spec.log1p) {
        if (value < 0) ++clipped;
        value = std::log1p(std::max(value, 0.0));
      }
      column[i] = value;
    }
    transform.clipped = comm.allreduce(clipped, comm::ReduceOp::sum);
    fit_scaling(transform, column, table.customers, comm);
    if (transform.zero_variance && transform.spec.scaling != Scaling::none) zero_variance.push_back(transform.name);
    for (std::size_t i = 0; i < n; ++i)
      table.scaled[i * d + j] = transform.spec.scaling == Scaling::none ? column[i]
                                : transform.zero_variance                ? 0.0
                                                                         : (column[i] - transform.center) / transform.scale;
    if (transform.clipped != 0)
      log::info("features: {}: {} negative value(s) clipped to 0 before log1p", transform.name, transform.clipped);
    table.transforms.push_back(std::move(transform));
  }
  if (!zero_variance.empty())
    log::warn("features: zero variance, scaled to 0: {}", fmt::join(zero_variance, ", "));

  // RFM scores from exact quintile cuts: the j-th cut is the value of rank ceil(j n / 5) (1-based);
  // a customer's score is 1 + the number of cuts strictly below its value, so equal values get
  // equal scores. Recency is negated, so that 5 means most recent.
  std::array<std::vector<double>, 3> rfm_values;
  for (std::size_t i = 0; i < n; ++i) {
    rfm_values[0].push_back(-local.base[i * kBaseFeatureCount + 0]);
    rfm_values[1].push_back(local.base[i * kBaseFeatureCount + 1]);
    rfm_values[2].push_back(local.base[i * kBaseFeatureCount + 2]);
  }
  std::vector<std::uint64_t> cut_ranks;
  for (std::uint64_t j = 1; j <= 4; ++j) cut_ranks.push_back((j * table.customers + 4) / 5 - 1);
  table.rfm_score.resize(n * 3);
  table.rfm_code.resize(n);
  for (std::size_t f = 0; f < 3; ++f) {
    const std::vector<double> cuts = comm::select_values(rfm_values[f], cut_ranks, comm);
    for (std::size_t c = 0; c < 4; ++c) table.rfm_cuts[f][c] = f == 0 ? -cuts[c] : cuts[c];
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t score = 1;
      for (double cut : cuts) score += rfm_values[f][i] > cut ? 1 : 0;
      table.rfm_score[i * 3 + f] = score;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    table.rfm_code[i] = static_cast<std::uint16_t>(100 * table.rfm_score[i * 3] + 10 * table.rfm_score[i * 3 + 1] + table.rfm_score[i * 3 + 2]);

  log::info("features: {} customers x {} features ({} without any purchase excluded{}), reference {}; {:.0f} bytes per customer; {:.2f} s",
            table.customers, d, table.excluded_no_purchase, settings.keep_no_purchase ? ", kept" : "",
            format_date(table.reference_time), static_cast<double>(sizeof(std::uint64_t) + 2 * d * sizeof(double) + 3 + 2),
            watch.seconds());
  return table;
}

}  // namespace mpiseg::features
