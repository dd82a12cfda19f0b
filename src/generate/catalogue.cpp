#include "mpiseg/generate/catalogue.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "mpiseg/core/random.hpp"

namespace mpiseg::generate {
namespace {

constexpr std::uint64_t kStreamItems = 101;
constexpr std::uint64_t kStreamSegments = 102;
constexpr std::uint64_t kStreamPlanted = 103;

constexpr const char* kColours[] = {"RED", "BLUE", "PINK", "WHITE", "GREEN", "IVORY", "BLACK", "VINTAGE",
                                    "PASTEL", "SILVER", "GOLD", "CREAM", "RETRO", "SPOTTY", "STRIPED", "FLORAL"};
constexpr const char* kMaterials[] = {"METAL", "GLASS", "CERAMIC", "WOODEN", "PAPER", "FELT", "ENAMEL", "ZINC",
                                      "COTTON", "WICKER", "TIN", "PORCELAIN"};
constexpr const char* kNouns[] = {"LANTERN", "MUG", "TEA SET", "CAKE STAND", "HEART T-LIGHT HOLDER", "DOORMAT",
                                  "PICTURE FRAME", "LUNCH BAG", "JUMBO BAG", "NAPKINS", "CANDLE", "BUNTING",
                                  "WATER BOTTLE", "GIFT WRAP", "CLOCK", "STORAGE TIN", "PHOTO ALBUM", "COAT HANGER",
                                  "SIGN", "PARASOL", "BAKING SET", "CHALKBOARD", "GARLAND", "CUSHION COVER"};
constexpr const char* kCountries[] = {"United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands",
                                      "Belgium", "Switzerland", "Portugal", "Australia", "Norway", "Italy"};

template <class T, std::size_t N>
const T& pick(const T (&values)[N], std::uint64_t index) {
  return values[index % N];
}

// Archetypes whose R, F and M profiles differ clearly, so that K-means has structure to find:
// every archetype is compact in (recency, frequency, monetary, basket value, basket size, tenure).
struct Archetype {
  const char* name;
  double weight, rate, lines, quantity, returns;
  double first_fraction, last_fraction;  // active window as fractions of the period
};
constexpr Archetype kArchetypes[] = {
    {"champions", 0.10, 4.0, 24, 6, 1.0, 0.0, 1.0},
    {"loyal", 0.22, 1.5, 8, 3, 1.0, 0.0, 1.0},
    {"new", 0.14, 2.5, 8, 3, 0.5, 0.85, 1.0},
    {"churned", 0.18, 1.5, 8, 3, 1.5, 0.0, 0.22},
    {"bargain", 0.28, 1.0, 2, 1, 0.5, 0.0, 1.0},
    {"wholesale", 0.08, 0.6, 40, 40, 2.0, 0.0, 1.0},
};

std::uint64_t coprime_stride(std::uint64_t n, std::uint64_t start) {
  if (n <= 1) return 1;
  for (std::uint64_t stride = start % n; ; stride = (stride + 1) % n)
    if (stride != 0 && std::gcd(stride, n) == 1) return stride;
}

}  // namespace

Catalogue::Catalogue(const CatalogueSettings& settings) {
  const std::uint32_t n_items = std::max<std::uint32_t>(settings.items, 1);
  items_.reserve(n_items);
  for (std::uint32_t i = 0; i < n_items; ++i) {
    CounterRng rng(settings.seed, i, kStreamItems);
    CatalogueItem item;
    // Codes look like Online Retail's: a 5-digit number, sometimes with a letter variant.
    item.code = fmt::format("{}", 20000 + i);
    if (i % 7 == 3) item.code += static_cast<char>('A' + rng.below(4));
    const std::uint64_t shape = rng.next_u64();
    std::string description = fmt::format("{} {} {}", pick(kColours, shape), pick(kMaterials, shape >> 8),
                                          pick(kNouns, shape >> 16));
    if (i % 23 == 5) description = fmt::format("SET OF {} {}, {}", 2 + i % 5, pick(kNouns, shape >> 16), pick(kColours, shape));
    if (i % 31 == 7) description = fmt::format("{}\" {} FRAME", 5 + i % 7, pick(kColours, shape));
    if (i % 97 == 11) description += " \xc2\xa3" "1 OFFER";  // UTF-8 pound sign, as in the real data
    item.description = std::move(description);
    // Log-normal prices around 2.50, in whole cents.
    const double price = 2.5 * std::exp(0.9 * rng.normal());
    item.price_cents = std::max<std::int64_t>(10, std::llround(price * 100.0));
    items_.push_back(std::move(item));
  }

  popularity_cdf_.resize(n_items);
  double total = 0;
  for (std::uint32_t rank = 0; rank < n_items; ++rank) {
    total += 1.0 / std::pow(static_cast<double>(rank) + 1.0, 1.05);
    popularity_cdf_[rank] = total;
  }
  for (double& value : popularity_cdf_) value /= total;

  const std::uint32_t n_segments = std::max<std::uint32_t>(settings.segments, 1);
  double weight_total = 0;
  for (std::uint32_t s = 0; s < n_segments; ++s) {
    CounterRng rng(settings.seed, s, kStreamSegments);
    const Archetype& archetype = kArchetypes[s % std::size(kArchetypes)];
    auto jitter = [&](double value) { return value * (0.9 + 0.2 * rng.uniform()); };
    SegmentProfile profile;
    profile.name = s < std::size(kArchetypes) ? archetype.name : fmt::format("{}_{}", archetype.name, s / std::size(kArchetypes));
    profile.weight = jitter(archetype.weight);
    profile.baskets_per_month = jitter(archetype.rate);
    profile.lines_per_basket = jitter(archetype.lines);
    profile.quantity_mean = jitter(archetype.quantity);
    profile.return_propensity = archetype.returns;
    const int last_month = settings.months - 1;
    profile.first_active_month = static_cast<int>(std::floor(archetype.first_fraction * last_month));
    profile.last_active_month = std::max(profile.first_active_month, static_cast<int>(std::ceil(archetype.last_fraction * last_month)));
    profile.preference_offset = rng.below(n_items);
    profile.preference_stride = s == 0 ? 1 : coprime_stride(n_items, 1 + rng.below(n_items));
    profile.home_country = static_cast<int>(s % 3 == 0 ? 0 : rng.below(std::size(kCountries)));
    weight_total += profile.weight;
    segments_.push_back(std::move(profile));
  }
  double cumulative = 0;
  for (SegmentProfile& profile : segments_) {
    profile.weight /= weight_total;
    cumulative += profile.weight;
    segment_cdf_.push_back(cumulative);
  }
  segment_cdf_.back() = 1.0;

  // Planted itemsets use mid-popularity items, so they stand out from the popular background.
  for (std::uint32_t j = 0; j < settings.planted_itemsets && n_items >= 20; ++j) {
    CounterRng rng(settings.seed, j, kStreamPlanted);
    PlantedItemset itemset;
    const std::uint64_t size = 2 + rng.below(4);
    const std::uint64_t low = n_items / 20, high = std::max<std::uint64_t>(low + size + 1, n_items / 2);
    while (itemset.items.size() < size) {
      const auto item = static_cast<std::uint32_t>(low + rng.below(high - low));
      if (std::find(itemset.items.begin(), itemset.items.end(), item) == itemset.items.end()) itemset.items.push_back(item);
    }
    std::sort(itemset.items.begin(), itemset.items.end());
    itemset.frequency = 0.01 + 0.05 * rng.uniform();
    itemset.home_segment = static_cast<int>(j % n_segments);
    planted_.push_back(std::move(itemset));
  }
  countries_.assign(std::begin(kCountries), std::end(kCountries));
}

std::uint32_t Catalogue::draw_item(std::uint32_t segment, double uniform) const noexcept {
  const auto rank = static_cast<std::uint64_t>(
      std::upper_bound(popularity_cdf_.begin(), popularity_cdf_.end(), uniform) - popularity_cdf_.begin());
  const std::uint64_t n = popularity_cdf_.size();
  const SegmentProfile& profile = segments_[segment];
  return static_cast<std::uint32_t>((profile.preference_offset + std::min(rank, n - 1) * profile.preference_stride) % n);
}

std::uint32_t Catalogue::draw_segment(double uniform) const noexcept {
  const auto index = std::upper_bound(segment_cdf_.begin(), segment_cdf_.end(), uniform) - segment_cdf_.begin();
  return static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(index, static_cast<std::ptrdiff_t>(segment_cdf_.size()) - 1));
}

}  // namespace mpiseg::generate
