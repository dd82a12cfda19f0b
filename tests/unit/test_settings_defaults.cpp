// Every settings struct's defaults are the job-file keys' defaults: a job that sets nothing reads
// back exactly the default-constructed struct, so code that builds settings in C++ (tests, tools)
// and a job file that leaves a key out mean the same thing.
#include <boost/test/unit_test.hpp>
#include <vector>

#include "mpiseg/core/config.hpp"
#include "mpiseg/features/settings.hpp"
#include "mpiseg/fpgrowth/settings.hpp"
#include "mpiseg/generate/generator.hpp"
#include "mpiseg/ingest/settings.hpp"
#include "mpiseg/kmeans/settings.hpp"
#include "mpiseg/propensity/settings.hpp"
#include "mpiseg/recommend/settings.hpp"

using namespace mpiseg;

namespace {
JobConfig empty_job() {
  static std::vector<KeySpec> schema = [] {
    std::vector<KeySpec> keys;
    for (auto section : {generate::generate_keys(), ingest::input_keys(), ingest::ingest_keys(), features::feature_keys(),
                         kmeans::kmeans_keys(), fpgrowth::fpgrowth_keys(), propensity::propensity_keys(),
                         recommend::recommend_keys()})
      keys.insert(keys.end(), section.begin(), section.end());
    return keys;
  }();
  return JobConfig::parse("", "defaults", {}, schema);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(settings_defaults)

BOOST_AUTO_TEST_CASE(kmeans_section) { BOOST_TEST((kmeans::KMeansSettings::from_job(empty_job()) == kmeans::KMeansSettings{})); }
BOOST_AUTO_TEST_CASE(fpgrowth_section) { BOOST_TEST((fpgrowth::FpSettings::from_job(empty_job()) == fpgrowth::FpSettings{})); }
BOOST_AUTO_TEST_CASE(features_section) { BOOST_TEST((features::FeatureSettings::from_job(empty_job()) == features::FeatureSettings{})); }
BOOST_AUTO_TEST_CASE(ingest_section) { BOOST_TEST((ingest::IngestPolicy::from_job(empty_job()) == ingest::IngestPolicy{})); }
BOOST_AUTO_TEST_CASE(propensity_section) {
  BOOST_TEST((propensity::PropensitySettings::from_job(empty_job()) == propensity::PropensitySettings{}));
}
BOOST_AUTO_TEST_CASE(recommend_section) {
  BOOST_TEST((recommend::RecommendSettings::from_job(empty_job()) == recommend::RecommendSettings{}));
}
BOOST_AUTO_TEST_CASE(generate_section) {
  BOOST_TEST((generate::GeneratorSettings::from_job(empty_job()) == generate::GeneratorSettings{}));
}

BOOST_AUTO_TEST_SUITE_END()
