// The record parser on its own (no file, no ranks): each record is classified exactly once, with
// the reject reason a line deserves, the accepted ones appended as rows with their dictionary
// codes, and the columns resolved from the header or refused with a clear error.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "mpiseg/core/error.hpp"
#include "mpiseg/ingest/dictionary.hpp"
#include "mpiseg/ingest/line_items.hpp"
#include "mpiseg/ingest/record_parser.hpp"
#include "mpiseg/ingest/record_reader.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;

namespace {

constexpr std::string_view kHeader = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

InputSettings online_retail_columns() {
  InputSettings settings;
  settings.basket.name = "InvoiceNo";
  settings.item.name = "StockCode";
  settings.description.name = "Description";
  settings.quantity.name = "Quantity";
  settings.timestamp.name = "InvoiceDate";
  settings.price.name = "UnitPrice";
  settings.customer.name = "CustomerID";
  settings.country.name = "Country";
  return settings;
}

/// Parses `lines` as one file (the first one at offset 0 is the header); returns the accounting.
struct Parsed {
  LineItems rows;
  Accounting accounting;
  std::vector<RejectSample> samples;
};

/// With `split_by_reader`, each record comes with the fields the reader finds while it looks for
/// the record's end (RecordReader::split_fields_at), as from a file.
Parsed parse_lines(const std::vector<std::string>& lines, const IngestPolicy& policy = {},
                   const InputSettings& settings = online_retail_columns(), bool split_by_reader = false) {
  const ColumnMap columns = resolve_columns(settings, "test.csv", lines.front());
  Parsed out;
  RejectSampler sampler(100);
  RecordParser parser(settings, policy, out.rows, out.accounting, sampler);
  parser.begin_segment(0, &columns);
  std::uint64_t offset = 0;
  std::vector<std::string_view> fields;
  for (const std::string& line : lines) {
    Record record{line, offset, false};
    if (split_by_reader) {
      const std::string in_file = line + "\n";
      BOOST_REQUIRE(scan_line(in_file.data(), in_file.size(), settings.delimiter, fields, record.scan) == line.size());
      record.fields = &fields;
      for (std::string_view& field : fields) field = std::string_view(line.data() + (field.data() - in_file.data()), field.size());
    }
    parser.parse(record);
    offset += line.size() + 1;
  }
  out.samples = sampler.samples();
  return out;
}

void check_same_outcome(const Parsed& a, const Parsed& b) {
  BOOST_TEST(a.rows.customer == b.rows.customer);
  BOOST_TEST(a.rows.basket == b.rows.basket);
  BOOST_TEST(a.rows.time == b.rows.time);
  BOOST_TEST(a.rows.item == b.rows.item);
  BOOST_TEST(a.rows.quantity == b.rows.quantity);
  BOOST_TEST(a.rows.price == b.rows.price);
  BOOST_TEST(a.rows.country == b.rows.country);
  BOOST_TEST(a.rows.flags == b.rows.flags);
  BOOST_TEST(a.accounting.rejected == b.accounting.rejected);
  BOOST_TEST(a.accounting.accepted == b.accounting.accepted);
  BOOST_TEST(a.accounting.blank == b.accounting.blank);
  BOOST_TEST(a.samples.size() == b.samples.size());
}

std::uint64_t rejected(const Parsed& parsed, RejectReason reason) { return parsed.accounting.rejected[static_cast<std::size_t>(reason)]; }

}  // namespace

BOOST_AUTO_TEST_SUITE(record_parser)

BOOST_AUTO_TEST_CASE(accepts_a_line_and_classifies_header_and_blank) {
  const Parsed parsed = parse_lines({std::string(kHeader), "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
                                     "", "\r"});
  BOOST_TEST(parsed.accounting.lines_read == 4u);
  BOOST_TEST(parsed.accounting.header == 1u);
  BOOST_TEST(parsed.accounting.blank == 2u);
  BOOST_TEST(parsed.accounting.accepted == 1u);
  BOOST_TEST(parsed.rows.size() == 1u);
  BOOST_TEST(parsed.rows.customer[0] == 17850u);
  BOOST_TEST(parsed.rows.basket[0] == 536365u);
  BOOST_TEST(parsed.rows.quantity[0] == 6);
  BOOST_TEST(parsed.rows.price[0] == 2.55);
  BOOST_TEST(parsed.rows.time[0] == 1291191960u);  // 2010-12-01 08:26:00, naive
  BOOST_TEST(parsed.rows.flags[0] == 0);
}

BOOST_AUTO_TEST_CASE(every_reject_reason_once_and_the_balance) {
  const std::vector<std::string> lines = {
      std::string(kHeader),
      "536365,85123A,A,6,2010-12-01 08:26:00,2.55,17850",                          // field_count
      "536365,85123A,A\"B,6,2010-12-01 08:26:00,2.55,17850,UK",                    // quoted_newline (odd quotes)
      "536365,85123A,\"A\"B,6,2010-12-01 08:26:00,2.55,17850,UK,\"\"",             // bad quote or field count
      "536365,85123A,A,6,2010-13-01 08:26:00,2.55,17850,UK",                       // bad_timestamp
      "536365,85123A,A,6.5,2010-12-01 08:26:00,2.55,17850,UK",                     // bad_quantity
      "536365,85123A,A,6,2010-12-01 08:26:00,nan,17850,UK",                        // bad_price
      ",85123A,A,6,2010-12-01 08:26:00,2.55,17850,UK",                             // missing_basket
      "536365,,A,6,2010-12-01 08:26:00,2.55,17850,UK",                             // missing_item
      "536365,85123A,A,6,2010-12-01 08:26:00,2.55,,UK",                            // missing_customer (drop policy)
      std::string("536365,85123A,A\0B,6,2010-12-01 08:26:00,2.55,17850,UK", 53),  // nul_byte
      "536365,85123A,\xC3\x28,6,2010-12-01 08:26:00,2.55,17850,UK",                // invalid_encoding
  };
  const Parsed parsed = parse_lines(lines);
  const Accounting& a = parsed.accounting;
  BOOST_TEST(a.lines_read == lines.size());
  BOOST_TEST(a.lines_read == a.header + a.blank + a.accepted + a.rejected_total());
  BOOST_TEST(a.accepted == 0u);
  for (RejectReason reason : {RejectReason::field_count, RejectReason::quoted_newline, RejectReason::bad_timestamp,
                              RejectReason::bad_quantity, RejectReason::bad_price, RejectReason::missing_basket,
                              RejectReason::missing_item, RejectReason::missing_customer, RejectReason::nul_byte,
                              RejectReason::invalid_encoding})
    BOOST_TEST(rejected(parsed, reason) >= 1u, reason_name(reason));
  // Samples name the record within the file (1-based, the header counted) and its byte offset.
  BOOST_TEST(parsed.samples.size() == a.rejected_total());
  BOOST_TEST(parsed.samples.front().line_number == 2u);
  BOOST_TEST(parsed.samples.front().offset == kHeader.size() + 1);
}

BOOST_AUTO_TEST_CASE(fields_split_by_the_reader_give_what_the_parsers_own_split_gives) {
  const std::vector<std::string> lines = {
      std::string(kHeader) + "\r",
      "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\r",
      "536366,22633,\"HAND WARMER, UNION JACK\",6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
      "536367,84879,\"ASSORTED \"\"BIRD\"\" ORNAMENT\",32,2010-12-01 08:34:00,1.69,13047,United Kingdom\r",
      "536368,22960,JAM MAKING SET,6,2010-12-01 08:34:00,4.25,13047,Espa\xC3\xB1" "a",
      "536365,85123A,A,6,2010-12-01 08:26:00,2.55,17850",
      "536365,85123A,A\"B,6,2010-12-01 08:26:00,2.55,17850,UK",
      "536365,85123A,\"A\"B,6,2010-12-01 08:26:00,2.55,17850,UK,\"\"",
      "536365,85123A,A,6,2010-13-01 08:26:00,2.55,17850,UK\r",
      std::string("536365,85123A,A\0B,6,2010-12-01 08:26:00,2.55,17850,UK", 53),
      "536365,85123A,\xC3\x28,6,2010-12-01 08:26:00,2.55,17850,UK",
      "",
      "\r",
  };
  const Parsed own = parse_lines(lines);
  BOOST_TEST(own.rows.size() == 4u);
  check_same_outcome(parse_lines(lines, {}, online_retail_columns(), true), own);

  // No header: the first record is data, and its byte-order mark is cut off before the fields
  // are read, so the reader's fields (which still hold it) must not be used.
  InputSettings by_index;
  by_index.header = false;
  ColumnRef* refs[] = {&by_index.basket, &by_index.item, &by_index.description, &by_index.quantity,
                             &by_index.timestamp, &by_index.price, &by_index.customer, &by_index.country};
  for (std::int64_t c = 0; c < 8; ++c) refs[c]->index = c;
  const std::vector<std::string> no_header = {"\xEF\xBB\xBF" + lines[1], lines[2]};
  const Parsed without_mark = parse_lines(no_header, {}, by_index);
  BOOST_TEST(without_mark.rows.basket.front() == 536365u);
  check_same_outcome(parse_lines(no_header, {}, by_index, true), without_mark);
}

BOOST_AUTO_TEST_CASE(flags_and_policies) {
  IngestPolicy keep_all;
  keep_all.missing_customer = PolicyAction::keep;
  const Parsed parsed = parse_lines({std::string(kHeader), "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom",
                                     "536380,22961,JAM,0,2010-12-01 09:41:00,0,,United Kingdom"},
                                    keep_all);
  BOOST_TEST(parsed.accounting.accepted == 2u);
  BOOST_TEST(parsed.rows.flags[0] == (line_flags::cancellation | line_flags::return_line));
  BOOST_TEST(parsed.rows.flags[1] == (line_flags::nonpositive_price | line_flags::missing_customer));
  BOOST_TEST(parsed.rows.customer[1] == kMissingCustomer);
  IngestPolicy drop_cancellations;
  drop_cancellations.cancellations = PolicyAction::drop;
  drop_cancellations.negative_quantity = PolicyAction::keep;
  const Parsed dropped = parse_lines({std::string(kHeader), "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom"},
                                     drop_cancellations);
  BOOST_TEST(rejected(dropped, RejectReason::cancellation) == 1u);
}

BOOST_AUTO_TEST_CASE(string_ids_are_hashed_keys_with_their_names) {
  const Parsed parsed = parse_lines({std::string(kHeader), "INV-1,85123A,A,1,2010-12-01 08:26:00,1.00,alice@example.com,UK"});
  BOOST_TEST(parsed.accounting.accepted == 1u);
  BOOST_TEST((parsed.rows.customer[0] & kHashedKeyBit) != 0u);
  BOOST_TEST((parsed.rows.basket[0] & kHashedKeyBit) != 0u);
}

BOOST_AUTO_TEST_CASE(columns_resolve_or_fail_clearly) {
  const InputSettings settings = online_retail_columns();
  const ColumnMap columns = resolve_columns(settings, "a.csv", std::string("\xEF\xBB\xBF") + std::string(kHeader) + "\r");
  BOOST_TEST(columns.basket == 0);
  BOOST_TEST(columns.country == 7);
  BOOST_TEST(columns.expected_fields == 8u);
  BOOST_CHECK_THROW(resolve_columns(settings, "a.csv", "InvoiceNo,StockCode"), ConfigError);
  BOOST_CHECK_THROW(resolve_columns(settings, "a.csv", "\xFF\xFEI\0n"), InputError);
  BOOST_CHECK_THROW(resolve_columns(settings, "a.csv", std::string(kHeader) + "\r536365,85123A"), InputError);
}

BOOST_AUTO_TEST_CASE(the_sampler_keeps_the_first_lines_in_input_order_whatever_the_offer_order) {
  // A rank parses its byte ranges first, then chunks of earlier (compressed) files dealt to it.
  RejectSampler sampler(3);
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> offers{{1, 10}, {1, 20}, {1, 30}, {1, 40}, {0, 50}, {0, 5}, {2, 1}, {0, 60}};
  for (const auto& [file, offset] : offers) sampler.offer(RejectReason::bad_price, file, offset, 1, "x");
  sampler.offer(RejectReason::bad_timestamp, 2, 7, 1, "y");
  std::vector<std::pair<std::uint32_t, std::uint64_t>> kept;
  for (const RejectSample& sample : sampler.samples())
    if (sample.reason == RejectReason::bad_price) kept.emplace_back(sample.file, sample.offset);
  std::sort(kept.begin(), kept.end());
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> expected{{0, 5}, {0, 50}, {0, 60}};
  BOOST_TEST((kept == expected));
  BOOST_TEST(sampler.samples().size() == 4u);
}

// Texts of up to eight bytes are told apart in the hash slot by their bytes and length alone:
// texts that share a head, differ only past it, end in NUL bytes or are empty each get their own
// id, and the same text always the same one, across many table growths.
BOOST_AUTO_TEST_CASE(the_local_dictionary_tells_every_text_apart) {
  LocalDictionary dictionary;
  std::vector<std::string> texts = {"", std::string(1, '\0'), std::string(2, '\0'), "a", std::string("a\0", 2), "abcdefgh",
                                    "abcdefghi", "abcdefghj", std::string("abcdefgh\0", 9), "85123A", "85123a"};
  for (int i = 0; i < 5000; ++i) texts.push_back(std::to_string(i * 7919) + (i % 3 == 0 ? "-long-suffix" : ""));
  std::vector<std::uint32_t> ids;
  for (const std::string& text : texts) ids.push_back(dictionary.intern(text));
  BOOST_TEST(dictionary.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    BOOST_TEST(ids[i] == i);
    BOOST_TEST(dictionary.intern(texts[i]) == ids[i]);
    BOOST_TEST(dictionary.entries()[ids[i]].text == texts[i]);
  }
}

BOOST_AUTO_TEST_CASE(a_row_costs_the_budgeted_bytes) {
  // kBytesPerRow is the memory budget per line item the README states (39 B): the columns'
  // widths add up to it, and a table holds exactly that per reserved row (12 B for basket files).
  LineItems rows;
  std::size_t width = 0;
  rows.for_each_column([&width](const auto& column) { width += sizeof(typename std::decay_t<decltype(column)>::value_type); });
  BOOST_TEST(width == LineItems::kBytesPerRow);
  BOOST_TEST(LineItems::kBytesPerRow == 39u);
  rows.reserve(1000);
  BOOST_TEST(rows.memory_bytes() == 1000 * LineItems::kBytesPerRow);
  LineItems baskets;
  baskets.baskets_only = true;
  baskets.reserve(1000);
  BOOST_TEST(baskets.memory_bytes() == 1000u * (sizeof(std::uint64_t) + sizeof(std::uint32_t)));
}

BOOST_AUTO_TEST_SUITE_END()

// Integer basket lines are read in one pass (RecordParser::parse_integer_basket) that converts
// plain numbers as it scans and hands any other token to parse_numeric_key: the outcome must be
// that of the token rules, line by line, including the items interned before a bad token.
BOOST_AUTO_TEST_CASE(integer_basket_lines_follow_the_token_rules) {
  struct Case {
    std::string line;
    std::uint64_t max_field_bytes;
    std::vector<std::string> interned;  // in order
    std::optional<RejectReason> reject;
  };
  const std::uint64_t kDefault = IngestPolicy{}.max_field_bytes;
  const std::vector<Case> cases = {
      {"1 2 3", kDefault, {"1", "2", "3"}, {}},
      {"  5  6 ", kDefault, {"5", "6"}, {}},  // doubled, leading and trailing separators
      {"   ", kDefault, {}, {}},              // separators only: a blank line
      {"0 10", kDefault, {"0", "10"}, {}},
      {"4 3.0", kDefault, {"4"}, RejectReason::bad_item},  // a fraction, even a zero one
      {"123456789012345678", kDefault, {"123456789012345678"}, {}},    // 18 digits: converted in the scan
      {"1234567890123456789", kDefault, {"1234567890123456789"}, {}},  // 19 digits: by parse_numeric_key
      {"9223372036854775807", kDefault, {"9223372036854775807"}, {}},  // 2^63 - 1
      {"9223372036854775808", kDefault, {}, RejectReason::bad_item},   // 2^63
      {"99999999999999999999", kDefault, {}, RejectReason::bad_item},  // more than 64 bits
      {"7 007", kDefault, {"7"}, RejectReason::bad_item},  // a leading zero makes no integer item
      {"8 3.5", kDefault, {"8"}, RejectReason::bad_item},
      {"9 12a", kDefault, {"9"}, RejectReason::bad_item},
      {"-1", kDefault, {}, RejectReason::bad_item},
      {"x 1", kDefault, {}, RejectReason::bad_item},
      {"1\t2", kDefault, {}, RejectReason::bad_item},  // a tab is not the delimiter
      {"1 22 333", 2, {"1", "22"}, RejectReason::field_too_long},
      {"12 3.0", 2, {"12"}, RejectReason::field_too_long},
      {"12 x", 2, {"12"}, RejectReason::bad_item},
  };
  InputSettings settings;
  settings.format = InputFormat::baskets;
  settings.delimiter = ' ';
  for (const Case& c : cases) {
    IngestPolicy policy;
    policy.max_field_bytes = c.max_field_bytes;
    LineItems rows;
    rows.baskets_only = true;
    Accounting accounting;
    RejectSampler sampler(10);
    RecordParser parser(settings, policy, rows, accounting, sampler);
    parser.begin_segment(0, nullptr);
    parser.parse(Record{c.line, 0, false});
    std::vector<std::string> interned;
    for (const auto& entry : parser.items().entries()) interned.push_back(entry.text);
    BOOST_TEST(accounting.balanced(), c.line);
    BOOST_TEST(interned == c.interned, "line '" << c.line << "'");
    if (c.reject) {
      BOOST_TEST(accounting.rejected[static_cast<std::size_t>(*c.reject)] == 1u, c.line);
      BOOST_TEST(rows.size() == 0u, c.line);
    } else {
      BOOST_TEST(accounting.rejected_total() == 0u, c.line);
      BOOST_TEST(rows.size() == c.interned.size(), c.line);
      BOOST_TEST(accounting.blank == (c.interned.empty() ? 1u : 0u), c.line);
    }
  }
}
