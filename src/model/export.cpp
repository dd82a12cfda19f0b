#include "mpiseg/model/export.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <numeric>

#include "mpiseg/core/csv.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/posix_file.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/model/recommend_group.hpp"

namespace mpiseg::model {
namespace {

std::string shortest(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// Writes text to `out` (a file, or standard output for "-" / empty); a file only whole (see
/// write_file_atomically), standard output with its errors checked (a closed pipe, a full disk).
void emit(const std::string& out, const std::string& text) {
  if (out.empty() || out == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      throw IoError("cannot write the export to standard output");
    return;
  }
  write_file_atomically(out, text);
}

std::string joined_items(std::span<const std::uint32_t> itemset, const std::vector<std::string>& names, const char* separator) {
  std::string text;
  for (std::size_t i = 0; i < itemset.size(); ++i) {
    if (i != 0) text += separator;
    text += names.at(itemset[i]);
  }
  return text;
}

}  // namespace

void write_assignments_csv(const std::filesystem::path& path, std::span<const std::uint64_t> keys,
                           std::span<const std::int32_t> labels, std::span<const double> squared_distances,
                           const ingest::CustomerNames& names, comm::Communicator& comm, bool raw,
                           std::span<const ScoreColumn> extra) {
  std::string text;
  if (comm.rank() == 0) {
    text = "customer,segment,distance";
    for (const ScoreColumn& column : extra) (text += ',') += csv_cell(column.name, raw);
    text += '\n';
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string customer = std::to_string(keys[i]);
    if (keys[i] & ingest::kHashedKeyBit) {
      const auto found = std::lower_bound(names.key.begin(), names.key.end(), keys[i]);
      if (found != names.key.end() && *found == keys[i]) customer = csv_cell(names.name[static_cast<std::size_t>(found - names.key.begin())], raw);
    }
    text += fmt::format("{},{},{}", customer, labels[i], shortest(std::sqrt(squared_distances[i])));
    for (const ScoreColumn& column : extra) (text += ',') += column.text.empty() ? shortest(column.values[i]) : csv_cell(column.text[i], raw);
    text += '\n';
  }
  if (comm.rank() == 0 && !path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  comm.barrier();
  auto file = comm.create_shared_file(path);
  const std::uint64_t offset = comm.exclusive_prefix_sum<std::uint64_t>(text.size());
  file->write_at_all(offset, std::as_bytes(std::span(text.data(), text.size())));
  file->commit();
}

void export_csv(const std::filesystem::path& model, ExportWhat what, const std::string& out, int segment, bool raw, comm::Communicator& comm) {
  h5::File file = open_model_file(model, comm);
  const h5::Group root = file.root();
  std::string text;
  if (what == ExportWhat::assignments) {
    const std::size_t k = root.exists("kmeans") ? read_kmeans_group(root).k : 0;
    const AssignmentsGroup assignments = read_assignments_group(root, k);
    const auto& customer = assignments.customer;
    const auto& label = assignments.segment;
    const auto& distance = assignments.distance;
    if (distance.size() != customer.size()) throw IoError(fmt::format("{}: /assignments has no distance dataset", model.string()));
    text = "customer,segment,distance\n";
    for (std::size_t i = 0; i < customer.size(); ++i) text += fmt::format("{},{},{}\n", customer[i], label[i], shortest(distance[i]));
  } else if (what == ExportWhat::centroids) {
    const KMeansGroup kmeans = read_kmeans_group(root);
    const auto& names = kmeans.feature_names;
    const auto& scaled = kmeans.centroids_scaled;
    const bool original = !kmeans.centroids.empty();
    const auto& values = original ? kmeans.centroids : scaled;
    const auto& sizes = kmeans.sizes;
    const std::size_t d = names.size();
    text = "segment,customers";
    // Appended piece by piece: GCC 12 reports a false -Wrestrict on "," + std::string.
    for (const auto& name : names) {
      text += ',';
      text += csv_cell(original ? name : name + "_scaled", raw);
    }
    for (const auto& name : names) {
      text += ',';
      text += csv_cell(name + "_scaled", raw);
    }
    text += "\n";
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      text += fmt::format("{},{}", s, sizes[s]);
      for (std::size_t j = 0; j < d; ++j) (text += ',') += shortest(values[s * d + j]);
      for (std::size_t j = 0; j < d; ++j) (text += ',') += shortest(scaled[s * d + j]);
      text += "\n";
    }
  } else if (what == ExportWhat::propensity) {
    const h5::Group group = root.open_group("propensity");
    const auto customer = h5::read_all<std::uint64_t>(root.open_group("features"), "customer");
    std::vector<std::int32_t> segment_of(customer.size(), -1);
    if (root.exists("assignments")) {
      const std::size_t k = root.exists("kmeans") ? read_kmeans_group(root).k : 0;
      const AssignmentsGroup assignments = read_assignments_group(root, k);
      if (assignments.customer != customer)
        throw IoError(fmt::format("{}: /assignments and /features list other customers", model.string()));
      segment_of = assignments.segment;
    }
    text = "customer,segment,target,score,model\n";
    for (const std::string& name : h5::read_strings(group, "targets")) {
      if (name.empty() || name.find('/') != std::string::npos || !group.exists(name))
        throw IoError(fmt::format("{}: target '{}' has no group", group.describe("targets"), name));
      const h5::Group target = group.open_group(name);
      const auto scores = h5::read_all<double>(target, "scores");
      const auto by = h5::read_all<std::int32_t>(target, "scored_by");
      if (scores.size() != customer.size() || by.size() != customer.size())
        throw IoError(fmt::format("{}: {} scores and {} model ids for {} customers", target.describe("scores"), scores.size(), by.size(),
                                  customer.size()));
      const std::string cell = csv_cell(target.read_string_attribute("target"), raw);
      for (std::size_t i = 0; i < customer.size(); ++i)
        text += fmt::format("{},{},{},{},{}\n", customer[i], segment_of[i], cell, shortest(scores[i]),
                            by[i] == -1 ? "global" : by[i] >= 0 ? fmt::format("segment_{}", by[i]) : std::string("none"));
    }
  } else if (what == ExportWhat::recommendations) {
    const StoredRecommendations stored = read_recommend(root);
    text = "customer,segment,method,rank,item,description,score\n";
    for (const StoredMethod& method : stored.methods)
      for (std::size_t c = 0; c < stored.customer.size(); ++c)
        for (std::uint64_t e = method.offsets[c]; e < method.offsets[c + 1]; ++e)
          text += fmt::format("{},{},{},{},{},{},{}\n", stored.customer[c], stored.segment[c], method.name, e - method.offsets[c] + 1,
                              csv_cell(stored.items.code[method.item[e]], raw), csv_cell(stored.items.description[method.item[e]], raw),
                              shortest(method.score[e]));
  } else {
    const h5::Group fp = root.open_group("fpgrowth");
    const std::string where = segment >= 0 ? fmt::format("segment_{}/rules", segment) : "rules";
    const h5::Group group = fp.open_group(where);
    const ItemNames items = read_item_names(fp);
    const RuleColumns rules = read_rule_columns(group, items.code.size());
    text = "antecedent,consequent,antecedent_description,consequent_description,baskets,support,confidence,lift,leverage,conviction\n";
    for (const std::size_t r : rules.by_lift()) {
      text += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", csv_cell(joined_items(rules.antecedent_of(r), items.code, " "), raw),
                          csv_cell(joined_items(rules.consequent_of(r), items.code, " "), raw),
                          csv_cell(joined_items(rules.antecedent_of(r), items.description, " | "), raw),
                          csv_cell(joined_items(rules.consequent_of(r), items.description, " | "), raw), rules.itemset_count[r],
                          shortest(rules.support[r]), shortest(rules.confidence[r]), shortest(rules.lift[r]),
                          shortest(rules.leverage[r]), shortest(rules.conviction[r]));
    }
  }
  file.close();
  if (comm.rank() == 0) emit(out, text);
}

}  // namespace mpiseg::model
