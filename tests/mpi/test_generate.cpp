// The generator's output must be byte-identical at every rank count: each test instance writes
// the file with all ranks, then rank 0 writes it again alone (serial communicator) and compares.
#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include "mpiseg/core/config.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/generate/generator.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

namespace {
generate::GeneratorSettings settings_for(const std::filesystem::path& dir, double malformed_rate) {
  const std::vector<std::string> sets = {
      "generate.customers=1000", "generate.items=300", "generate.line_items=40000", "generate.segments=5",
      fmt::format("generate.malformed_rate={}", malformed_rate), fmt::format("generate.output={}", (dir / "items.csv").string()),
      fmt::format("generate.truth={}", (dir / "truth.h5").string())};
  return generate::GeneratorSettings::from_job(JobConfig::parse("", "", sets, generate::generate_keys()));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(synthetic_data)

BOOST_AUTO_TEST_CASE(output_is_identical_for_any_rank_count) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const auto settings = settings_for(scratch.path(), 0.01);
  const auto counts = generate::generate_line_items(settings, comm);
  BOOST_TEST(counts.customers == 1000u);
  // Close to the target (within 25%), and the count adds up with the file.
  BOOST_TEST(counts.lines > 30000u);
  BOOST_TEST(counts.lines < 50000u);
  BOOST_TEST(counts.malformed_total() > 0u);

  const std::string parallel_bytes = testing::read_file(settings.output);
  BOOST_TEST(parallel_bytes.size() == counts.bytes);
  BOOST_TEST(static_cast<std::uint64_t>(std::count(parallel_bytes.begin(), parallel_bytes.end(), '\n')) == counts.lines + 1);
  BOOST_TEST(parallel_bytes.substr(0, generate::kHeader.size()) == generate::kHeader);

  if (comm.rank() == 0) {
    auto alone = comm::make_serial_communicator();
    auto serial_settings = settings;
    serial_settings.output = scratch / "serial.csv";
    serial_settings.truth = scratch / "serial_truth.h5";
    const auto serial_counts = generate::generate_line_items(serial_settings, *alone);
    BOOST_TEST(serial_counts.lines == counts.lines);
    BOOST_TEST(serial_counts.malformed == counts.malformed);
    BOOST_TEST((testing::read_file(serial_settings.output) == parallel_bytes));
  }
  comm.barrier();

  auto truth = h5::File::open(settings.truth, comm);
  auto customers = truth.root().open_group("customers");
  const auto ids = h5::read_all<std::int64_t>(customers, "customer");
  const auto segments = h5::read_all<std::int32_t>(customers, "segment");
  BOOST_TEST(ids.size() == 1000u);
  BOOST_TEST(ids.front() == 12346);
  std::vector<int> per_segment(5, 0);
  for (std::int32_t s : segments) per_segment.at(static_cast<std::size_t>(s)) += 1;
  for (int count : per_segment) BOOST_TEST(count > 0);
  const auto malformed = h5::read_all<std::int64_t>(truth.root().open_group("accounting"), "malformed_count");
  std::uint64_t total = 0;
  for (std::int64_t value : malformed) total += static_cast<std::uint64_t>(value);
  BOOST_TEST(total == counts.malformed_total());
  truth.close();
}

BOOST_AUTO_TEST_CASE(different_seeds_give_different_data) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  auto settings = settings_for(scratch.path(), 0.0);
  settings.truth.clear();
  generate::generate_line_items(settings, comm);
  const std::string first = testing::read_file(settings.output);
  settings.catalogue.seed = 43;
  generate::generate_line_items(settings, comm);
  BOOST_TEST((testing::read_file(settings.output) != first));
}

BOOST_AUTO_TEST_CASE(invalid_settings_are_rejected) {
  const auto parse = [](std::vector<std::string> sets) {
    return generate::GeneratorSettings::from_job(JobConfig::parse("", "", sets, generate::generate_keys()));
  };
  BOOST_CHECK_THROW(parse({"generate.customers=0"}), ConfigError);
  BOOST_CHECK_THROW(parse({"generate.return_rate=1.5"}), ConfigError);
  BOOST_CHECK_THROW(parse({"generate.start_date=2010-13-01"}), ConfigError);
  BOOST_CHECK_THROW(parse({"generate.segments=65"}), ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()
