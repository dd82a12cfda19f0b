#include "mpiseg/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <toml++/toml.h>

#include "mpiseg/core/error.hpp"

namespace mpiseg {

struct JobConfig::Impl {
  toml::table user;  // what the file and the overrides set
  std::vector<KeySpec> schema;
  std::string origin;
  std::string file_text;

  const KeySpec* find_spec(std::string_view section, std::string_view key) const {
    for (const KeySpec& spec : schema)
      if (spec.section == section && spec.key == key) return &spec;
    return nullptr;
  }
};

namespace {

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::boolean: return "boolean";
    case ValueKind::integer: return "integer";
    case ValueKind::number: return "float";
    case ValueKind::string: return "string";
    case ValueKind::integer_list: return "integer or list of integers";
    case ValueKind::string_list: return "string or list of strings";
    case ValueKind::string_or_integer: return "string or integer";
  }
  return "?";
}

bool node_matches(const toml::node& node, ValueKind kind) {
  auto all_of = [&](auto predicate) {
    const toml::array* array = node.as_array();
    if (array == nullptr) return false;
    for (const toml::node& element : *array)
      if (!predicate(element)) return false;
    return true;
  };
  switch (kind) {
    case ValueKind::boolean: return node.is_boolean();
    case ValueKind::integer: return node.is_integer();
    case ValueKind::number: return node.is_integer() || node.is_floating_point();
    case ValueKind::string: return node.is_string();
    case ValueKind::integer_list:
      return node.is_integer() || all_of([](const toml::node& n) { return n.is_integer(); });
    case ValueKind::string_list:
      return node.is_string() || all_of([](const toml::node& n) { return n.is_string(); });
    case ValueKind::string_or_integer: return node.is_string() || node.is_integer();
  }
  return false;
}

// Parses "v = <literal>" and returns the value node, or nullptr when it is not valid TOML.
std::unique_ptr<toml::node> parse_literal(std::string_view literal) {
  try {
    toml::table holder = toml::parse(fmt::format("v = {}", literal));
    if (toml::node* node = holder.get("v")) {
      std::unique_ptr<toml::node> copy;
      node->visit([&](auto&& value) { copy = std::make_unique<std::remove_cvref_t<decltype(value)>>(value); });
      return copy;
    }
  } catch (const toml::parse_error&) {
  }
  return nullptr;
}

void insert_node(toml::table& section, std::string_view key, const toml::node& node) {
  node.visit([&](auto&& value) { section.insert_or_assign(key, value); });
}

// The ValueKind names of keys.toml, as the enumerators are spelt.
constexpr std::pair<std::string_view, ValueKind> kKindNames[] = {
    {"boolean", ValueKind::boolean},
    {"integer", ValueKind::integer},
    {"number", ValueKind::number},
    {"string", ValueKind::string},
    {"integer_list", ValueKind::integer_list},
    {"string_list", ValueKind::string_list},
    {"string_or_integer", ValueKind::string_or_integer},
};

}  // namespace

KeyTable::KeyTable(std::string_view toml_text, std::string_view origin) : origin_(origin) {
  auto fail = [&](const std::string& what) { throw std::logic_error(fmt::format("{}: {}", origin_, what)); };
  toml::table file;
  try {
    file = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    fail(fmt::format("line {}: {}", error.source().begin.line, error.description()));
  }
  auto keep = [&](std::string_view text) -> std::string_view { return text_.emplace_back(text); };
  for (const auto& [section_name, entries] : file) {
    const toml::array* array = entries.as_array();
    if (array == nullptr || !array->is_array_of_tables())
      fail(fmt::format("{} is not a list of [[{}]] entries", section_name.str(), section_name.str()));
    const std::string_view section = keep(section_name.str());
    for (const toml::node& node : *array) {
      const toml::table& entry = *node.as_table();
      for (const auto& [field, value] : entry)
        if (field != "key" && field != "type" && field != "default" && field != "meaning")
          fail(fmt::format("[[{}]] has an unknown field '{}' (key, type, default, meaning)", section, field.str()));
      const std::optional<std::string_view> key = entry["key"].value<std::string_view>();
      const std::optional<std::string_view> type = entry["type"].value<std::string_view>();
      const std::optional<std::string_view> meaning = entry["meaning"].value<std::string_view>();
      if (!key || !type || !meaning) fail(fmt::format("every [[{}]] needs the strings key, type and meaning", section));
      const auto* kind = std::find_if(std::begin(kKindNames), std::end(kKindNames), [&](const auto& named) { return named.first == *type; });
      if (kind == std::end(kKindNames)) fail(fmt::format("[{}] {}: unknown type '{}'", section, *key, *type));
      std::string_view default_value;
      if (const toml::node* given = entry.get("default")) {
        if (!given->is_string()) fail(fmt::format("[{}] {}: default must be TOML text in a string", section, *key));
        default_value = keep(*given->value<std::string_view>());
        const std::unique_ptr<toml::node> parsed = parse_literal(default_value);
        if (!parsed || !node_matches(*parsed, kind->second))
          fail(fmt::format("[{}] {}: default {} is not of type {}", section, *key, default_value, kind_name(kind->second)));
      }
      if (std::any_of(keys_.begin(), keys_.end(), [&](const KeySpec& spec) { return spec.section == section && spec.key == *key; }))
        fail(fmt::format("[{}] {} is declared twice", section, *key));
      keys_.push_back(KeySpec{section, keep(*key), kind->second, default_value, keep(*meaning)});
    }
  }
}

std::span<const KeySpec> KeyTable::section(std::string_view name) const {
  const auto first = std::find_if(keys_.begin(), keys_.end(), [&](const KeySpec& spec) { return spec.section == name; });
  const auto last = std::find_if(first, keys_.end(), [&](const KeySpec& spec) { return spec.section != name; });
  if (first == last) throw std::logic_error(fmt::format("{} declares no [{}] keys", origin_, name));
  return {first, last};
}

JobConfig JobConfig::load(const std::filesystem::path& file, std::span<const std::string> overrides,
                          std::span<const KeySpec> schema) {
  if (file.empty()) return parse("", "", overrides, schema);
  std::error_code error;
  if (std::filesystem::exists(file, error) && !std::filesystem::is_regular_file(file, error))
    throw ConfigError(fmt::format("job file '{}' is not a regular file (a directory?)", file.string()));
  std::ifstream stream(file, std::ios::binary);
  if (!stream) throw ConfigError(fmt::format("cannot open job file '{}'", file.string()));
  std::ostringstream text;
  text << stream.rdbuf();
  return parse(text.str(), file.string(), overrides, schema);
}

JobConfig JobConfig::parse(std::string_view text, std::string_view origin, std::span<const std::string> overrides,
                           std::span<const KeySpec> schema) {
  auto impl = std::make_shared<Impl>();
  impl->schema.assign(schema.begin(), schema.end());
  impl->origin = origin.empty() ? std::string("--set") : std::string(origin);
  impl->file_text = std::string(text);

  if (!text.empty()) {
    try {
      impl->user = toml::parse(text, origin);
    } catch (const toml::parse_error& error) {
      throw ConfigError(fmt::format("{}:{}:{}: {}", impl->origin, error.source().begin.line,
                                    error.source().begin.column, error.description()));
    }
  }

  // Validate the file: only declared sections and keys, each with the declared type.
  for (auto&& [section_name, section_node] : impl->user) {
    const toml::table* section = section_node.as_table();
    if (section == nullptr)
      throw ConfigError(fmt::format("{}: '{}' must be a section ([{}]), not a value", impl->origin,
                                    section_name.str(), section_name.str()));
    for (auto&& [key, value] : *section) {
      const KeySpec* spec = impl->find_spec(section_name.str(), key.str());
      if (spec == nullptr)
        throw ConfigError(fmt::format("{}: unknown key [{}] {}", impl->origin, section_name.str(), key.str()));
      if (!node_matches(value, spec->kind))
        throw ConfigError(fmt::format("{}: [{}] {} must be a {}", impl->origin, section_name.str(), key.str(),
                                      kind_name(spec->kind)));
    }
  }

  for (const std::string& override_text : overrides) {
    const auto equals = override_text.find('=');
    const auto dot = override_text.find('.');
    if (equals == std::string::npos || dot == std::string::npos || dot > equals)
      throw ConfigError(fmt::format("--set '{}': expected section.key=value", override_text));
    const std::string section_name = override_text.substr(0, dot);
    const std::string key = override_text.substr(dot + 1, equals - dot - 1);
    std::string_view value_text = std::string_view(override_text).substr(equals + 1);
    const KeySpec* spec = impl->find_spec(section_name, key);
    if (spec == nullptr) throw ConfigError(fmt::format("--set: unknown key [{}] {}", section_name, key));

    std::unique_ptr<toml::node> node;
    if (spec->kind == ValueKind::string) {
      // Strings are taken verbatim so that paths and names need no shell-hostile quoting.
      if (value_text.size() >= 2 && value_text.front() == '"' && value_text.back() == '"')
        node = parse_literal(value_text);
      if (!node) node = std::make_unique<toml::value<std::string>>(std::string(value_text));
    } else {
      node = parse_literal(value_text);
      if (!node && (spec->kind == ValueKind::string_or_integer || spec->kind == ValueKind::string_list))
        node = std::make_unique<toml::value<std::string>>(std::string(value_text));
    }
    if (!node || !node_matches(*node, spec->kind))
      throw ConfigError(fmt::format("--set {}: [{}] {} must be a {}", override_text, section_name, key,
                                    kind_name(spec->kind)));
    if (!impl->user.contains(section_name)) impl->user.insert(section_name, toml::table{});
    insert_node(*impl->user[section_name].as_table(), key, *node);
  }

  JobConfig config;
  config.impl_ = std::move(impl);
  return config;
}

namespace {
// The effective value of a key: the user's if set, else the parsed default (owned by `storage`).
struct Lookup {
  std::unique_ptr<toml::node> storage;
  const toml::node* node = nullptr;
};

Lookup lookup(const toml::table& user, const KeySpec* spec, std::string_view section, std::string_view key) {
  if (spec == nullptr)
    throw std::logic_error(fmt::format("configuration key [{}] {} is read but not declared", section, key));
  Lookup result;
  if (const toml::table* table = user[section].as_table()) result.node = table->get(key);
  if (result.node == nullptr && !spec->default_value.empty()) {
    result.storage = parse_literal(spec->default_value);
    if (!result.storage) throw std::logic_error(fmt::format("bad default for [{}] {}", section, key));
    result.node = result.storage.get();
  }
  return result;
}

Lookup lookup_required(const JobConfig::Impl& impl, std::string_view section, std::string_view key) {
  Lookup result = lookup(impl.user, impl.find_spec(section, key), section, key);
  if (result.node == nullptr)
    throw ConfigError(fmt::format("{}: missing required key [{}] {}", impl.origin, section, key));
  return result;
}

template <class T>
std::vector<T> scalar_or_list(const toml::node& node) {
  std::vector<T> values;
  if (const toml::array* array = node.as_array()) {
    for (const toml::node& element : *array) values.push_back(element.value<T>().value());
  } else {
    values.push_back(node.value<T>().value());
  }
  return values;
}
}  // namespace

bool JobConfig::has(std::string_view section, std::string_view key) const {
  return lookup(impl_->user, impl_->find_spec(section, key), section, key).node != nullptr;
}

bool JobConfig::user_set(std::string_view section, std::string_view key) const {
  const toml::table* table = impl_->user[section].as_table();
  return table != nullptr && table->get(key) != nullptr;
}

bool JobConfig::get_bool(std::string_view section, std::string_view key) const {
  return lookup_required(*impl_, section, key).node->value<bool>().value();
}

std::int64_t JobConfig::get_int(std::string_view section, std::string_view key) const {
  return lookup_required(*impl_, section, key).node->value<std::int64_t>().value();
}

namespace {
// toml++ will not convert an integer that a double cannot hold exactly (above 2^53).
double number_of(const toml::node& node, const JobConfig::Impl& impl, std::string_view section, std::string_view key) {
  if (const auto value = node.value<double>()) return *value;
  throw ConfigError(fmt::format("[{}] {} in {}: {} cannot be represented exactly as a number (integers above 2^53); write it as a "
                                "float, e.g. 1e16", section, key, impl.origin, node.value<std::int64_t>().value_or(0)));
}
}  // namespace

double JobConfig::get_number(std::string_view section, std::string_view key) const {
  return number_of(*lookup_required(*impl_, section, key).node, *impl_, section, key);
}

std::int64_t JobConfig::get_int_in(std::string_view section, std::string_view key, std::int64_t low, std::int64_t high) const {
  const std::int64_t value = get_int(section, key);
  if (value < low || value > high)
    throw ConfigError(high == std::numeric_limits<std::int64_t>::max()
                          ? fmt::format("{} must be at least {}, not {}", describe(section, key), low, value)
                          : fmt::format("{} must be between {} and {}, not {}", describe(section, key), low, high, value));
  return value;
}

double JobConfig::get_number_from(std::string_view section, std::string_view key, double low, bool strictly) const {
  const double value = get_number(section, key);
  if (!std::isfinite(value) || (strictly ? !(value > low) : !(value >= low)))
    throw ConfigError(fmt::format("{} must be a finite number {} {}, not {}", describe(section, key), strictly ? ">" : ">=", low, value));
  return value;
}

std::pair<double, bool> JobConfig::get_number_and_kind(std::string_view section, std::string_view key) const {
  const Lookup found = lookup_required(*impl_, section, key);
  return {number_of(*found.node, *impl_, section, key), found.node->is_integer()};
}

std::string JobConfig::get_string(std::string_view section, std::string_view key) const {
  return lookup_required(*impl_, section, key).node->value<std::string>().value();
}

std::vector<std::int64_t> JobConfig::get_int_list(std::string_view section, std::string_view key) const {
  return scalar_or_list<std::int64_t>(*lookup_required(*impl_, section, key).node);
}

std::vector<std::string> JobConfig::get_string_list(std::string_view section, std::string_view key) const {
  return scalar_or_list<std::string>(*lookup_required(*impl_, section, key).node);
}

IntOrString JobConfig::get_int_or_string(std::string_view section, std::string_view key) const {
  const Lookup found = lookup_required(*impl_, section, key);
  if (found.node->is_integer()) return found.node->value<std::int64_t>().value();
  return found.node->value<std::string>().value();
}

const std::string& JobConfig::origin() const { return impl_->origin; }
const std::string& JobConfig::file_text() const { return impl_->file_text; }
std::span<const KeySpec> JobConfig::schema() const { return impl_->schema; }

std::string JobConfig::describe(std::string_view section, std::string_view key) const {
  return fmt::format("[{}] {} in {}", section, key, impl_->origin);
}

void JobConfig::throw_bad_choice(std::string_view section, std::string_view key, const std::string& given,
                                 std::span<const std::string_view> names) const {
  std::string listed;
  for (std::size_t i = 0; i < names.size(); ++i)
    listed += fmt::format("{}\"{}\"", i == 0 ? "" : i + 1 == names.size() ? " or " : ", ", names[i]);
  throw ConfigError(fmt::format("{} must be {}, not \"{}\"", describe(section, key), listed, given));
}

std::string JobConfig::effective_toml() const {
  toml::table effective;
  for (const KeySpec& spec : impl_->schema) {
    const Lookup found = lookup(impl_->user, &spec, spec.section, spec.key);
    if (found.node == nullptr) continue;
    if (!effective.contains(spec.section)) effective.insert(spec.section, toml::table{});
    insert_node(*effective[spec.section].as_table(), spec.key, *found.node);
  }
  std::ostringstream text;
  // Full float precision (0.10000000000000001): provenance must reproduce the run exactly.
  text << effective;
  return text.str();
}

std::string render_key_reference_markdown(std::span<const KeySpec> schema) {
  std::string text;
  std::string_view current;
  for (const KeySpec& spec : schema) {
    if (spec.section != current) {
      current = spec.section;
      text += fmt::format("\n#### [{}]\n\n| key | type | default | meaning |\n|---|---|---|---|\n", current);
    }
    std::string default_text = spec.default_value.empty() ? "(none)" : fmt::format("`{}`", spec.default_value);
    // GitHub tables split cells at '|' even inside code spans unless it is escaped.
    for (std::size_t at = default_text.find('|'); at != std::string::npos; at = default_text.find('|', at + 2))
      default_text.replace(at, 1, "\\|");
    std::string description(spec.description);
    for (char& c : description)
      if (c == '|') c = '/';
    text += fmt::format("| `{}` | {} | {} | {} |\n", spec.key, kind_name(spec.kind), default_text, description);
  }
  return text;
}

}  // namespace mpiseg
