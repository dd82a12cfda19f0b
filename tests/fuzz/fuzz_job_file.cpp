// The TOML job-file loader and every section's settings on arbitrary text: a ConfigError (or
// another mpiseg error) or valid settings, never a crash or a non-mpiseg exception.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/features/settings.hpp"
#include "mpiseg/fpgrowth/settings.hpp"
#include "mpiseg/generate/generator.hpp"
#include "mpiseg/ingest/settings.hpp"
#include "mpiseg/kmeans/settings.hpp"
#include "mpiseg/model/model_file.hpp"

using namespace mpiseg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path input = [] {
    const auto path = fuzz::scratch_file(".csv");
    fuzz::write_file(path, reinterpret_cast<const std::uint8_t*>("a\n"), 2);
    return path;
  }();
  std::vector<KeySpec> schema;
  for (auto keys : {generate::generate_keys(), ingest::input_keys(), ingest::ingest_keys(), features::feature_keys(),
                    kmeans::kmeans_keys(), fpgrowth::fpgrowth_keys(), model::output_keys()})
    schema.insert(schema.end(), keys.begin(), keys.end());
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // The input path is pinned to a scratch file: a fuzzed glob must not walk the file system.
    const JobConfig job = JobConfig::parse(text, "fuzz.toml", std::vector<std::string>{"input.path=" + input.string()}, schema);
    (void)job.effective_toml();
    (void)ingest::InputSettings::from_job(job);
    (void)ingest::IngestPolicy::from_job(job);
    (void)features::FeatureSettings::from_job(job);
    (void)kmeans::KMeansSettings::from_job(job);
    const auto fp = fpgrowth::FpSettings::from_job(job);
    (void)fp.for_segments(1000);
    (void)generate::GeneratorSettings::from_job(job);
    (void)model::model_path(job);
  } catch (const Error&) {
  }
  return 0;
}
