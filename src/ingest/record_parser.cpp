#include "mpiseg/ingest/record_parser.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/core/hash.hpp"
#include "mpiseg/ingest/field_parsers.hpp"

namespace mpiseg::ingest {

std::string_view strip_carriage_return(std::string_view text) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

ColumnMap resolve_columns(const InputSettings& settings, const std::filesystem::path& path, std::string_view header_line) {
  ColumnMap map;
  std::vector<std::string_view> names;
  std::string scratch;
  if (settings.header) {
    // Encodings and line endings that would otherwise surface as a puzzling "no such column".
    if (header_line.starts_with("\xFF\xFE") || header_line.starts_with("\xFE\xFF"))
      throw InputError(fmt::format("{}: the file is UTF-16 (it starts with a UTF-16 byte-order mark); mpiseg reads UTF-8 or Latin-1: "
                                   "convert it, e.g. iconv -f UTF-16 -t UTF-8", path.string()));
    if (strip_carriage_return(header_line).find('\r') != std::string_view::npos)
      throw InputError(fmt::format("{}: the header line holds a carriage return: the file has CR-only (old Mac) line endings; "
                                   "convert them to LF, e.g. tr '\\r' '\\n'", path.string()));
    std::string_view line = strip_carriage_return(header_line);
    if (line.substr(0, kUtf8Bom.size()) == kUtf8Bom) line.remove_prefix(kUtf8Bom.size());
    if (!split_fields(line, settings.delimiter, names, scratch))
      throw InputError(fmt::format("{}: the header line has unbalanced quotes", path.string()));
    map.expected_fields = names.size();
  } else if (settings.field_count > 0) {
    map.expected_fields = static_cast<std::size_t>(settings.field_count);
  }
  auto resolve = [&](const ColumnRef& ref, const char* key) {
    if (!ref.mapped()) return -1;
    int index = -1;
    if (ref.index >= 0) {
      index = static_cast<int>(ref.index);
      if (map.expected_fields != 0 && static_cast<std::size_t>(index) >= map.expected_fields)
        throw ConfigError(fmt::format("[input] {} = {}: {} has only {} columns", key, ref.index, path.string(), map.expected_fields));
    } else {
      if (!settings.header)
        throw ConfigError(fmt::format("[input] {} = \"{}\": columns can be named only when [input] header = true; give a 0-based index",
                                      key, ref.name));
      const auto found = std::find(names.begin(), names.end(), ref.name);
      if (found == names.end()) {
        std::string available;
        for (auto name : names) available += fmt::format("{}'{}'", available.empty() ? "" : ", ", name);
        throw ConfigError(fmt::format("[input] {} = \"{}\": no such column in the header of {} (columns: {})", key, ref.name,
                                      path.string(), available));
      }
      index = static_cast<int>(found - names.begin());
    }
    map.highest = std::max(map.highest, index);
    return index;
  };
  map.customer = resolve(settings.customer, "customer");
  map.basket = resolve(settings.basket, "basket");
  map.timestamp = resolve(settings.timestamp, "timestamp");
  map.item = resolve(settings.item, "item");
  map.quantity = resolve(settings.quantity, "quantity");
  map.price = resolve(settings.price, "price");
  map.description = resolve(settings.description, "description");
  map.country = resolve(settings.country, "country");
  map.category = resolve(settings.category, "category");
  return map;
}

std::uint64_t HashedIds::key_of(std::string_view text) {
  std::uint64_t key = hash_bytes(text, kKeyHashSeed) | kHashedKeyBit;
  if (key == kMissingCustomer) key -= 1;  // never the "no customer" key
  if (last_key_ != key || last_text_ != text) {
    auto [it, inserted] = ids_.try_emplace(key, Entry{hash_bytes(text, kCheckHashSeed), {}});
    if (inserted && keep_names_) it->second.name.assign(text);
    last_key_ = key;
    last_text_.assign(text);
  }
  return key;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> HashedIds::checks() const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> result;
  result.reserve(ids_.size());
  for (const auto& [key, entry] : ids_) result.emplace_back(key, entry.check);
  return result;
}

CustomerNames HashedIds::names() const {
  std::vector<std::pair<std::uint64_t, const std::string*>> sorted;
  for (const auto& [key, entry] : ids_) sorted.emplace_back(key, &entry.name);
  std::sort(sorted.begin(), sorted.end());
  CustomerNames names;
  for (const auto& [key, name] : sorted) {
    names.key.push_back(key);
    names.name.push_back(*name);
  }
  return names;
}

RecordParser::RecordParser(const InputSettings& settings, const IngestPolicy& policy, LineItems& rows,
                           Accounting& accounting, RejectSampler& sampler)
    : settings_(settings),
      policy_(policy),
      rows_(rows),
      accounting_(accounting),
      sampler_(sampler),
      customers_(true),
      baskets_(false) {}

void RecordParser::begin_segment(std::uint32_t file, const ColumnMap* columns) {
  file_ = file;
  columns_ = columns;
  lines_before_segment_ = accounting_.lines_read;
}

void RecordParser::parse(const Record& record) {
  ++accounting_.lines_read;
  std::string_view text = record.text;
  if (record.offset == 0 && settings_.encoding == Encoding::utf8 && text.substr(0, kUtf8Bom.size()) == kUtf8Bom)
    text.remove_prefix(kUtf8Bom.size());
  if (record.too_long) return reject(RejectReason::record_too_long, record);
  if (record.offset == 0 && settings_.header && !rows_.baskets_only) {
    ++accounting_.header;
    return;
  }
  text = strip_carriage_return(text);
  if (text.empty()) {
    ++accounting_.blank;
    return;
  }
  if (rows_.baskets_only) {
    if (std::memchr(text.data(), '\0', text.size()) != nullptr) return reject(RejectReason::nul_byte, record);
    parse_basket(text, record);
  } else {
    parse_line_item(text, record);  // finds NUL bytes in its one pass over the line
  }
}

void RecordParser::reject(RejectReason reason, const Record& record) {
  accounting_.reject(reason);
  // The record's number within this segment; the records of earlier segments are added later.
  sampler_.offer(reason, file_, record.offset, accounting_.lines_read - lines_before_segment_, record.text);
}

std::uint64_t RecordParser::position(const Record& record) const {
  return (static_cast<std::uint64_t>(file_) << kPositionFileShift) | record.offset;
}

// Text of a string field in UTF-8: validated (utf-8 input) or converted (latin-1 input). A
// record of ASCII bytes only (the common case, known from the pre-scan) is valid either way.
bool RecordParser::text_field(std::string_view field, std::string_view& out, std::string& storage) const {
  if (record_is_ascii_) {
    out = field;
    return true;
  }
  if (settings_.encoding == Encoding::latin1) {
    storage.clear();
    append_latin1_as_utf8(field, storage);
    out = storage;
    return true;
  }
  out = field;
  return is_valid_utf8(field);
}

void RecordParser::parse_line_item(std::string_view text, const Record& record) {
  // One pass over the line's bytes: the fields of an unquoted line, and whether the line has a
  // NUL byte, a quote (split again with quoting) or a non-ASCII byte (text fields validated).
  // The reader may have done that pass already (unless a byte-order mark was cut off since).
  const bool split_by_reader = record.fields != nullptr && text.data() == record.text.data();
  const RecordScan scan = split_by_reader ? record.scan : scan_record(text, settings_.delimiter, fields_);
  const std::vector<std::string_view>* fields = split_by_reader ? record.fields : &fields_;
  if (scan.has_nul) return reject(RejectReason::nul_byte, record);
  record_is_ascii_ = scan.is_ascii;
  if (scan.has_quote) {
    if (!settings_.quoted_newlines && std::count(text.begin(), text.end(), '"') % 2 != 0)
      return reject(RejectReason::quoted_newline, record);
    if (!split_fields(text, settings_.delimiter, fields_, scratch_)) return reject(RejectReason::bad_quote, record);
    fields = &fields_;
  }
  const auto field = [fields](int index) { return (*fields)[static_cast<std::size_t>(index)]; };
  const ColumnMap& c = *columns_;
  if ((c.expected_fields != 0 && fields->size() != c.expected_fields) || static_cast<int>(fields->size()) <= c.highest)
    return reject(RejectReason::field_count, record);
  for (int index : {c.customer, c.basket, c.timestamp, c.item, c.quantity, c.price, c.description, c.country, c.category})
    if (index >= 0 && field(index).size() > policy_.max_field_bytes)
      return reject(RejectReason::field_too_long, record);

  std::string_view item_code, customer_text, basket_text, description, country, category;
  if (!text_field(field(c.item), item_code, item_storage_) ||
      !text_field(field(c.customer), customer_text, customer_storage_) ||
      !text_field(field(c.basket), basket_text, basket_storage_) ||
      (c.description >= 0 && !text_field(field(c.description), description, description_storage_)) ||
      (c.country >= 0 && !text_field(field(c.country), country, country_storage_)) ||
      (c.category >= 0 && !text_field(field(c.category), category, category_storage_)))
    return reject(RejectReason::invalid_encoding, record);
  if (basket_text.empty()) return reject(RejectReason::missing_basket, record);
  if (item_code.empty()) return reject(RejectReason::missing_item, record);

  const std::optional<std::int64_t> timestamp = timestamp_.get(
      field(c.timestamp), [&](std::string_view text) { return parse_timestamp(text, settings_.timestamp_format); });
  if (!timestamp) return reject(RejectReason::bad_timestamp, record);
  if (*timestamp < 0 || *timestamp > std::numeric_limits<std::uint32_t>::max())
    return reject(RejectReason::timestamp_out_of_range, record);
  const auto quantity = parse_integer(field(c.quantity));
  if (!quantity || *quantity < std::numeric_limits<std::int32_t>::min() || *quantity > std::numeric_limits<std::int32_t>::max())
    return reject(RejectReason::bad_quantity, record);
  const auto price = parse_decimal(field(c.price));
  // Prices and line values at or above 2^53 in magnitude are rejected: money is summed exactly
  // on a fixed grid (MoneyGrid), which bounds the line values it takes.
  if (!price || std::abs(*price) >= MoneyGrid::kMaxValue ||
      std::abs(static_cast<double>(*quantity) * *price) >= MoneyGrid::kMaxValue)
    return reject(RejectReason::bad_price, record);

  std::uint8_t flags = 0;
  if (!policy_.cancellation_prefix.empty() && basket_text.substr(0, policy_.cancellation_prefix.size()) == policy_.cancellation_prefix)
    flags |= line_flags::cancellation;
  if (*quantity < 0) flags |= line_flags::return_line;
  if (*price <= 0) flags |= line_flags::nonpositive_price;
  if (customer_text.empty()) flags |= line_flags::missing_customer;

  // Policies, in a fixed order: the first that removes the line names it.
  auto removed = [&](PolicyAction action, RejectReason reason) {
    if (action == PolicyAction::keep) return false;
    reject(reason, record);
    return true;
  };
  if ((flags & line_flags::return_line) && removed(policy_.negative_quantity, RejectReason::negative_quantity)) return;
  if ((flags & line_flags::nonpositive_price) && removed(policy_.nonpositive_price, RejectReason::nonpositive_price)) return;
  if ((flags & line_flags::missing_customer) && removed(policy_.missing_customer, RejectReason::missing_customer)) return;
  if ((flags & line_flags::cancellation) && removed(policy_.cancellations, RejectReason::cancellation)) return;

  // Accepted.
  // Numeric ids are kept as numbers, others hashed to keys.
  auto key_in = [](HashedIds& ids) {
    return [&ids](std::string_view text) {
      const auto numeric = parse_numeric_key(text);
      return numeric ? *numeric : ids.key_of(text);
    };
  };
  const std::uint64_t customer = customer_text.empty() ? kMissingCustomer : customer_key_.get(customer_text, key_in(customers_));
  const std::uint64_t basket = basket_key_.get(basket_text, key_in(baskets_));
  const std::uint32_t item = items_.intern(item_code);
  const auto time = static_cast<std::uint32_t>(*timestamp);
  items_.note_time(item, time);
  if (!description.empty()) items_.note_description(item, description, position(record));
  if (!category.empty()) items_.note_category(item, category, position(record));
  std::uint16_t country_id = 0;
  if (c.country >= 0) {
    country_id = country_id_.get(country, [&](std::string_view text) {
      const std::uint32_t id = countries_.intern(text);
      if (id > std::numeric_limits<std::uint16_t>::max())
        throw LimitExceeded("more than 65,536 distinct countries: is [input] country mapped to the right column?");
      return static_cast<std::uint16_t>(id);
    });
  }
  rows_.customer.push_back(customer);
  rows_.basket.push_back(basket);
  rows_.time.push_back(time);
  rows_.item.push_back(item);
  rows_.quantity.push_back(static_cast<std::int32_t>(*quantity));
  rows_.price.push_back(*price);
  rows_.country.push_back(country_id);
  rows_.flags.push_back(flags);
  ++accounting_.accepted;
  if (flags & line_flags::cancellation) ++accounting_.cancellation_lines;
  if (flags & line_flags::return_line) ++accounting_.return_lines;
  if (flags & line_flags::nonpositive_price) ++accounting_.nonpositive_price_lines;
  if (flags & line_flags::missing_customer) ++accounting_.missing_customer_lines;
}

void RecordParser::parse_basket(std::string_view text, const Record& record) {
  if (settings_.basket_items == BasketItems::integer) return parse_integer_basket(text, record);
  if (settings_.encoding == Encoding::utf8 && settings_.basket_items == BasketItems::name && !is_valid_utf8(text))
    return reject(RejectReason::invalid_encoding, record);
  tokens_.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t next = text.find(settings_.delimiter, start);
    const std::string_view token = text.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!token.empty()) tokens_.push_back(token);  // trailing and doubled separators carry no item
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  if (tokens_.empty()) {
    ++accounting_.blank;
    return;
  }
  canonical_.clear();
  item_ids_.clear();
  for (std::string_view token : tokens_) {
    if (token.size() > policy_.max_field_bytes) return reject(RejectReason::field_too_long, record);
    if (settings_.encoding == Encoding::latin1) {
      std::string converted;
      append_latin1_as_utf8(token, converted);
      canonical_.push_back(std::move(converted));
    } else {
      canonical_.emplace_back(token);
    }
  }
  const std::uint64_t basket = position(record);
  for (const std::string& code : canonical_) item_ids_.push_back(items_.intern(code));
  rows_.basket.insert(rows_.basket.end(), item_ids_.size(), basket);
  rows_.item.insert(rows_.item.end(), item_ids_.begin(), item_ids_.end());
  ++accounting_.accepted;
  accounting_.item_occurrences += item_ids_.size();
}

// The same rules as for named items, in one pass over the line: a token of up to 18 digits (no
// leading zero) is converted as it is scanned; any other token goes through parse_numeric_key.
// Tokens are interned in order, so a line rejected at a later token has interned the earlier ones,
// as with named items.
void RecordParser::parse_integer_basket(std::string_view text, const Record& record) {
  constexpr std::ptrdiff_t kPlainDigits = 18;  // below 2^63, as parse_numeric_key requires
  const char delimiter = settings_.delimiter;
  const auto max_field = static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(policy_.max_field_bytes, kPlainDigits));
  item_ids_.clear();
  const char* at = text.data();
  const char* const end = at + text.size();
  for (; at < end; ++at) {  // `at` ends each token on its delimiter (or the end), skipped here
    const char* const start = at;
    std::uint64_t value = 0;
    while (at < end && static_cast<unsigned char>(*at - '0') < 10) value = value * 10 + static_cast<std::uint64_t>(*at++ - '0');
    const std::ptrdiff_t digits = at - start;
    if (digits == 0 && at < end && *at == delimiter) continue;  // doubled separators carry no item
    if ((at < end && *at != delimiter) || digits == 0 || digits > max_field || (*start == '0' && digits > 1)) {
      while (at < end && *at != delimiter) ++at;
      const std::string_view token(start, static_cast<std::size_t>(at - start));
      if (token.size() > policy_.max_field_bytes) return reject(RejectReason::field_too_long, record);
      const auto parsed = parse_numeric_key(token);
      if (!parsed || token.find('.') != std::string_view::npos) return reject(RejectReason::bad_item, record);
      value = *parsed;
    }
    item_ids_.push_back(integer_item(value));
  }
  if (item_ids_.empty()) {
    ++accounting_.blank;
    return;
  }
  const std::uint64_t basket = position(record);
  rows_.basket.insert(rows_.basket.end(), item_ids_.size(), basket);
  rows_.item.insert(rows_.item.end(), item_ids_.begin(), item_ids_.end());
  ++accounting_.accepted;
  accounting_.item_occurrences += item_ids_.size();
}

// Integer items are interned by value; the text is made once per distinct item. FIMI item ids
// are small, so a direct table answers almost every lookup without hashing.
std::uint32_t RecordParser::integer_item(std::uint64_t value) {
  static constexpr std::uint64_t kDirectLimit = std::uint64_t{1} << 20;
  static constexpr std::uint32_t kUnseen = ~std::uint32_t{0};
  if (value < kDirectLimit) {
    if (value >= direct_integer_items_.size())
      direct_integer_items_.resize(std::max<std::size_t>(static_cast<std::size_t>(value) + 1, 2 * direct_integer_items_.size()), kUnseen);
    std::uint32_t& id = direct_integer_items_[static_cast<std::size_t>(value)];
    if (id == kUnseen) id = items_.intern(std::to_string(value));
    return id;
  }
  auto [found, inserted] = integer_items_.try_emplace(value, 0);
  if (inserted) found->second = items_.intern(std::to_string(value));
  return found->second;
}

}  // namespace mpiseg::ingest
