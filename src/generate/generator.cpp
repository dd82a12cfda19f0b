#include "mpiseg/generate/generator.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "keys_toml.hpp"  // module_keys(): src/generate/keys.toml

namespace mpiseg::generate {
namespace {

constexpr std::uint64_t kStreamCustomer = 1;
constexpr std::uint64_t kMaxBasketsPerCustomer = 4095;  // invoice numbers reserve 12 bits per customer
constexpr std::uint64_t kInvoiceBase = 10'000'000;


// Appends CSV text for one customer's baskets to a buffer, counting what it writes.
class CustomerWriter {
 public:
  CustomerWriter(const GeneratorSettings& settings, const Catalogue& catalogue, double basket_scale,
                 std::int64_t end_seconds)
      : settings_(settings), catalogue_(catalogue), basket_scale_(basket_scale), end_seconds_(end_seconds) {}

  void write_customer(std::uint64_t index, std::string& out, GenerationCounts& counts) {
    CounterRng rng(settings_.catalogue.seed, index, kStreamCustomer);
    const std::uint32_t segment = catalogue_.draw_segment(rng.uniform());  // first draw: see customer_segment()
    const SegmentProfile& profile = catalogue_.segments()[segment];
    const int months = settings_.catalogue.months;

    // Active window in months, with a customer-level shift of the start and (for churners) end.
    const int first_month = std::min(profile.first_active_month + static_cast<int>(rng.below(2)), profile.last_active_month);
    const int last_month = std::min(months - 1, std::max(first_month, profile.last_active_month - static_cast<int>(rng.below(2))));
    const std::int64_t window_start = month_start(first_month);
    const std::int64_t window_end = std::min(end_seconds_, month_start(last_month + 1));
    const std::int64_t window_days = std::max<std::int64_t>(1, (window_end - window_start) / kSecondsPerDay);

    const double activity = std::exp(0.2 * rng.normal() - 0.02);  // mean 1
    const double expected = profile.baskets_per_month * (last_month - first_month + 1) * basket_scale_ * activity;
    const std::uint64_t baskets = std::clamp<std::uint64_t>(rng.poisson(expected), 1, kMaxBasketsPerCustomer);

    std::vector<std::int64_t> times(baskets);
    for (std::int64_t& time : times) {
      const auto day = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(window_days)));
      const auto minute = static_cast<std::int64_t>(8 * 60 + rng.below(12 * 60));
      time = window_start + day * kSecondsPerDay + minute * 60;
    }
    std::sort(times.begin(), times.end());

    const std::string customer_id = fmt::format("{}.0", generated_customer_id(index));
    const int country = rng.bernoulli(0.9) ? profile.home_country : static_cast<int>(rng.below(catalogue_.countries().size()));
    counts.customers += 1;

    for (std::uint64_t b = 0; b < baskets; ++b) {
      const bool missing_customer = rng.bernoulli(settings_.missing_customer_rate);
      fill_basket(rng, segment, profile);
      const std::uint64_t invoice = kInvoiceBase + index * (kMaxBasketsPerCustomer + 1) + b;
      const std::string invoice_text = std::to_string(invoice);
      counts.baskets += 1;
      for (std::size_t line = 0; line < basket_items_.size(); ++line) {
        const auto quantity = static_cast<std::int64_t>(1 + rng.poisson(profile.quantity_mean - 1.0));
        basket_quantities_[line] = quantity;
        write_line(rng, out, counts, invoice_text, basket_items_[line], quantity, times[b],
                   missing_customer ? std::string_view() : customer_id, country);
      }
      // A cancellation invoice returns part of the basket a few days later.
      if (!missing_customer && rng.bernoulli(std::min(1.0, settings_.return_rate * profile.return_propensity))) {
        const std::int64_t when = std::min(end_seconds_ - 60, times[b] + static_cast<std::int64_t>(1 + rng.below(10)) * kSecondsPerDay);
        const std::string cancel_text = "C" + invoice_text;
        bool any = false;
        for (std::size_t line = 0; line < basket_items_.size(); ++line) {
          if (!rng.bernoulli(0.4) && (any || line + 1 < basket_items_.size())) continue;
          any = true;
          const std::int64_t returned = 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(basket_quantities_[line])));
          if (write_line(rng, out, counts, cancel_text, basket_items_[line], -returned, when, customer_id, country))
            counts.cancellation_lines += 1;
        }
      }
    }
  }

 private:
  std::int64_t month_start(int month) const {
    const CivilDate start = civil_from_days(settings_.start_seconds / kSecondsPerDay);
    const int total = start.month - 1 + month;
    return days_from_civil(start.year + total / 12, total % 12 + 1, start.day) * kSecondsPerDay;
  }

  void fill_basket(CounterRng& rng, std::uint32_t segment, const SegmentProfile& profile) {
    basket_items_.clear();
    auto add = [&](std::uint32_t item) {
      if (std::find(basket_items_.begin(), basket_items_.end(), item) == basket_items_.end()) basket_items_.push_back(item);
    };
    for (const PlantedItemset& planted : catalogue_.planted()) {
      const double frequency = planted.frequency * (planted.home_segment == static_cast<int>(segment) ? 3.0 : 1.0);
      if (!rng.bernoulli(frequency)) continue;
      for (std::uint32_t item : planted.items)
        if (!rng.bernoulli(catalogue_.planted_corruption())) add(item);
    }
    const std::uint64_t target = std::max<std::uint64_t>(1 + rng.poisson(profile.lines_per_basket - 1.0), basket_items_.size());
    const std::uint64_t limit = std::min<std::uint64_t>(target, catalogue_.items().size());
    for (int attempts = 0; basket_items_.size() < limit && attempts < 4 * static_cast<int>(limit) + 8; ++attempts)
      add(catalogue_.draw_item(segment, rng.uniform()));
    basket_quantities_.resize(basket_items_.size());
  }

  // Returns false when the line was deliberately malformed.
  bool write_line(CounterRng& rng, std::string& out, GenerationCounts& counts, std::string_view invoice,
                  std::uint32_t item_index, std::int64_t quantity, std::int64_t time, std::string_view customer,
                  int country) {
    const CatalogueItem& item = catalogue_.items()[item_index];
    int malformed = -1;
    if (settings_.malformed_rate > 0 && rng.bernoulli(settings_.malformed_rate))
      malformed = static_cast<int>(rng.below(kMalformedKinds.size()));
    const std::string_view kind = malformed >= 0 ? kMalformedKinds[static_cast<std::size_t>(malformed)] : "";

    out += invoice;
    out += ',';
    if (kind != "missing_item") out += item.code;
    out += ',';
    if (kind == "invalid_encoding") {
      out += "BROKEN \xc3\x28 TEXT";  // 0xC3 must be followed by a continuation byte
    } else if (kind == "nul_byte") {
      out += "NUL";
      out += '\0';
      out += "BYTE";
    } else {
      append_csv_field(out, item.description);
    }
    out += ',';
    if (kind == "bad_quantity") out += "x";
    append_integer(out, quantity);
    out += ',';
    char stamp[19];
    format_timestamp_to(time, stamp);
    if (kind == "bad_timestamp") stamp[5] = '1', stamp[6] = '3';  // month 13
    out.append(stamp, sizeof stamp);
    out += ',';
    append_price(out, item.price_cents);
    if (kind == "bad_price") out += ".5";
    out += ',';
    out += customer;
    if (kind != "field_count") {
      out += ',';
      out += catalogue_.countries()[static_cast<std::size_t>(country)];
    }
    out += '\n';

    counts.lines += 1;
    if (malformed >= 0) {
      counts.malformed[static_cast<std::size_t>(malformed)] += 1;
      return false;
    }
    if (customer.empty()) counts.missing_customer_lines += 1;
    return true;
  }

  static void append_csv_field(std::string& out, std::string_view text) {
    if (text.find_first_of(",\"\n\r") == std::string_view::npos) {
      out += text;
      return;
    }
    out += '"';
    for (char c : text) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }

  static void append_integer(std::string& out, std::int64_t value) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, result.ptr);
  }

  // Prices are written as Python writes floats, like the real export: 2.55, 2.1, 3.0.
  static void append_price(std::string& out, std::int64_t cents) {
    append_integer(out, cents / 100);
    const std::int64_t fraction = cents % 100;
    out += '.';
    out += static_cast<char>('0' + fraction / 10);
    if (fraction % 10 != 0) out += static_cast<char>('0' + fraction % 10);
  }

  const GeneratorSettings& settings_;
  const Catalogue& catalogue_;
  double basket_scale_;
  std::int64_t end_seconds_;
  std::vector<std::uint32_t> basket_items_;
  std::vector<std::int64_t> basket_quantities_;
};

std::uint32_t customer_segment(const GeneratorSettings& settings, const Catalogue& catalogue, std::uint64_t index) {
  CounterRng rng(settings.catalogue.seed, index, kStreamCustomer);
  return catalogue.draw_segment(rng.uniform());
}

// Basket-rate multiplier that makes the expected number of lines match settings.line_items.
double basket_scale_for(const GeneratorSettings& settings, const Catalogue& catalogue) {
  double lines_per_customer = 0;
  for (const SegmentProfile& profile : catalogue.segments()) {
    const double months = profile.last_active_month - profile.first_active_month + 0.5;
    double planted_lines = 0;
    for (const PlantedItemset& planted : catalogue.planted()) planted_lines += planted.frequency * 1.3 * planted.items.size() * 0.9;
    const double lines = std::max(profile.lines_per_basket, planted_lines) * (1.0 + settings.return_rate * profile.return_propensity * 0.5);
    lines_per_customer += profile.weight * profile.baskets_per_month * months * lines;
  }
  const double wanted = static_cast<double>(settings.line_items) / static_cast<double>(settings.customers);
  return std::max(1e-3, wanted / std::max(lines_per_customer, 1e-9));
}

void write_truth(const GeneratorSettings& settings, const Catalogue& catalogue, const GenerationCounts& counts,
                 comm::Communicator& comm) {
  auto file = h5::File::create(settings.truth, comm);
  h5::Group root = file.root();
  root.write_attribute("description", "mpiseg generate: planted truth for the generated line items");
  root.write_attribute("seed", static_cast<std::int64_t>(settings.catalogue.seed));
  root.write_attribute("output", settings.output.string());

  // Customers: an even split of customer indices, each rank its own rows (segment is a pure
  // function of the index, so no generated text is needed).
  const h5::RowRange range = h5::even_split(settings.customers, comm.rank(), comm.size());
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> segments;
  for (std::uint64_t index = range.begin; index < range.end; ++index) {
    ids.push_back(static_cast<std::int64_t>(generated_customer_id(index)));
    segments.push_back(static_cast<std::int32_t>(customer_segment(settings, catalogue, index)));
  }
  h5::Group customers = root.create_group("customers");
  h5::write_rows(customers, "customer", ids);
  h5::write_rows(customers, "segment", segments);

  h5::Group segment_group = root.create_group("segments");
  h5::write_columns(segment_group, catalogue.segments(), h5::Column{"name", &SegmentProfile::name},
                    h5::Column{"weight", &SegmentProfile::weight},
                    h5::Column{"baskets_per_month", &SegmentProfile::baskets_per_month},
                    h5::Column{"lines_per_basket", &SegmentProfile::lines_per_basket},
                    h5::Column{"quantity_mean", &SegmentProfile::quantity_mean});

  h5::Group items = root.create_group("items");
  h5::write_columns(items, catalogue.items(), h5::Column{"code", &CatalogueItem::code},
                    h5::Column{"description", &CatalogueItem::description},
                    h5::Column{"price", [](const CatalogueItem& item) { return static_cast<double>(item.price_cents) / 100.0; }});

  h5::Group itemsets = root.create_group("itemsets");
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::string> itemset_codes;
  std::vector<double> frequency;
  std::vector<std::int32_t> home;
  for (const PlantedItemset& planted : catalogue.planted()) {
    for (std::uint32_t item : planted.items) itemset_codes.push_back(catalogue.items()[item].code);
    offsets.push_back(itemset_codes.size());
    frequency.push_back(planted.frequency);
    home.push_back(planted.home_segment);
  }
  itemsets.write_attribute("corruption", catalogue.planted_corruption());
  itemsets.write_attribute("home_segment_factor", 3.0);
  h5::write_replicated(itemsets, "offsets", offsets);
  h5::write_strings(itemsets, "item_codes", itemset_codes);
  h5::write_replicated(itemsets, "frequency", frequency);
  h5::write_replicated(itemsets, "home_segment", home);

  h5::Group accounting = root.create_group("accounting");
  accounting.write_attribute("lines", static_cast<std::int64_t>(counts.lines));
  accounting.write_attribute("baskets", static_cast<std::int64_t>(counts.baskets));
  accounting.write_attribute("cancellation_lines", static_cast<std::int64_t>(counts.cancellation_lines));
  accounting.write_attribute("missing_customer_lines", static_cast<std::int64_t>(counts.missing_customer_lines));
  std::vector<std::string> kinds(kMalformedKinds.begin(), kMalformedKinds.end());
  std::vector<std::int64_t> malformed(counts.malformed.begin(), counts.malformed.end());
  h5::write_strings(accounting, "malformed_kind", kinds);
  h5::write_replicated(accounting, "malformed_count", malformed);
  file.commit();
}

}  // namespace

std::span<const KeySpec> generate_keys() { return module_keys().section("generate"); }

std::uint64_t GenerationCounts::malformed_total() const {
  std::uint64_t total = 0;
  for (std::uint64_t count : malformed) total += count;
  return total;
}

GeneratorSettings GeneratorSettings::from_job(const JobConfig& job) {
  GeneratorSettings settings;
  auto positive = [&](std::string_view key, std::int64_t low, std::int64_t high) {
    const std::int64_t value = job.get_int("generate", key);
    if (value < low || value > high)
      throw ConfigError(fmt::format("{} must be between {} and {}, got {}", job.describe("generate", key), low, high, value));
    return value;
  };
  auto rate = [&](std::string_view key) {
    const double value = job.get_number("generate", key);
    if (!(value >= 0.0 && value < 1.0))
      throw ConfigError(fmt::format("{} must be in [0, 1), got {}", job.describe("generate", key), value));
    return value;
  };
  settings.customers = static_cast<std::uint64_t>(positive("customers", 1, std::int64_t{1} << 40));
  settings.catalogue.items = static_cast<std::uint32_t>(positive("items", 1, 100'000'000));
  settings.catalogue.segments = static_cast<std::uint32_t>(positive("segments", 1, 64));
  settings.catalogue.planted_itemsets = static_cast<std::uint32_t>(positive("planted_itemsets", 0, 10000));
  settings.catalogue.months = static_cast<int>(positive("months", 1, 1200));
  settings.catalogue.seed = static_cast<std::uint64_t>(job.get_int("generate", "seed"));
  settings.line_items = static_cast<std::uint64_t>(positive("line_items", 1, std::int64_t{1} << 50));
  settings.start_seconds = parse_iso_date_to_seconds(job.get_string("generate", "start_date"), job.describe("generate", "start_date"));
  settings.missing_customer_rate = rate("missing_customer_rate");
  settings.return_rate = rate("return_rate");
  settings.malformed_rate = rate("malformed_rate");
  settings.output = job.get_string("generate", "output");
  settings.truth = job.get_string("generate", "truth");
  settings.file_per_rank = job.get_bool("generate", "file_per_rank");
  if (settings.output.empty()) throw ConfigError(fmt::format("{} must name a file", job.describe("generate", "output")));
  return settings;
}

GenerationCounts generate_line_items(const GeneratorSettings& settings, comm::Communicator& comm) {
  const Stopwatch watch;
  const Catalogue catalogue(settings.catalogue);
  const CivilDate start = civil_from_days(settings.start_seconds / kSecondsPerDay);
  const int end_month = start.month - 1 + settings.catalogue.months;
  const std::int64_t end_seconds = days_from_civil(start.year + end_month / 12, end_month % 12 + 1, start.day) * kSecondsPerDay;
  const double basket_scale = basket_scale_for(settings, catalogue);
  if (basket_scale < 0.5 || basket_scale > 2.0)
    log::warn("generate: {} line items for {} customers scales every purchase rate by {:.2f}; the planted segments are "
              "clearest near 1 (about {:.0f} line items per customer)",
              settings.line_items, settings.customers, basket_scale,
              static_cast<double>(settings.line_items) / static_cast<double>(settings.customers) / basket_scale);
  CustomerWriter writer(settings, catalogue, basket_scale, end_seconds);

  if (comm.rank() == 0 && !settings.output.parent_path().empty())
    std::filesystem::create_directories(settings.output.parent_path());
  comm.barrier();

  std::filesystem::path output = settings.output;
  if (settings.file_per_rank) output += fmt::format(".rank{}", comm.rank());
  // With one file per rank every rank writes alone; the serial communicator does exactly that.
  std::unique_ptr<comm::Communicator> alone = settings.file_per_rank ? comm::make_serial_communicator() : nullptr;
  comm::Communicator& file_comm = alone ? *alone : comm;
  auto file = file_comm.create_shared_file(output);

  const std::uint64_t blocks = (settings.customers + kCustomersPerBlock - 1) / kCustomersPerBlock;
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  const auto me = static_cast<std::uint64_t>(comm.rank());
  GenerationCounts local;
  std::string buffer;
  std::uint64_t shared_offset = 0, own_offset = 0;
  if (comm.rank() == 0 || settings.file_per_rank) buffer.append(kHeader).append("\n");
  // Every rank takes part in every round, with an empty block once it has run out.
  for (std::uint64_t round = 0; round * ranks < blocks; ++round) {
    const std::uint64_t block = round * ranks + me;
    if (block < blocks) {
      const std::uint64_t first = block * kCustomersPerBlock;
      const std::uint64_t last = std::min(settings.customers, first + kCustomersPerBlock);
      for (std::uint64_t customer = first; customer < last; ++customer) writer.write_customer(customer, buffer, local);
    }
    const auto bytes = std::as_bytes(std::span(buffer.data(), buffer.size()));
    if (settings.file_per_rank) {
      file->write_at_all(own_offset, bytes);
      own_offset += buffer.size();
    } else {
      const std::vector<std::uint64_t> sizes = comm.allgather<std::uint64_t>(buffer.size());
      std::uint64_t offset = shared_offset;
      for (std::uint64_t r = 0; r < me; ++r) offset += sizes[r];
      file->write_at_all(offset, bytes);
      for (std::uint64_t size : sizes) shared_offset += size;
    }
    local.bytes += buffer.size();
    buffer.clear();
  }
  file->commit();

  GenerationCounts total;
  std::vector<std::uint64_t> packed = {local.lines, local.bytes, local.customers, local.baskets,
                                       local.cancellation_lines, local.missing_customer_lines};
  packed.insert(packed.end(), local.malformed.begin(), local.malformed.end());
  comm.allreduce(std::span(packed), comm::ReduceOp::sum);
  total.lines = packed[0];
  total.bytes = packed[1];
  total.customers = packed[2];
  total.baskets = packed[3];
  total.cancellation_lines = packed[4];
  total.missing_customer_lines = packed[5];
  std::copy(packed.begin() + 6, packed.end(), total.malformed.begin());

  if (!settings.truth.empty()) write_truth(settings, catalogue, total, comm);

  const double seconds = watch.seconds();
  log::info("generate: {} line items ({:.1f} MB) for {} customers in {:.2f} s: {:.2f} M lines/s per rank",
            total.lines, static_cast<double>(total.bytes) / 1e6, total.customers, seconds,
            static_cast<double>(total.lines) / seconds / 1e6 / static_cast<double>(comm.size()));
  if (total.malformed_total() > 0) log::info("generate: {} lines deliberately malformed", total.malformed_total());
  return total;
}

}  // namespace mpiseg::generate
