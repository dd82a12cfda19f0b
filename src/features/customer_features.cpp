#include "mpiseg/features/customer_features.hpp"

#include <algorithm>
#include <cmath>

#include "mpiseg/core/civil_time.hpp"

namespace mpiseg::features {
namespace {

using ingest::line_flags::cancellation;

bool is_purchase(const ingest::LineItems& rows, std::size_t i) {
  return rows.quantity[i] > 0 && (rows.flags[i] & cancellation) == 0;
}

bool is_return(const ingest::LineItems& rows, std::size_t i) {
  return rows.quantity[i] < 0 || (rows.flags[i] & cancellation) != 0;
}

double whole_days(std::int64_t seconds) {
  return std::floor(static_cast<double>(seconds) / static_cast<double>(kSecondsPerDay));
}

}  // namespace

LocalCustomerFeatures compute_customer_features(const ingest::LineItems& rows, std::int64_t reference_time,
                                                MonetaryPolicy monetary, bool keep_no_purchase,
                                                const std::vector<std::int32_t>& item_category, std::size_t categories,
                                                std::int64_t lines_before) {
  LocalCustomerFeatures out;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> basket_items;  // purchase (basket, item) pairs
  std::vector<std::uint32_t> items;
  std::vector<double> spend(categories);
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin;
    const std::uint64_t customer = rows.customer[begin];
    while (end < rows.size() && rows.customer[end] == customer) ++end;
    if (customer == ingest::kMissingCustomer) {
      out.lines_without_customer += end - begin;
      begin = end;
      continue;
    }
    const std::size_t next_customer = end;
    // A customer's lines are sorted by time: the window is a prefix of them.
    if (lines_before >= 0)
      while (end > begin && static_cast<std::int64_t>(rows.time[end - 1]) >= lines_before) --end;
    if (end == begin) {
      begin = next_customer;
      continue;
    }
    // One pass over the customer's lines, in their canonical order (so sums are reproducible).
    int128 net_sum = 0, purchase_sum = 0;
    std::int64_t first_purchase = -1, last_purchase = -1;
    std::int64_t first_any = rows.time[begin], last_any = rows.time[begin];
    std::uint64_t returns = 0;
    basket_items.clear();
    items.clear();
    std::fill(spend.begin(), spend.end(), 0.0);
    for (std::size_t i = begin; i < end; ++i) {
      const double value = rows.quantity[i] * rows.price[i];
      const int128 quantized = MoneyGrid::quantize(value);
      net_sum += quantized;
      first_any = std::min<std::int64_t>(first_any, rows.time[i]);
      last_any = std::max<std::int64_t>(last_any, rows.time[i]);
      if (is_return(rows, i)) ++returns;
      if (!is_purchase(rows, i)) continue;
      purchase_sum += quantized;
      if (first_purchase < 0 || rows.time[i] < first_purchase) first_purchase = rows.time[i];
      if (rows.time[i] > last_purchase) last_purchase = rows.time[i];
      basket_items.emplace_back(rows.basket[i], rows.item[i]);
      items.push_back(rows.item[i]);
      if (categories != 0) {
        const std::int32_t category = item_category[rows.item[i]];
        if (category >= 0) spend[static_cast<std::size_t>(category)] += value;
      }
    }
    const double net = MoneyGrid::to_double(net_sum);
    const double purchase_value = MoneyGrid::to_double(purchase_sum);
    const bool purchased = first_purchase >= 0;
    if (!purchased && !keep_no_purchase) {
      ++out.excluded_no_purchase;
      begin = next_customer;
      continue;
    }
    std::sort(basket_items.begin(), basket_items.end());
    basket_items.erase(std::unique(basket_items.begin(), basket_items.end()), basket_items.end());
    std::uint64_t frequency = 0;
    for (std::size_t i = 0; i < basket_items.size(); ++i)
      if (i == 0 || basket_items[i].first != basket_items[i - 1].first) ++frequency;
    std::sort(items.begin(), items.end());
    const auto distinct_items = static_cast<double>(std::unique(items.begin(), items.end()) - items.begin());

    const std::int64_t last = purchased ? last_purchase : last_any;
    const std::int64_t first = purchased ? first_purchase : first_any;
    double mean_gap = 0;
    if (frequency >= 2)
      mean_gap = static_cast<double>(last_purchase - first_purchase) / static_cast<double>(kSecondsPerDay) /
                 static_cast<double>(frequency - 1);
    else
      mean_gap = static_cast<double>(reference_time - first) / static_cast<double>(kSecondsPerDay);

    const double f = static_cast<double>(frequency);
    const double base[kBaseFeatureCount] = {
        whole_days(reference_time - last),                                     // recency_days
        f,                                                                     // frequency
        monetary == MonetaryPolicy::net ? net : purchase_value,                // monetary
        frequency == 0 ? 0.0 : purchase_value / f,                             // avg_basket_value
        frequency == 0 ? 0.0 : static_cast<double>(basket_items.size()) / f,   // avg_items_per_basket
        purchased ? whole_days(last_purchase - first_purchase) : 0.0,          // tenure_days
        distinct_items,                                                        // distinct_items
        static_cast<double>(returns) / static_cast<double>(end - begin),       // return_rate
        mean_gap,                                                              // mean_days_between_purchases
    };
    out.customer.push_back(customer);
    out.base.insert(out.base.end(), base, base + kBaseFeatureCount);
    if (categories != 0) {
      for (double value : spend) out.category_share.push_back(purchase_value > 0 ? value / purchase_value : 0.0);
    }
    begin = next_customer;
  }
  return out;
}

}  // namespace mpiseg::features
