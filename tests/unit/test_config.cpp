#include <boost/test/unit_test.hpp>

#include <array>
#include <fmt/format.h>

#include "mpiseg/core/config.hpp"
#include "mpiseg/core/error.hpp"

using namespace mpiseg;

namespace {
const KeySpec kSchema[] = {
    {"kmeans", "k", ValueKind::integer_list, "8", "clusters"},
    {"kmeans", "init", ValueKind::string, "\"kmeans||\"", "seeding"},
    {"kmeans", "tol", ValueKind::number, "1e-4", "tolerance"},
    {"kmeans", "accelerate", ValueKind::boolean, "true", "bounds"},
    {"input", "path", ValueKind::string, "", "input file"},
    {"input", "customer", ValueKind::string_or_integer, "\"CustomerID\"", "column"},
    {"fpgrowth", "min_support", ValueKind::number, "0.01", "support"},
};

JobConfig parse(std::string_view text, std::vector<std::string> sets = {}) {
  return JobConfig::parse(text, "job.toml", sets, kSchema);
}

bool message_contains(const ConfigError& error, std::string_view part) {
  return std::string_view(error.what()).find(part) != std::string_view::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_apply_when_keys_are_absent) {
  const JobConfig job = parse("");
  BOOST_TEST(job.get_int_list("kmeans", "k") == std::vector<std::int64_t>{8});
  BOOST_TEST(job.get_string("kmeans", "init") == "kmeans||");
  BOOST_TEST(job.get_number("kmeans", "tol") == 1e-4);
  BOOST_TEST(job.get_bool("kmeans", "accelerate"));
  BOOST_TEST(!job.has("input", "path"));
  BOOST_TEST(!job.user_set("kmeans", "k"));
}

BOOST_AUTO_TEST_CASE(file_values_and_overrides) {
  const JobConfig job = parse("[kmeans]\nk = [2, 3, 4]\ntol = 1\n[input]\npath = \"a.csv\"\ncustomer = 6\n",
                              {"kmeans.init=kmeans++", "input.path=data/b c.csv", "kmeans.accelerate=false"});
  BOOST_TEST(job.get_int_list("kmeans", "k") == (std::vector<std::int64_t>{2, 3, 4}));
  BOOST_TEST(job.get_number("kmeans", "tol") == 1.0);  // an integer is a valid float
  BOOST_TEST(job.get_string("kmeans", "init") == "kmeans++");
  BOOST_TEST(job.get_string("input", "path") == "data/b c.csv");
  BOOST_TEST(!job.get_bool("kmeans", "accelerate"));
  BOOST_TEST(std::get<std::int64_t>(job.get_int_or_string("input", "customer")) == 6);
  BOOST_TEST(job.user_set("kmeans", "k"));
}

BOOST_AUTO_TEST_CASE(override_values_use_toml_syntax) {
  const JobConfig job = parse("", {"kmeans.k=[5,6]", "input.customer=Customer ID", "fpgrowth.min_support=3"});
  BOOST_TEST(job.get_int_list("kmeans", "k") == (std::vector<std::int64_t>{5, 6}));
  BOOST_TEST(std::get<std::string>(job.get_int_or_string("input", "customer")) == "Customer ID");
  const auto [support, is_integer] = job.get_number_and_kind("fpgrowth", "min_support");
  BOOST_TEST(support == 3.0);
  BOOST_TEST(is_integer);
}

BOOST_AUTO_TEST_CASE(unknown_keys_name_the_key_and_the_file) {
  BOOST_CHECK_EXCEPTION(parse("[kmeans]\nkk = 3\n"), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "job.toml") && message_contains(e, "[kmeans] kk"); });
  BOOST_CHECK_EXCEPTION(parse("[nosuch]\nk = 3\n"), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "[nosuch] k"); });
  BOOST_CHECK_EXCEPTION(parse("", {"kmeans.kk=3"}), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "[kmeans] kk"); });
}

BOOST_AUTO_TEST_CASE(wrong_types_and_syntax_are_errors) {
  BOOST_CHECK_EXCEPTION(parse("[kmeans]\nk = \"eight\"\n"), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "integer"); });
  BOOST_CHECK_EXCEPTION(parse("[kmeans]\nk = [1, \"x\"]\n"), ConfigError, [](const ConfigError&) { return true; });
  BOOST_CHECK_EXCEPTION(parse("[kmeans\nk = 3\n"), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "job.toml:1"); });
  BOOST_CHECK_EXCEPTION(parse("", {"kmeans.accelerate=maybe"}), ConfigError, [](const ConfigError&) { return true; });
  BOOST_CHECK_EXCEPTION(parse("", {"kmeans"}), ConfigError, [](const ConfigError&) { return true; });
}

BOOST_AUTO_TEST_CASE(choices_map_names_to_values_and_list_them_when_wrong) {
  enum class Seeding { parallel, plus_plus };
  constexpr std::array<Choice<Seeding>, 3> kNames{{{"kmeans||", Seeding::parallel}, {"k-means||", Seeding::parallel}, {"kmeans++", Seeding::plus_plus}}};
  BOOST_TEST((parse("").get_choice("kmeans", "init", kNames) == Seeding::parallel));
  BOOST_TEST((parse("", {"kmeans.init=k-means||"}).get_choice("kmeans", "init", kNames) == Seeding::parallel));
  BOOST_TEST((parse("", {"kmeans.init=kmeans++"}).get_choice("kmeans", "init", kNames) == Seeding::plus_plus));
  BOOST_TEST(std::string(choice_name(kNames, Seeding::parallel)) == "kmeans||");  // the first name is the canonical one
  BOOST_CHECK_EXCEPTION(parse("", {"kmeans.init=best"}).get_choice("kmeans", "init", kNames), ConfigError, [](const ConfigError& error) {
    return message_contains(error, "[kmeans] init in job.toml must be \"kmeans||\", \"k-means||\" or \"kmeans++\", not \"best\"");
  });
}

BOOST_AUTO_TEST_CASE(bounded_numbers_state_their_range_when_outside_it) {
  BOOST_TEST(parse("", {"kmeans.k=[3]"}).get_int_list("kmeans", "k").front() == 3);
  const JobConfig job = parse("", {"kmeans.tol=0", "fpgrowth.min_support=-1"});
  BOOST_TEST(job.get_number_from("kmeans", "tol", 0) == 0.0);
  BOOST_CHECK_EXCEPTION(job.get_number_from("kmeans", "tol", 0, true), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "[kmeans] tol in job.toml must be a finite number > 0, not 0"); });
  BOOST_CHECK_EXCEPTION(job.get_number_from("fpgrowth", "min_support", 0), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "must be a finite number >= 0, not -1"); });
  const JobConfig counts = parse("[kmeans]\nk = 8\n[fpgrowth]\nmin_support = 5\n");
  BOOST_CHECK_EXCEPTION(counts.get_int_in("fpgrowth", "min_support", 10), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "[fpgrowth] min_support in job.toml must be at least 10, not 5"); });
  BOOST_CHECK_EXCEPTION(counts.get_int_in("fpgrowth", "min_support", 1, 4), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "must be between 1 and 4, not 5"); });
  BOOST_TEST(counts.get_int_in("fpgrowth", "min_support", 1, 5) == 5);
}

BOOST_AUTO_TEST_CASE(missing_required_key_is_reported) {
  const JobConfig job = parse("");
  BOOST_CHECK_EXCEPTION(job.get_string("input", "path"), ConfigError,
                        [](const ConfigError& e) { return message_contains(e, "missing required key [input] path"); });
}

BOOST_AUTO_TEST_CASE(effective_settings_round_trip_through_toml) {
  const JobConfig job = parse("[kmeans]\nk = [2, 3]\n", {"input.path=x.csv"});
  const JobConfig again = JobConfig::parse(job.effective_toml(), "effective", {}, kSchema);
  BOOST_TEST(again.get_int_list("kmeans", "k") == (std::vector<std::int64_t>{2, 3}));
  BOOST_TEST(again.get_string("input", "path") == "x.csv");
  BOOST_TEST(again.get_string("kmeans", "init") == "kmeans||");
}

BOOST_AUTO_TEST_CASE(reference_lists_every_key) {
  const std::string text = render_key_reference_markdown(kSchema);
  for (const KeySpec& spec : kSchema) BOOST_TEST(text.find(fmt::format("`{}`", spec.key)) != std::string::npos);
  BOOST_TEST(text.find("#### [kmeans]") != std::string::npos);
  BOOST_TEST(text.find("kmeans\\|\\|") != std::string::npos);  // '|' escaped inside tables
}

BOOST_AUTO_TEST_CASE(key_tables_keep_the_file_order_within_each_section) {
  const KeyTable table(R"([[kmeans]]
key = 'k'
type = 'integer_list'
default = '[2, 3]'
meaning = 'clusters'

[[input]]
key = 'path'
type = 'string'
meaning = 'input file'

[[kmeans]]
key = 'init'
type = 'string'
default = '"kmeans||"'
meaning = 'seeding'
)",
                       "test.toml");
  const std::span<const KeySpec> kmeans = table.section("kmeans");
  BOOST_REQUIRE(kmeans.size() == 2u);
  BOOST_TEST(kmeans[0].key == "k");
  BOOST_TEST(kmeans[0].default_value == "[2, 3]");
  BOOST_TEST((kmeans[0].kind == ValueKind::integer_list));
  BOOST_TEST(kmeans[1].key == "init");
  BOOST_TEST(kmeans[1].section == "kmeans");
  BOOST_TEST(table.section("input")[0].default_value.empty());  // optional, no default

  const JobConfig job = JobConfig::parse("", "job.toml", {}, kmeans);
  BOOST_TEST(job.get_int_list("kmeans", "k") == (std::vector<std::int64_t>{2, 3}));
  BOOST_TEST(job.get_string("kmeans", "init") == "kmeans||");
}

BOOST_AUTO_TEST_CASE(malformed_key_tables_are_reported_with_their_origin) {
  auto error_of = [](std::string_view text) -> std::string {
    try {
      const KeyTable table(text, "src/x/keys.toml");
      (void)table.section("x");
    } catch (const std::logic_error& error) {
      return error.what();
    }
    return "";
  };
  auto entry = [](std::string_view fields) { return fmt::format("[[x]]\n{}\n", fields); };
  const std::string good = "key = 'k'\ntype = 'integer'\nmeaning = 'm'\n";
  BOOST_TEST(error_of(entry(good)).empty());
  BOOST_TEST(error_of("[[x]\n").find("src/x/keys.toml: line 1") == 0u);
  BOOST_TEST(error_of("x = 1\n").find("not a list of [[x]] entries") != std::string::npos);
  BOOST_TEST(error_of(entry(good + "defualt = '1'")).find("unknown field 'defualt'") != std::string::npos);
  BOOST_TEST(error_of(entry("key = 'k'\ntype = 'integer'")).find("needs the strings key, type and meaning") != std::string::npos);
  BOOST_TEST(error_of(entry("key = 'k'\ntype = 'int'\nmeaning = 'm'")).find("unknown type 'int'") != std::string::npos);
  BOOST_TEST(error_of(entry(good + "default = 1")).find("default must be TOML text") != std::string::npos);
  BOOST_TEST(error_of(entry(good + "default = '1.5'")).find("default 1.5 is not of type integer") != std::string::npos);
  BOOST_TEST(error_of(entry(good + "default = '\"1\"'")).find("is not of type integer") != std::string::npos);
  BOOST_TEST(error_of(entry(good) + entry(good)).find("[x] k is declared twice") != std::string::npos);
  BOOST_TEST(error_of("[[y]]\n" + good).find("declares no [x] keys") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
