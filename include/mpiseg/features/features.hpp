#pragma once
/// The features stage: customer features with exact global scaling and RFM scores.
///
///   FeatureTable table = features::build_features(settings, ingested, comm);
///   Eigen::Map<const RowMatrix> x(table.scaled.data(), table.rows(), table.cols());
///
/// Global statistics are exact and independent of the rank count: means and variances are
/// computed in two passes with exact fixed-point sums (core/exact_sum.hpp) rather than a
/// Chan/Welford merge, whose result depends on the merge tree; medians, quartiles and RFM
/// quintile cuts are exact order statistics (comm/order_statistics.hpp).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/features/settings.hpp"
#include "mpiseg/ingest/ingest.hpp"

namespace mpiseg::features {

/// The fitted transform of one feature: scaled = (f(raw) - center) / scale, f = log1p after
/// clipping negatives to 0, or identity. A zero-variance feature is scaled to 0.
struct FeatureTransform {
  std::string name;
  TransformSpec spec;
  double center = 0;
  double scale = 1;
  bool zero_variance = false;
  std::uint64_t clipped = 0;  // negative values clipped before log1p (global count)

  double apply(double raw) const noexcept;
  /// Back to original units (log1p inverted by expm1); a zero-variance feature returns center.
  double invert(double scaled) const noexcept;
};

struct FeatureTable {
  std::vector<std::uint64_t> customer;  // this rank's customers, ascending (ranks in key order)
  std::vector<std::string> names;       // matrix columns
  std::vector<FeatureTransform> transforms;
  std::vector<double> raw;     // rows x cols, row-major
  std::vector<double> scaled;  // rows x cols, row-major: the matrix K-means sees
  std::vector<std::uint8_t> rfm_score;   // rows x 3: R, F, M scores 1..5
  std::vector<std::uint16_t> rfm_code;   // 100 R + 10 F + M, e.g. 545
  std::array<std::array<double, 4>, 3> rfm_cuts{};  // quintile cut values of recency, frequency, monetary
  std::int64_t reference_time = 0;
  std::uint64_t customers = 0;             // global
  std::uint64_t excluded_no_purchase = 0;  // global

  std::size_t rows() const noexcept { return customer.size(); }
  std::size_t cols() const noexcept { return names.size(); }
};

/// The features of customers as they stood at a time in the past (propensity models train on
/// such snapshots): only lines before `lines_before` count, and the category columns are given
/// rather than chosen, so that every snapshot has the same columns as the full table.
struct FeatureWindow {
  std::int64_t lines_before = -1;           // seconds; -1: every line
  std::optional<std::vector<std::string>> categories;  // the category_share columns, in order
};

/// Collective. `ingested` must be partitioned by customer (as read_input and read_store give it).
FeatureTable build_features(const FeatureSettings& settings, const ingest::IngestResult& ingested, comm::Communicator& comm,
                            const FeatureWindow& window = {});

/// Prefix of the category-share columns: "category_share:NAME".
inline constexpr std::string_view kCategorySharePrefix = "category_share:";

/// The categories of the category_share columns among `names`, in column order.
std::vector<std::string> share_categories(std::span<const std::string> names);

/// For each item, the index of its category in `categories`, or -1.
std::vector<std::int32_t> category_of_items(const ingest::ItemDictionary& items, const std::vector<std::string>& categories);

/// Applies fitted transforms to raw rows (scoring new customers with a model's scaler).
std::vector<double> apply_transforms(const std::vector<FeatureTransform>& transforms, const std::vector<double>& raw);

}  // namespace mpiseg::features
