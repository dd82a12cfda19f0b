#pragma once
/// The planted world behind `mpiseg generate`: an item catalogue, customer segments with their
/// behaviour, and co-purchase itemsets. Everything is a pure function of the generator settings,
/// so every rank builds the same catalogue without communication.
#include <cstdint>
#include <string>
#include <vector>

namespace mpiseg::generate {

struct CatalogueItem {
  std::string code;         // StockCode, unique
  std::string description;  // may contain a comma or a double quote (exercises CSV quoting)
  std::int64_t price_cents;
};

/// How the customers of one latent segment behave.
struct SegmentProfile {
  std::string name;               // archetype, e.g. "champions"
  double weight;                  // share of customers
  double baskets_per_month;       // purchase rate while active
  double lines_per_basket;        // mean basket size
  double quantity_mean;           // mean units per line
  double return_propensity;       // multiplies generate.return_rate
  int first_active_month;         // customers start in [first_active_month, first_active_month + 1]
  int last_active_month;          // and stop after this month (churn); inclusive
  std::uint64_t preference_offset;  // segment-specific permutation of item popularity ranks
  std::uint64_t preference_stride;
  int home_country;
};

/// A co-purchase pattern inserted into baskets (with each item dropped with `corruption`).
struct PlantedItemset {
  std::vector<std::uint32_t> items;  // catalogue indices
  double frequency;                  // probability a basket receives it
  int home_segment;                  // where it is three times as frequent
};

struct CatalogueSettings {
  std::uint64_t seed = 42;
  std::uint32_t items = 2000;
  std::uint32_t segments = 6;
  std::uint32_t planted_itemsets = 12;
  int months = 12;
  friend bool operator==(const CatalogueSettings&, const CatalogueSettings&) = default;
};

class Catalogue {
 public:
  explicit Catalogue(const CatalogueSettings& settings);

  const std::vector<CatalogueItem>& items() const noexcept { return items_; }
  const std::vector<SegmentProfile>& segments() const noexcept { return segments_; }
  const std::vector<PlantedItemset>& planted() const noexcept { return planted_; }
  const std::vector<std::string>& countries() const noexcept { return countries_; }
  double planted_corruption() const noexcept { return 0.1; }

  /// Draws a catalogue index for a customer of `segment` from a Zipf popularity law over a
  /// segment-specific permutation of the catalogue; `uniform` in [0, 1).
  std::uint32_t draw_item(std::uint32_t segment, double uniform) const noexcept;
  /// Segment of a customer from a uniform draw, by segment weights.
  std::uint32_t draw_segment(double uniform) const noexcept;

 private:
  std::vector<CatalogueItem> items_;
  std::vector<SegmentProfile> segments_;
  std::vector<PlantedItemset> planted_;
  std::vector<std::string> countries_;
  std::vector<double> popularity_cdf_;  // over popularity ranks
  std::vector<double> segment_cdf_;
};

}  // namespace mpiseg::generate
