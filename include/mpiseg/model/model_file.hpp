#pragma once
/// The model file: one self-describing HDF5 file per run ([output] model). Every stage that
/// writes results writes into this layout, so a standalone stage's output is a valid, partial
/// model. Written to MODEL.tmp and renamed when complete: a failed or killed run leaves the
/// previous model untouched.
///
///   /             [schema = "mpiseg-model", schema_version]
///   /run          provenance (see RunRecord)
///   /features     names, scaler, matrix, raw values, RFM scores
///   /kmeans       centroids, sizes, per-iteration inertia, per-k metrics
///   /assignments  customer, segment, distance
///   /fpgrowth     itemsets, rules, item dictionary; /fpgrowth/segment_N
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/io/h5/h5.hpp"

namespace mpiseg::model {

inline constexpr const char* kModelSchema = "mpiseg-model";
inline constexpr std::int64_t kModelSchemaVersion = 1;

/// Provenance of one run, written to /run.
/// A figure a stage measured about its own work (the parse phase, Lloyd iterations, bytes of
/// prefixes sent), global: the same on every rank.
struct StageFigure {
  std::string name;
  double value = 0;
  std::string unit;  // "s", "B", "count", "B/line item", ...
};

/// What one pipeline stage cost, over all ranks (written to /run/stages; scripts/bench reads it).
struct StageCost {
  std::string name;
  double seconds = 0;                  // wall time, slowest rank
  double collective_max_seconds = 0;   // inside collectives (waiting included), slowest rank
  double collective_mean_seconds = 0;  // the same, mean over ranks
  std::uint64_t bytes_sent = 0;        // between ranks, all ranks together
  std::uint64_t peak_memory_bytes = 0; // resident, largest rank, since the process started
  std::vector<StageFigure> figures;    // the stage's own figures, /run/stages/figures
};

struct RunRecord {
  std::string command;             // "run", "features", "kmeans", ...
  std::string job_origin;          // job file path or "--set"
  std::string job_text;            // the job file as read
  std::string effective_settings;  // every key with its effective value (TOML)
  std::string started_utc;
  std::string finished_utc;
  double wall_seconds = 0;
  std::vector<ingest::InputFileInfo> inputs;
  bool has_accounting = false;
  ingest::Accounting accounting;
  /// The period the accepted line items cover (seconds since 1970, UTC); only with line items.
  bool has_period = false;
  std::int64_t first_timestamp = 0, last_timestamp = 0;
  std::vector<StageCost> stages;  // in the order they ran (`run` only)
};

/// Collective: the first and last timestamp of the accepted line items, into the record.
void record_period(RunRecord& record, const ingest::IngestResult& transactions, comm::Communicator& comm);

/// [output] keys.
std::span<const KeySpec> output_keys();

/// The model path from [output] model (ConfigError if empty).
std::filesystem::path model_path(const JobConfig& job);

/// Collective. Creates the model (MODEL.tmp until commit()) with the root schema attributes.
h5::File create_model_file(const std::filesystem::path& path, comm::Communicator& comm);

/// Collective. Opens a model for reading; IoError when it is missing, not HDF5, not an mpiseg
/// model, or of another schema_version.
h5::File open_model_file(const std::filesystem::path& path, comm::Communicator& comm);

/// Collective. Writes /run: the record plus tool version, git revision, rank count and host
/// (rank 0's), identical on every rank.
void write_run(h5::Group& root, const RunRecord& record, comm::Communicator& comm);

/// Collective. The item dictionary (code, description, category when present) as `group/items`.
void write_item_dictionary(h5::Group& group, const ingest::ItemDictionary& items);

/// UTC now as "YYYY-MM-DDTHH:MM:SSZ" (rank 0's clock, broadcast).
std::string utc_now(comm::Communicator& comm);

}  // namespace mpiseg::model
