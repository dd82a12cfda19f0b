#include "mpiseg/model/export.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <numeric>

#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/model_file.hpp"

namespace mpiseg::model {
namespace {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string shortest(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// Writes text to `out` (a file, or standard output for "-" / empty).
void emit(const std::string& out, const std::string& text) {
  if (out.empty() || out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::ofstream stream(out, std::ios::binary | std::ios::trunc);
  if (!stream) throw IoError(fmt::format("cannot write '{}'", out));
  stream << text;
}

std::string joined_items(const std::vector<std::uint32_t>& items, std::uint64_t begin, std::uint64_t end,
                         const std::vector<std::string>& names, const char* separator) {
  std::string text;
  for (std::uint64_t i = begin; i < end; ++i) {
    if (i != begin) text += separator;
    text += names.at(items[i]);
  }
  return text;
}

}  // namespace

void write_assignments_csv(const std::filesystem::path& path, std::span<const std::uint64_t> keys,
                           std::span<const std::int32_t> labels, std::span<const double> squared_distances,
                           const ingest::CustomerNames& names, comm::Communicator& comm) {
  std::string text;
  if (comm.rank() == 0) text = "customer,segment,distance\n";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string customer = std::to_string(keys[i]);
    if (keys[i] & ingest::kHashedKeyBit) {
      const auto found = std::lower_bound(names.key.begin(), names.key.end(), keys[i]);
      if (found != names.key.end() && *found == keys[i]) customer = csv_field(names.name[static_cast<std::size_t>(found - names.key.begin())]);
    }
    text += fmt::format("{},{},{}\n", customer, labels[i], shortest(std::sqrt(squared_distances[i])));
  }
  if (comm.rank() == 0 && !path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  comm.barrier();
  auto file = comm.create_shared_file(path);
  const std::uint64_t offset = comm.exclusive_prefix_sum<std::uint64_t>(text.size());
  file->write_at_all(offset, std::as_bytes(std::span(text.data(), text.size())));
  file->commit();
}

void export_csv(const std::filesystem::path& model, ExportWhat what, const std::string& out, int segment, comm::Communicator& comm) {
  h5::File file = open_model_file(model, comm);
  const h5::Group root = file.root();
  std::string text;
  if (what == ExportWhat::assignments) {
    const h5::Group group = root.open_group("assignments");
    const auto customer = h5::read_all<std::uint64_t>(group, "customer");
    const auto label = h5::read_all<std::int32_t>(group, "segment");
    const auto distance = h5::read_all<double>(group, "distance");
    text = "customer,segment,distance\n";
    for (std::size_t i = 0; i < customer.size(); ++i) text += fmt::format("{},{},{}\n", customer[i], label[i], shortest(distance[i]));
  } else if (what == ExportWhat::centroids) {
    const h5::Group group = root.open_group("kmeans");
    const auto names = h5::read_strings(group, "feature_names");
    const auto scaled = h5::read_all<double>(group, "centroids_scaled");
    const bool original = group.exists("centroids");
    const auto values = original ? h5::read_all<double>(group, "centroids") : scaled;
    const auto sizes = h5::read_all<std::uint64_t>(group, "sizes");
    const std::size_t d = names.size();
    text = "segment,customers";
    // Appended piece by piece: GCC 12 reports a false -Wrestrict on "," + std::string.
    for (const auto& name : names) {
      text += ',';
      text += csv_field(name);
      if (!original) text += "_scaled";
    }
    for (const auto& name : names) {
      text += ',';
      text += csv_field(name);
      text += "_scaled";
    }
    text += "\n";
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      text += fmt::format("{},{}", s, sizes[s]);
      for (std::size_t j = 0; j < d; ++j) (text += ',') += shortest(values[s * d + j]);
      for (std::size_t j = 0; j < d; ++j) (text += ',') += shortest(scaled[s * d + j]);
      text += "\n";
    }
  } else {
    const h5::Group fp = root.open_group("fpgrowth");
    const std::string where = segment >= 0 ? fmt::format("segment_{}/rules", segment) : "rules";
    const h5::Group group = fp.open_group(where);
    const h5::Group items = fp.open_group("items");
    const auto codes = h5::read_strings(items, "code");
    const auto descriptions = h5::read_strings(items, "description");
    const auto antecedent_offsets = h5::read_all<std::uint64_t>(group, "antecedent_offsets");
    const auto antecedent = h5::read_all<std::uint32_t>(group, "antecedent");
    const auto consequent_offsets = h5::read_all<std::uint64_t>(group, "consequent_offsets");
    const auto consequent = h5::read_all<std::uint32_t>(group, "consequent");
    const auto support = h5::read_all<double>(group, "support");
    const auto confidence = h5::read_all<double>(group, "confidence");
    const auto lift = h5::read_all<double>(group, "lift");
    const auto leverage = h5::read_all<double>(group, "leverage");
    const auto conviction = h5::read_all<double>(group, "conviction");
    const auto count = h5::read_all<std::uint64_t>(group, "itemset_count");
    std::vector<std::size_t> order(support.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lift[a] > lift[b]; });
    text = "antecedent,consequent,antecedent_description,consequent_description,baskets,support,confidence,lift,leverage,conviction\n";
    for (std::size_t r : order) {
      text += fmt::format("{},{},{},{},{},{},{},{},{},{}\n",
                          csv_field(joined_items(antecedent, antecedent_offsets[r], antecedent_offsets[r + 1], codes, " ")),
                          csv_field(joined_items(consequent, consequent_offsets[r], consequent_offsets[r + 1], codes, " ")),
                          csv_field(joined_items(antecedent, antecedent_offsets[r], antecedent_offsets[r + 1], descriptions, " | ")),
                          csv_field(joined_items(consequent, consequent_offsets[r], consequent_offsets[r + 1], descriptions, " | ")),
                          count[r], shortest(support[r]), shortest(confidence[r]), shortest(lift[r]), shortest(leverage[r]),
                          shortest(conviction[r]));
    }
  }
  file.close();
  if (comm.rank() == 0) emit(out, text);
}

}  // namespace mpiseg::model
