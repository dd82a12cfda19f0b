#pragma once
/// CSV views of a model for spreadsheets and other tools.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/ingest/line_items.hpp"

namespace mpiseg::model {

/// A per-customer column appended to the assignments CSV (e.g. a propensity score).
struct ScoreColumn {
  std::string name;
  std::vector<double> values;  // this rank's points
  std::vector<std::string> text;  // when not empty: written instead of values (e.g. item codes)
};

/// Collective. customer,segment,distance[,extra columns] for this rank's points (rank order = key
/// order), written in parallel; hashed customer keys are shown as their original text when
/// `names` knows it (formula-like text neutralised unless `raw`, see core/csv.hpp).
void write_assignments_csv(const std::filesystem::path& path, std::span<const std::uint64_t> keys,
                           std::span<const std::int32_t> labels, std::span<const double> squared_distances,
                           const ingest::CustomerNames& names, comm::Communicator& comm, bool raw = false,
                           std::span<const ScoreColumn> extra = {});

enum class ExportWhat { assignments, rules, centroids, propensity, recommendations };

/// Collective. Writes `what` of the model as CSV to `out` ("-" or empty: standard output, rank
/// 0). Propensity: customer, segment, target, score, model (one row per customer and target,
/// customers in key order). Rules come sorted by lift (descending, ties in model order), with item codes and
/// descriptions; `segment` >= 0 exports that segment's rules. Text cells that a spreadsheet would
/// run as formulas are neutralised unless `raw` (core/csv.hpp). A file is written whole or not
/// at all; the model is validated as it is read (model_reader.hpp).
void export_csv(const std::filesystem::path& model, ExportWhat what, const std::string& out, int segment, bool raw,
                comm::Communicator& comm);

}  // namespace mpiseg::model
