#pragma once
/// Job files. One TOML section per stage ([generate], [input], [ingest], [features], [kmeans],
/// [fpgrowth], [output], ...), keys in snake_case. Every key mpiseg understands is declared once,
/// in the keys.toml of the module that reads it (type, default, meaning), which the build compiles
/// in and a KeyTable turns into KeySpecs; unknown keys are an error naming the key and the file,
/// and `mpiseg config --reference` and the README's job-file reference come from the same table.
///
///   JobConfig job = JobConfig::load("jobs/demo.toml", {"kmeans.k=8"}, all_key_specs());
///   std::int64_t k = job.get_int("kmeans", "k");
#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mpiseg {

enum class ValueKind {
  boolean,
  integer,
  number,             // float; an integer is accepted
  string,
  integer_list,       // an integer or a list of integers
  string_list,        // a string or a list of strings
  string_or_integer,  // e.g. a column given by name or by 0-based index
};

struct KeySpec {
  std::string_view section;
  std::string_view key;
  ValueKind kind;
  /// Default as a TOML literal ("8", "\"kmeans||\"", "[2, 3]"); empty means no default: the key
  /// is optional and `has()` tells whether the user gave it.
  std::string_view default_value;
  std::string_view description;
};

/// The keys one module declares, read from its src/<module>/keys.toml, which mpiseg_add_module
/// (KEYS) compiles in as text. Each entry `[[section]]` has `key`, `type` (a ValueKind name:
/// "integer_list"), `meaning` and, unless the key is optional without a default, `default`: the
/// default as TOML text ('"auto"', '[2, 3]'). Within a section the file's order is kept (it is the
/// order of the reference). A malformed table, an unknown field or a default that is not a value of
/// the key's type is a std::logic_error naming `origin`: a defect of the build, which the unit tests
/// catch by loading every module's table.
class KeyTable {
 public:
  KeyTable(std::string_view toml_text, std::string_view origin);
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  /// The section's keys in file order (a std::logic_error when the table declares none).
  std::span<const KeySpec> section(std::string_view name) const;

 private:
  std::string origin_;
  std::deque<std::string> text_;  // owns what the KeySpecs view; a deque never moves its elements
  std::vector<KeySpec> keys_;     // grouped by section
};

using IntOrString = std::variant<std::int64_t, std::string>;

/// One allowed value of a string key: its name in the job file and what it means.
template <class Value>
struct Choice {
  std::string_view name;  // a literal (null-terminated)
  Value value;
};

class JobConfig {
 public:
  /// Reads `file` (none if empty), applies `overrides` ("section.key=value", value in TOML
  /// syntax; for string keys the raw text is taken as is) and validates both against `schema`.
  static JobConfig load(const std::filesystem::path& file, std::span<const std::string> overrides,
                        std::span<const KeySpec> schema);
  /// Same as load() for TOML text already in memory; `origin` names it in messages.
  static JobConfig parse(std::string_view text, std::string_view origin, std::span<const std::string> overrides,
                         std::span<const KeySpec> schema);

  /// True when the user set the key (in the file or with --set), or it has a default.
  bool has(std::string_view section, std::string_view key) const;
  /// True only when the user set the key.
  bool user_set(std::string_view section, std::string_view key) const;

  bool get_bool(std::string_view section, std::string_view key) const;
  std::int64_t get_int(std::string_view section, std::string_view key) const;
  double get_number(std::string_view section, std::string_view key) const;
  std::string get_string(std::string_view section, std::string_view key) const;
  std::vector<std::int64_t> get_int_list(std::string_view section, std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view section, std::string_view key) const;
  IntOrString get_int_or_string(std::string_view section, std::string_view key) const;
  /// An integer key within [low, high]; otherwise a ConfigError that states the range ("at least
  /// low" without an upper end).
  std::int64_t get_int_in(std::string_view section, std::string_view key, std::int64_t low,
                          std::int64_t high = std::numeric_limits<std::int64_t>::max()) const;
  /// A finite number key >= low (> low when `strictly`); otherwise a ConfigError saying so.
  double get_number_from(std::string_view section, std::string_view key, double low, bool strictly = false) const;
  /// Numeric value and whether it was written as an integer (min_support: count vs fraction).
  std::pair<double, bool> get_number_and_kind(std::string_view section, std::string_view key) const;

  /// Where the settings came from: the file path, or "--set" when there is no file.
  const std::string& origin() const;
  /// The job file exactly as read (empty without a file); stored in models for provenance.
  const std::string& file_text() const;
  /// Every declared key with its effective value, as TOML, overrides and defaults applied.
  std::string effective_toml() const;
  std::span<const KeySpec> schema() const;

  /// Helper for messages: "[section] key in origin".
  std::string describe(std::string_view section, std::string_view key) const;

  /// A string key with a fixed set of values: the value whose name the key holds (a table may
  /// list several names for one value; the first is its canonical name). Anything else is a
  /// ConfigError listing the names.
  template <class Value, std::size_t N>
  Value get_choice(std::string_view section, std::string_view key, const std::array<Choice<Value>, N>& choices) const {
    const std::string given = get_string(section, key);
    for (const Choice<Value>& choice : choices)
      if (choice.name == given) return choice.value;
    std::vector<std::string_view> names;
    for (const Choice<Value>& choice : choices) names.push_back(choice.name);
    throw_bad_choice(section, key, given, names);
  }

  struct Impl;  // defined in config.cpp; keeps toml++ out of this header

 private:
  [[noreturn]] void throw_bad_choice(std::string_view section, std::string_view key, const std::string& given,
                                     std::span<const std::string_view> names) const;
  std::shared_ptr<const Impl> impl_;
};

/// The canonical name of `value` in a choice table ("?" when it is not there).
template <class Value, std::size_t N>
constexpr const char* choice_name(const std::array<Choice<Value>, N>& choices, Value value) {
  for (const Choice<Value>& choice : choices)
    if (choice.value == value) return choice.name.data();
  return "?";
}

/// The job-file reference as Markdown tables, one per section (used for the README and --help).
std::string render_key_reference_markdown(std::span<const KeySpec> schema);

}  // namespace mpiseg
