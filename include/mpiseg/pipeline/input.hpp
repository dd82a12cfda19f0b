#pragma once
/// What [input] holds, and loading transactions for any stage: from text ([input] format = "csv"
/// or "baskets", through the ingest stage) or from an ingest store (format = "store"), with the
/// same result layout. Points for K-means (format = "matrix" or "features") are in points.hpp.
#include <filesystem>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/ingest.hpp"

namespace mpiseg::pipeline {

/// Which module reads [input]: ingest (transactions: format = "csv", "baskets" or "store") or
/// load_points (a "matrix" of points, or a model's "features").
enum class InputSource { transactions, matrix, features };
InputSource input_source(const JobConfig& job);

/// The file an [input] path names: the path without the dataset of a matrix (FILE.h5:/dataset).
std::string input_file(const std::string& path);

/// Collective. Reads the job's [input]; when [ingest] store is set and the input is text, also
/// writes the store. Sample rejects go to [ingest] rejects_file, else beside `output_beside`.
ingest::IngestResult load_transactions(const JobConfig& job, const std::filesystem::path& output_beside,
                                       comm::Communicator& comm);

/// Where sample rejected lines go: [ingest] rejects_file, else "<beside>.rejects.csv".
std::filesystem::path rejects_path(const JobConfig& job, const std::filesystem::path& beside);

/// A file a command reads or writes, with the setting or option it comes from (for messages).
struct NamedPath {
  std::string role;  // "[output] model", "--out", ...
  std::filesystem::path path;
};

/// What the job reads: the [input] path matches (text, store, features or matrix), [run]
/// previous_model and the job file itself.
std::vector<NamedPath> job_inputs(const JobConfig& job);

/// What load_transactions writes besides the model: the rejects file and, for a text input with
/// [ingest] store set, the store.
std::vector<NamedPath> transaction_outputs(const JobConfig& job, const std::filesystem::path& output_beside);

/// Refuses, before any work is done, outputs that would destroy an input or one another: an
/// output that resolves (symbolic links and relative paths followed) to an input or to another
/// output, or that exists and is not a regular file (a directory, a device such as /dev/full, a
/// FIFO). ConfigError naming both settings.
void check_output_paths(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

}  // namespace mpiseg::pipeline
