#include "mpiseg/model/model_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/version.hpp"
#include "mpiseg/ingest/store.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "keys_toml.hpp"  // module_keys(): src/model/keys.toml

namespace mpiseg::model {
std::span<const KeySpec> output_keys() { return module_keys().section("output"); }

std::filesystem::path model_path(const JobConfig& job) {
  const std::string path = job.get_string("output", "model");
  if (path.empty()) throw ConfigError(fmt::format("{} must name the model file", job.describe("output", "model")));
  return path;
}

std::string utc_now(comm::Communicator& comm) {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return comm::broadcast_string(text, 0, comm);
}

h5::File create_model_file(const std::filesystem::path& path, comm::Communicator& comm) {
  h5::File file = h5::File::create(path, comm);
  h5::Group root = file.root();
  root.write_attribute("schema", kModelSchema);
  root.write_attribute("schema_version", kModelSchemaVersion);
  root.write_attribute("description", "mpiseg model: customer features, K-means segments and basket rules (see the README's model schema)");
  return file;
}

h5::File open_model_file(const std::filesystem::path& path, comm::Communicator& comm) {
  h5::File file = h5::File::open(path, comm);
  h5::Group root = file.root();
  if (!root.has_attribute("schema") || root.read_string_attribute("schema") != kModelSchema)
    throw IoError(fmt::format("'{}' is an HDF5 file but not an mpiseg model (no schema = \"{}\" attribute)", path.string(), kModelSchema));
  if (!root.has_attribute("schema_version"))
    throw IoError(fmt::format("'{}': the model has no schema_version attribute", path.string()));
  const std::int64_t version = root.read_int_attribute("schema_version");
  if (version != kModelSchemaVersion)
    throw IoError(fmt::format("'{}' has model schema_version {}; this mpiseg ({}) reads version {}", path.string(), version,
                              version_line(), kModelSchemaVersion));
  return file;
}

void write_item_dictionary(h5::Group& group, const ingest::ItemDictionary& items) {
  h5::Group dictionary = group.create_group("items");
  h5::write_strings(dictionary, "code", items.code);
  h5::write_strings(dictionary, "description", items.description);
  bool categories = false;
  for (const std::string& category : items.category) categories = categories || !category.empty();
  if (categories) h5::write_strings(dictionary, "category", items.category);
  dictionary.write_attribute("meaning", "item id i is code[i]; ids are the codes in byte order (numeric order for integer basket files)");
}

void record_period(RunRecord& record, const ingest::IngestResult& transactions, comm::Communicator& comm) {
  if (transactions.from_basket_file()) return;
  const ingest::LineSpan span = ingest::line_span(transactions.rows, comm);
  if (span.empty()) return;  // no accepted line item anywhere
  record.has_period = true;
  record.first_timestamp = span.first;
  record.last_timestamp = span.last;
}

void write_run(h5::Group& root, const RunRecord& record, comm::Communicator& comm) {
  h5::Group run = root.create_group("run");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  run.write_attribute("command", record.command);
  run.write_attribute("tool_version", version());
  run.write_attribute("git_revision", git_revision());
  run.write_attribute("rank_count", static_cast<std::int64_t>(comm.size()));
  run.write_attribute("host", comm::broadcast_string(host, 0, comm));
  run.write_attribute("started", record.started_utc);
  run.write_attribute("finished", record.finished_utc);
  run.write_attribute("wall_seconds", comm.allreduce(record.wall_seconds, comm::ReduceOp::max));
  run.write_attribute("job_file", record.job_origin);
  run.write_attribute("job_text", record.job_text);
  run.write_attribute("effective_settings", record.effective_settings);
  if (record.has_period) {
    run.write_attribute("data_first_timestamp", format_timestamp(record.first_timestamp));
    run.write_attribute("data_last_timestamp", format_timestamp(record.last_timestamp));
  }
  if (!record.inputs.empty()) ingest::write_input_files(run, record.inputs);
  if (!record.stages.empty()) {
    h5::Group stages = run.create_group("stages");
    h5::write_columns(stages, record.stages, h5::Column{"name", &StageCost::name}, h5::Column{"seconds", &StageCost::seconds},
                      h5::Column{"collective_max_seconds", &StageCost::collective_max_seconds},
                      h5::Column{"collective_mean_seconds", &StageCost::collective_mean_seconds},
                      h5::Column{"bytes_sent", &StageCost::bytes_sent},
                      h5::Column{"peak_memory_bytes", &StageCost::peak_memory_bytes});
    stages.write_attribute("meaning",
                           "per stage, in the order run: wall time of the slowest rank, time inside collectives (slowest rank "
                           "and mean over ranks, waiting included), bytes sent between ranks (all ranks), peak resident memory "
                           "of the largest rank; measured, so they differ from run to run (write: the result groups and the "
                           "assignments CSV, not /run and the final flush and rename)");
    std::vector<std::string> figure_stage, figure_name, figure_unit;
    std::vector<double> figure_value;
    for (const StageCost& stage : record.stages) {
      for (const StageFigure& figure : stage.figures) {
        figure_stage.push_back(stage.name);
        figure_name.push_back(figure.name);
        figure_unit.push_back(figure.unit);
        figure_value.push_back(figure.value);
      }
    }
    if (!figure_name.empty()) {
      h5::Group figures = stages.create_group("figures");
      h5::write_strings(figures, "stage", figure_stage);
      h5::write_strings(figures, "name", figure_name);
      h5::write_replicated(figures, "value", figure_value);
      h5::write_strings(figures, "unit", figure_unit);
      figures.write_attribute("meaning", "what each stage measured about its own work, one row per figure (stage, name, value, unit); "
                                         "measured, so they differ from run to run");
    }
  }
  if (record.has_accounting) ingest::write_accounting(run, record.accounting);
}

}  // namespace mpiseg::model
