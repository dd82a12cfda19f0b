#include "mpiseg/pipeline/input.hpp"

#include <array>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "mpiseg/ingest/store.hpp"

namespace mpiseg::pipeline {

InputSource input_source(const JobConfig& job) {
  return job.get_choice("input", "format",
                        std::array<Choice<InputSource>, 5>{{{"csv", InputSource::transactions},
                                                            {"baskets", InputSource::transactions},
                                                            {"store", InputSource::transactions},
                                                            {"matrix", InputSource::matrix},
                                                            {"features", InputSource::features}}});
}

std::filesystem::path rejects_path(const JobConfig& job, const std::filesystem::path& beside) {
  const std::string configured = job.get_string("ingest", "rejects_file");
  if (!configured.empty()) return configured;
  if (beside.empty()) return "rejects.csv";
  std::filesystem::path path = beside;
  path += ".rejects.csv";
  return path;
}

std::string input_file(const std::string& path) {
  const auto suffix = path.rfind(".h5:");
  return suffix == std::string::npos ? path : path.substr(0, suffix + 3);
}

std::vector<NamedPath> job_inputs(const JobConfig& job) {
  std::vector<NamedPath> inputs;
  const std::string pattern = job.has("input", "path") ? job.get_string("input", "path") : "";
  if (!pattern.empty()) {
    std::vector<std::filesystem::path> paths;
    try {
      paths = ingest::expand_input_pattern(input_file(pattern));
    } catch (const Error&) {
      // Nothing matches yet: reading the input will say so; nothing can be overwritten.
    }
    for (auto& path : paths) inputs.push_back({"[input] path", std::move(path)});
  }
  const std::string previous = job.get_string("run", "previous_model");
  if (!previous.empty()) inputs.push_back({"[run] previous_model", previous});
  if (job.origin() != "--set") inputs.push_back({"the job file", job.origin()});
  return inputs;
}

std::vector<NamedPath> transaction_outputs(const JobConfig& job, const std::filesystem::path& output_beside) {
  const std::string format = job.get_string("input", "format");
  if (format != "csv" && format != "baskets") return {};
  const std::string store = job.get_string("ingest", "store");
  std::vector<NamedPath> outputs = {{"[ingest] rejects_file", rejects_path(job, store.empty() ? output_beside : std::filesystem::path(store))}};
  if (!store.empty()) outputs.push_back({"[ingest] store", store});
  return outputs;
}

void check_output_paths(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  auto resolved = [](const std::filesystem::path& path) {
    std::error_code error;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(path, error);
    return error ? std::filesystem::absolute(path) : canonical;
  };
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& output = outputs[i];
    std::error_code error;
    const auto status = std::filesystem::status(output.path, error);
    if (!error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
      throw ConfigError(fmt::format("{} = '{}' exists and is not a regular file (a directory, device or pipe); refusing to replace it",
                                    output.role, output.path.string()));
    const std::filesystem::path target = resolved(output.path);
    for (const NamedPath& input : inputs)
      if (resolved(input.path) == target)
        throw ConfigError(fmt::format("{} = '{}' is also {} ('{}'): writing it would destroy the input", output.role, output.path.string(),
                                      input.role, input.path.string()));
    for (std::size_t j = 0; j < i; ++j)
      if (resolved(outputs[j].path) == target)
        throw ConfigError(fmt::format("{} and {} are the same file ('{}'); give each output its own path", outputs[j].role, output.role,
                                      output.path.string()));
  }
}

ingest::IngestResult load_transactions(const JobConfig& job, const std::filesystem::path& output_beside,
                                       comm::Communicator& comm) {
  if (input_source(job) != InputSource::transactions)
    throw ConfigError(fmt::format("{}: this command reads transactions (csv, baskets or store)", job.describe("input", "format")));
  const auto settings = ingest::InputSettings::from_job(job);
  if (settings.format == ingest::InputFormat::store) {
    if (settings.paths.size() != 1)
      throw ConfigError(fmt::format("{}: a store input must be one file, '{}' matches {}", job.describe("input", "path"),
                                    settings.path_pattern, settings.paths.size()));
    return ingest::read_store(settings.paths.front(), comm);
  }
  const auto policy = ingest::IngestPolicy::from_job(job);
  const std::filesystem::path beside = policy.store.empty() ? output_beside : policy.store;
  ingest::IngestResult result = ingest::read_input(settings, policy, rejects_path(job, beside), comm);
  if (!policy.store.empty()) ingest::write_store(policy.store, result, job.effective_toml(), comm);
  return result;
}

}  // namespace mpiseg::pipeline
