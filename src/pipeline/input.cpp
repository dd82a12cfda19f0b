#include "mpiseg/pipeline/input.hpp"

#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "mpiseg/ingest/store.hpp"

namespace mpiseg::pipeline {

std::filesystem::path rejects_path(const JobConfig& job, const std::filesystem::path& beside) {
  const std::string configured = job.get_string("ingest", "rejects_file");
  if (!configured.empty()) return configured;
  if (beside.empty()) return "rejects.csv";
  std::filesystem::path path = beside;
  path += ".rejects.csv";
  return path;
}

ingest::IngestResult load_transactions(const JobConfig& job, const std::filesystem::path& output_beside,
                                       comm::Communicator& comm) {
  const auto settings = ingest::InputSettings::from_job(job);
  if (settings.format == ingest::InputFormat::store) {
    if (settings.paths.size() != 1)
      throw ConfigError(fmt::format("{}: a store input must be one file, '{}' matches {}", job.describe("input", "path"),
                                    settings.path_pattern, settings.paths.size()));
    return ingest::read_store(settings.paths.front(), comm);
  }
  if (settings.format != ingest::InputFormat::csv && settings.format != ingest::InputFormat::baskets)
    throw ConfigError(fmt::format("{}: this command reads transactions (csv, baskets or store)", job.describe("input", "format")));
  const auto policy = ingest::IngestPolicy::from_job(job);
  const std::filesystem::path beside = policy.store.empty() ? output_beside : policy.store;
  ingest::IngestResult result = ingest::read_input(settings, policy, rejects_path(job, beside), comm);
  if (!policy.store.empty()) ingest::write_store(policy.store, result, job.effective_toml(), comm);
  return result;
}

}  // namespace mpiseg::pipeline
