// The model-file readers behind inspect, export and compare, on models whose groups the fuzzer
// shapes: centroid tables of any width and height with any values (NaN, infinities, 1e300),
// sizes and labels of any length and range, rule tables with arbitrary offsets, item ids, metric
// columns and dictionaries. The datasets are written with mpiseg's own HDF5 layer, so what is
// exercised is mpiseg's validation, not HDF5's file-format parser. Every outcome must be a
// result or an mpiseg error, never a crash, a hang or a read out of bounds.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/model/compare.hpp"
#include "mpiseg/model/export.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/summary.hpp"

using namespace mpiseg;

namespace {

std::vector<double> numbers(fuzz::Bytes& bytes, std::size_t count) {
  std::vector<double> values(count);
  for (double& value : values) value = bytes.number();
  return values;
}

template <class T>
std::vector<T> integers(fuzz::Bytes& bytes, std::size_t count, std::uint32_t bound, std::int64_t shift = 0) {
  std::vector<T> values(count);
  for (T& value : values) value = static_cast<T>(static_cast<std::int64_t>(bytes.below(bound)) + shift);
  return values;
}

void write_model(const std::filesystem::path& path, fuzz::Bytes& bytes, comm::Communicator& comm) {
  h5::File file = model::create_model_file(path, comm);
  h5::Group root = file.root();
  const std::size_t k = bytes.below(5), d = bytes.below(4), names = bytes.byte() % 2 ? d : bytes.below(4);
  h5::Group kmeans = root.create_group("kmeans");
  for (const char* key : {"k", "iterations"}) kmeans.write_attribute(key, static_cast<std::int64_t>(k));
  kmeans.write_attribute("converged_reason", "max_iter");
  kmeans.write_attribute("selection", "silhouette");
  kmeans.write_attribute("inertia", bytes.number());
  std::vector<std::string> feature_names;
  for (std::size_t j = 0; j < names; ++j) feature_names.push_back("f" + std::to_string(j));
  h5::write_strings(kmeans, "feature_names", feature_names);
  const std::size_t width = bytes.byte() % 4 ? d : d + 1;
  h5::write_replicated(kmeans, "centroids_scaled", numbers(bytes, k * width), width);
  if (bytes.byte() % 2) h5::write_replicated(kmeans, "centroids", numbers(bytes, k * width), width);
  h5::write_replicated(kmeans, "sizes", integers<std::uint64_t>(bytes, bytes.byte() % 3 ? k : bytes.below(6), 100));
  h5::Group sweep = kmeans.create_group("sweep");
  h5::write_replicated(sweep, "k", std::vector<std::int64_t>{static_cast<std::int64_t>(k)});
  h5::write_replicated(sweep, "silhouette", numbers(bytes, 1));
  if (bytes.byte() % 2) {
    h5::Group profile = kmeans.create_group("profile");
    h5::write_replicated(profile, "revenue_share", numbers(bytes, bytes.byte() % 3 ? k : bytes.below(6)));
    h5::write_replicated(profile, "median", numbers(bytes, bytes.byte() % 3 ? k * d : bytes.below(12)));
  }
  h5::Group assignments = root.create_group("assignments");
  const std::size_t n = bytes.below(8);
  h5::write_replicated(assignments, "customer", integers<std::uint64_t>(bytes, n, 50));
  h5::write_replicated(assignments, "segment", integers<std::int32_t>(bytes, bytes.byte() % 3 ? n : bytes.below(8), 8, -2));
  h5::write_replicated(assignments, "distance", numbers(bytes, bytes.byte() % 3 ? n : bytes.below(8)));

  h5::Group fp = root.create_group("fpgrowth");
  fp.write_attribute("baskets", static_cast<std::int64_t>(10));
  fp.write_attribute("itemset_count", static_cast<std::int64_t>(3));
  fp.write_attribute("segments", static_cast<std::int64_t>(bytes.below(3)));
  const std::size_t items = bytes.below(5), rules = bytes.below(5);
  h5::Group dictionary = fp.create_group("items");
  std::vector<std::string> codes;
  for (std::size_t i = 0; i < items; ++i) codes.push_back(bytes.byte() % 4 ? "I" + std::to_string(i) : "=cmd" + std::to_string(i));
  h5::write_strings(dictionary, "code", codes);
  h5::write_strings(dictionary, "description", std::vector<std::string>(bytes.byte() % 4 ? items : bytes.below(5), "d"));
  h5::Group table = fp.create_group("rules");
  table.write_attribute("rule_count", static_cast<std::int64_t>(rules));
  for (const char* side : {"antecedent", "consequent"}) {
    const std::size_t length = bytes.below(8);
    h5::write_replicated(table, std::string(side) + "_offsets", integers<std::uint64_t>(bytes, bytes.byte() % 4 ? rules + 1 : bytes.below(6), 9));
    h5::write_replicated(table, side, integers<std::uint32_t>(bytes, length, items + 2));
  }
  for (const char* metric : {"support", "confidence", "lift", "leverage", "conviction"})
    h5::write_replicated(table, metric, numbers(bytes, bytes.byte() % 4 ? rules : bytes.below(6)));
  h5::write_replicated(table, "itemset_count", integers<std::uint64_t>(bytes, bytes.byte() % 4 ? rules : bytes.below(6), 9));
  file.commit();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (log::configure(log::Level::error, 0), true);
  (void)quiet;
  static const std::filesystem::path path = fuzz::scratch_file(".h5"), csv = fuzz::scratch_file(".export.csv");
  static auto comm = comm::make_serial_communicator();
  fuzz::Bytes bytes(data, size);
  write_model(path, bytes, *comm);
  auto attempt = [](auto&& step) {
    try {
      step();
    } catch (const Error&) {
    }
  };
  attempt([&] { (void)model::summarize_model(path, *comm, 5); });
  attempt([&] { (void)model::model_json(path, *comm, 5); });
  attempt([&] { (void)model::compare_models(path, path, *comm); });
  for (auto what : {model::ExportWhat::assignments, model::ExportWhat::centroids, model::ExportWhat::rules})
    attempt([&] { model::export_csv(path, what, csv.string(), -1, false, *comm); });
  return 0;
}
