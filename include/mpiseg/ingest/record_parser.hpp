#pragma once
/// Turning records into line-item rows: where the mapped columns are in a file (resolve_columns),
/// and the parser that classifies every record exactly once (accepted, header, blank, or rejected
/// for one reason) and appends the accepted ones to the rank's rows with their dictionary codes.
/// No collectives: ingest.cpp runs one parser per rank over its byte ranges.
///
///   const ColumnMap columns = resolve_columns(settings, path, header_line);
///   RecordParser parser(settings, policy, rows, accounting, sampler);  // rows.baskets_only: a basket file
///   parser.begin_segment(file_index, &columns);
///   reader.for_each([&](const Record& record) { parser.parse(record); });
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mpiseg/ingest/accounting.hpp"
#include "mpiseg/ingest/dictionary.hpp"
#include "mpiseg/ingest/line_items.hpp"
#include "mpiseg/ingest/record_reader.hpp"
#include "mpiseg/ingest/settings.hpp"

namespace mpiseg::ingest {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
/// An input position (the order of descriptions and categories): file << 44 | byte offset.
inline constexpr int kPositionFileShift = 44;

/// Column positions of the mapped fields in one file.
struct ColumnMap {
  int customer = -1, basket = -1, timestamp = -1, item = -1, quantity = -1, price = -1;
  int description = -1, country = -1, category = -1;
  std::size_t expected_fields = 0;  // 0: not checked
  int highest = -1;
};

/// The text without one trailing carriage return (CRLF line endings).
std::string_view strip_carriage_return(std::string_view text);

/// The columns of [input] in a file with this header line (ignored without a header): named
/// columns looked up, indexes checked against the field count. InputError for a UTF-16 file or
/// CR-only line endings, ConfigError for a column that is not there.
ColumnMap resolve_columns(const InputSettings& settings, const std::filesystem::path& path, std::string_view header_line);

/// Hashed string ids seen on this rank: key -> check hash (and the name, for customers).
class HashedIds {
 public:
  explicit HashedIds(bool keep_names) : keep_names_(keep_names) {}
  std::uint64_t key_of(std::string_view text);
  /// (key, check hash) of every id seen, for the global collision check.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> checks() const;
  /// (key, name) pairs, sorted by key.
  CustomerNames names() const;

 private:
  struct Entry {
    std::uint64_t check;
    std::string name;
  };
  bool keep_names_;
  std::unordered_map<std::uint64_t, Entry> ids_;
  std::uint64_t last_key_ = 0;
  std::string last_text_;
};

/// What a field's text parsed to on the previous line, reused while the text repeats: consecutive
/// lines usually repeat the invoice, its customer, its timestamp and its country (exports are
/// ordered by invoice).
template <class Value>
class RepeatedField {
 public:
  template <class Parse>
  const Value& get(std::string_view text, Parse&& parse) {
    if (!valid_ || text != text_) {
      value_ = parse(text);
      text_.assign(text);
      valid_ = true;
    }
    return value_;
  }

 private:
  std::string text_;
  Value value_{};
  bool valid_ = false;
};

/// Turns records into rows, classifying every record exactly once: read = header + blank +
/// accepted + rejected holds after every parse().
class RecordParser {
 public:
  /// Parses basket-file lines when `rows` are a basket file's (rows.baskets_only), line items
  /// otherwise.
  RecordParser(const InputSettings& settings, const IngestPolicy& policy, LineItems& rows, Accounting& accounting,
               RejectSampler& sampler);

  /// The records that follow come from file `file`, whose columns are `columns` (line items).
  void begin_segment(std::uint32_t file, const ColumnMap* columns);
  void parse(const Record& record);

  LocalDictionary& items() noexcept { return items_; }
  LocalDictionary& countries() noexcept { return countries_; }
  HashedIds& customers() noexcept { return customers_; }
  HashedIds& baskets() noexcept { return baskets_; }

 private:
  void reject(RejectReason reason, const Record& record);
  std::uint64_t position(const Record& record) const;
  bool text_field(std::string_view field, std::string_view& out, std::string& storage) const;
  void parse_line_item(std::string_view text, const Record& record);
  void parse_basket(std::string_view text, const Record& record);
  void parse_integer_basket(std::string_view text, const Record& record);
  std::uint32_t integer_item(std::uint64_t value);

  const InputSettings& settings_;
  const IngestPolicy& policy_;
  LineItems& rows_;
  Accounting& accounting_;
  RejectSampler& sampler_;
  const ColumnMap* columns_ = nullptr;
  std::uint32_t file_ = 0;
  std::uint64_t lines_before_segment_ = 0;
  LocalDictionary items_;
  LocalDictionary countries_;
  HashedIds customers_;
  HashedIds baskets_;
  std::vector<std::string_view> fields_;
  std::vector<std::string_view> tokens_;
  std::vector<std::string> canonical_;
  std::vector<std::uint32_t> item_ids_;
  std::vector<std::uint32_t> direct_integer_items_;
  std::unordered_map<std::uint64_t, std::uint32_t> integer_items_;
  std::string scratch_, item_storage_, customer_storage_, basket_storage_, description_storage_, country_storage_,
      category_storage_;
  bool record_is_ascii_ = false;  // the line being parsed has no byte above 0x7f
  RepeatedField<std::uint64_t> basket_key_, customer_key_;
  RepeatedField<std::optional<std::int64_t>> timestamp_;
  RepeatedField<std::uint16_t> country_id_;
};

}  // namespace mpiseg::ingest
