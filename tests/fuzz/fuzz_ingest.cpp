// The whole ingest of one file on one rank: CSV line items (8 columns by index, no header) or a
// basket file (integer or named items), any quoting rule and a tiny chunk size. Bad input must
// end in counted rejects or an mpiseg error, never a crash; the accounting must balance (ingest
// itself throws std::logic_error otherwise, which is a finding here).
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/ingest/settings.hpp"

using namespace mpiseg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (log::configure(log::Level::error, 0), true);
  (void)quiet;
  static const std::filesystem::path input = fuzz::scratch_file(".input"), rejects = fuzz::scratch_file(".rejects.csv");
  static auto comm = comm::make_serial_communicator();
  fuzz::Bytes bytes(data, size);
  const std::uint8_t mode = bytes.byte();
  const std::string_view content = bytes.rest();
  fuzz::write_file(input, reinterpret_cast<const std::uint8_t*>(content.data()), content.size());

  std::vector<KeySpec> schema;
  for (auto keys : {ingest::input_keys(), ingest::ingest_keys()}) schema.insert(schema.end(), keys.begin(), keys.end());
  std::vector<std::string> sets = {"input.path=" + input.string(), "ingest.chunk_bytes=" + std::to_string(1 + (mode >> 4)),
                                   "ingest.max_record_bytes=" + std::to_string(64 + 16 * (mode & 3)), "ingest.max_reject_fraction=1",
                                   "ingest.rejects_per_reason=3", "ingest.max_field_bytes=40"};
  if (mode & 4) {
    sets.push_back("input.format=baskets");
    if (mode & 8) sets.push_back("input.basket_items=name");
  } else {
    for (const char* column : {"input.basket=0", "input.item=1", "input.description=2", "input.quantity=3", "input.timestamp=4",
                               "input.price=5", "input.customer=6", "input.country=7", "input.header=false", "input.field_count=8"})
      sets.emplace_back(column);
    if (mode & 8) sets.push_back("input.quoted_newlines=true");
  }
  try {
    const JobConfig job = JobConfig::parse("", "", sets, schema);
    const auto result = ingest::read_input(ingest::InputSettings::from_job(job), ingest::IngestPolicy::from_job(job), rejects, *comm);
    if (!result.accounting.balanced()) std::abort();
  } catch (const Error&) {
    // a clear error is a valid outcome
  }
  return 0;
}
