#pragma once
/// Per-customer behaviour features, computed locally from the lines of customers that are
/// entirely on this rank (what ingest guarantees). Definitions (also in the README):
///
///  A *purchase line* is a line with quantity > 0 that is not on a cancellation invoice; a
///  *purchase basket* is an invoice with at least one purchase line. t_ref is the reference time.
///
///   recency_days                 floor((t_ref - time of the last purchase line) / 1 day)
///   frequency                    number of distinct purchase baskets
///   monetary                     sum of quantity x unit price over all lines (returns included);
///                                with [features] monetary = "purchases", over purchase lines only
///   avg_basket_value             sum of quantity x unit price over purchase lines / frequency
///   avg_items_per_basket         mean over purchase baskets of the number of distinct items
///   tenure_days                  floor((last purchase line time - first purchase line time) / 1 day)
///   distinct_items               distinct items on purchase lines
///   return_rate                  lines with quantity < 0 or on a cancellation invoice / all lines
///   mean_days_between_purchases  (last - first purchase line time) / (frequency - 1), in days;
///                                for frequency 1: (t_ref - that purchase) in days, the time it has
///                                lasted so far (a lower bound of the unobserved interval)
///
/// Customers without any purchase line are excluded unless keep_no_purchase; then recency and
/// mean_days_between_purchases use their last and first line of any kind, and the purchase
/// features are 0.
#include <cstdint>
#include <vector>

#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/features/settings.hpp"
#include "mpiseg/ingest/line_items.hpp"

namespace mpiseg::features {

inline constexpr std::size_t kBaseFeatureCount = 9;

struct LocalCustomerFeatures {
  std::vector<std::uint64_t> customer;  // ascending
  std::vector<double> base;             // customers x kBaseFeatureCount, base_feature_names() order
  std::vector<double> category_share;   // customers x category count: share of purchase spend per category
  std::uint64_t excluded_no_purchase = 0;
  std::uint64_t lines_without_customer = 0;
};

/// Only lines with time < `lines_before` count (-1: all); a customer with none is absent.
/// `item_category[item]` is the index of the item's category among the chosen categories, or -1.
/// Money sums (monetary, avg_basket_value) are exact sums of the line values quantity x price on
/// MoneyGrid (core/exact_sum.hpp), rounded once: a customer whose returns cancel their purchases
/// has monetary exactly 0, not +-1e-13 depending on the order, and no other line can change the
/// grid.
LocalCustomerFeatures compute_customer_features(const ingest::LineItems& rows, std::int64_t reference_time,
                                                MonetaryPolicy monetary, bool keep_no_purchase,
                                                const std::vector<std::int32_t>& item_category, std::size_t categories,
                                                std::int64_t lines_before = -1);

}  // namespace mpiseg::features
