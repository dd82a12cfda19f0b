// Ingest at 1..4 ranks: every line accounted for, the same rows as a one-rank read, bad bytes
// turned into counted rejects, and the store read back at any rank count.
#include <boost/test/unit_test.hpp>

#include "mpiseg/core/error.hpp"
#include "mpiseg/generate/generator.hpp"
#include "mpiseg/ingest/store.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "support/ingest_helpers.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;
using mpiseg::testing::rejected;
using mpiseg::testing::world;

namespace {
IngestResult ingest_with(const std::vector<std::string>& sets, const std::filesystem::path& rejects, comm::Communicator& comm) {
  const JobConfig job = testing::ingest_job(sets);
  return read_input(InputSettings::from_job(job), IngestPolicy::from_job(job), rejects, comm);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ingest_stage)

BOOST_AUTO_TEST_CASE(generated_lines_are_accounted_against_the_planted_truth) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const std::vector<std::string> generate_sets = {
      "generate.customers=2000", "generate.items=400", "generate.line_items=60000", "generate.malformed_rate=0.003",
      fmt::format("generate.output={}", (scratch / "items.csv").string()), "generate.truth="};
  const auto counts = generate::generate_line_items(
      generate::GeneratorSettings::from_job(JobConfig::parse("", "", generate_sets, generate::generate_keys())), comm);

  // A small, odd chunk size puts chunk boundaries everywhere inside records.
  const std::vector<std::string> sets = {fmt::format("input.path={}", (scratch / "items.csv").string()),
                                         "ingest.chunk_bytes=997"};
  const IngestResult result = ingest_with(sets, scratch / "rejects.csv", comm);
  const Accounting& a = result.accounting;
  BOOST_TEST(a.balanced());
  BOOST_TEST(a.lines_read == counts.lines + 1);
  BOOST_TEST(a.header == 1u);
  for (std::size_t kind = 0; kind < generate::kMalformedKinds.size(); ++kind) {
    std::uint64_t seen = 0;
    for (std::size_t r = 0; r < kReasonCount; ++r)
      if (reason_name(static_cast<RejectReason>(r)) == generate::kMalformedKinds[kind]) seen = a.rejected[r];
    BOOST_TEST(seen == counts.malformed[kind], generate::kMalformedKinds[kind]);
  }
  BOOST_TEST(rejected(a, RejectReason::missing_customer) == counts.missing_customer_lines);
  BOOST_TEST(a.cancellation_lines == counts.cancellation_lines);
  BOOST_TEST(a.accepted == counts.lines - counts.malformed_total() - counts.missing_customer_lines);
  BOOST_TEST(a.malformed_total() == counts.malformed_total());
  BOOST_TEST(std::filesystem::exists(scratch / "rejects.csv"));

  // Rank-count independence: the canonical table equals the one a single process reads.
  const LineItems all = testing::gather_rows(result.rows, comm);
  BOOST_TEST(all.size() == a.accepted);
  BOOST_TEST(std::is_sorted(all.customer.begin(), all.customer.end()));
  if (comm.rank() == 0) {
    auto alone = comm::make_serial_communicator();
    const IngestResult serial = ingest_with({sets[0]}, scratch / "rejects_serial.csv", *alone);
    BOOST_TEST(testing::same_rows(serial.rows, all));
    BOOST_TEST(serial.items.code == result.items.code);
    BOOST_TEST(serial.items.description == result.items.description);
    BOOST_TEST(serial.items.first_seen == result.items.first_seen);
    BOOST_TEST(serial.countries == result.countries);
    BOOST_TEST(serial.accounting.rejected == a.rejected);
    BOOST_TEST(serial.accounting.duplicate_lines == a.duplicate_lines);
  }
  comm.barrier();
}

BOOST_AUTO_TEST_CASE(several_files_small_empty_crlf_bom) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const std::string header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
  testing::write_file(comm, scratch / "a.csv",
                      "\xEF\xBB\xBF" + header + "\r\n1,X1,Thing,2,2011-01-02 10:00:00,1.5,100.0,UK\r\n\r\n"
                      "2,X2,\"Other, thing\",1,2011-01-03 10:00:00,2.0,101.0,UK\r\n");
  testing::write_file(comm, scratch / "b.csv", "");
  testing::write_file(comm, scratch / "c.csv", header + "\n");
  testing::write_file(comm, scratch / "d.csv", header + "\n3,X1,,5,2011-01-04 11:00:00,1.5,100,FR");  // no final newline
  const IngestResult result = ingest_with({fmt::format("input.path={}/*.csv", scratch.path().string())}, scratch / "r.csv", comm);
  const Accounting& a = result.accounting;
  BOOST_TEST(a.balanced());
  BOOST_TEST(a.lines_read == 7u);  // a: header, line, blank, line; b: none; c: header; d: header, line
  BOOST_TEST(a.header == 3u);
  BOOST_TEST(a.blank == 1u);
  BOOST_TEST(a.accepted == 3u);
  BOOST_TEST(a.rejected_total() == 0u);
  BOOST_TEST(result.items.code == (std::vector<std::string>{"X1", "X2"}));
  BOOST_TEST(result.items.description == (std::vector<std::string>{"Thing", "Other, thing"}));
  BOOST_TEST(result.countries == (std::vector<std::string>{"FR", "UK"}));
  const LineItems all = testing::gather_rows(result.rows, comm);
  BOOST_TEST(all.customer == (std::vector<std::uint64_t>{100, 100, 101}));  // "100.0" and "100" are one customer
  BOOST_TEST(result.inputs.size() == 4u);
}

BOOST_AUTO_TEST_CASE(bad_bytes_become_counted_rejects) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  std::string content = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  content += "1,X1,ok,1,2011-01-02 10:00:00,1.5,100,UK\n";
  content += std::string("2,X1,nul") + '\0' + "byte,1,2011-01-02 10:00:00,1.5,100,UK\n";
  content += "3,X1,bad \xff utf8,1,2011-01-02 10:00:00,1.5,100,UK\n";
  content += "4,X1," + std::string(10 << 20, 'L') + ",1,2011-01-02 10:00:00,1.5,100,UK\n";  // a 10 MB line
  content += "5,X1,x,1,2011-01-02 10:00:00,1.5,100,UK\n";
  content += "6,X1,x,1,2011-01-02 10:00:00,1.5,100";  // truncated last line
  testing::write_file(comm, scratch / "bad.csv", content);
  const IngestResult result = ingest_with({fmt::format("input.path={}", (scratch / "bad.csv").string()),
                                           "ingest.max_reject_fraction=1", "ingest.chunk_bytes=4096"},
                                          scratch / "r.csv", comm);
  const Accounting& a = result.accounting;
  BOOST_TEST(a.balanced());
  BOOST_TEST(a.lines_read == 7u);
  BOOST_TEST(a.accepted == 2u);
  BOOST_TEST(rejected(a, RejectReason::nul_byte) == 1u);
  BOOST_TEST(rejected(a, RejectReason::invalid_encoding) == 1u);
  BOOST_TEST(rejected(a, RejectReason::record_too_long) == 1u);
  BOOST_TEST(rejected(a, RejectReason::field_count) == 1u);
  if (comm.rank() == 0) {
    const std::string samples = testing::read_file(scratch / "r.csv");
    BOOST_TEST(samples.find("nul_byte") != std::string::npos);
    BOOST_TEST(samples.find("\\x00") != std::string::npos);  // control bytes escaped
    BOOST_TEST(samples.size() < 20000u);                       // the 10 MB line is cut
  }
}

BOOST_AUTO_TEST_CASE(quoted_newlines_rejected_or_parsed_never_mis_split) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const std::string content =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
      "1,X1,\"two\nlines\",1,2011-01-02 10:00:00,1.5,100,UK\n"
      "2,X2,plain,1,2011-01-02 10:00:00,1.5,100,UK\n"
      "3,X3,\"a \"\"quoted\"\" word\",2,2011-01-02 10:00:00,1.5,101,UK\n";
  testing::write_file(comm, scratch / "q.csv", content);
  const std::string path = fmt::format("input.path={}", (scratch / "q.csv").string());
  // Line mode: both halves of the two-line record are rejected, the rest is read.
  const IngestResult lines = ingest_with({path, "ingest.max_reject_fraction=1"}, scratch / "r.csv", comm);
  BOOST_TEST(lines.accounting.balanced());
  BOOST_TEST(lines.accounting.lines_read == 5u);
  BOOST_TEST(rejected(lines.accounting, RejectReason::quoted_newline) == 2u);
  BOOST_TEST(lines.accounting.accepted == 2u);
  // Quoted-newline mode: three records, the description keeps its line break.
  const IngestResult quoted = ingest_with({path, "input.quoted_newlines=true", "ingest.chunk_bytes=3"}, scratch / "r.csv", comm);
  BOOST_TEST(quoted.accounting.balanced());
  BOOST_TEST(quoted.accounting.lines_read == 4u);
  BOOST_TEST(quoted.accounting.accepted == 3u);
  BOOST_TEST(quoted.items.description.at(0) == "two\nlines");
  BOOST_TEST(quoted.items.description.at(2) == "a \"quoted\" word");
}

BOOST_AUTO_TEST_CASE(too_many_malformed_lines_fail_on_every_rank) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  testing::write_file(comm, scratch / "m.csv",
                      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                      "1,X1,a,1,2011-01-02 10:00:00,1.5,100,UK\n"
                      "2,X1,a,one,2011-01-02 10:00:00,1.5,100,UK\n"
                      "3,X1,a,1,yesterday,1.5,100,UK\n");
  bool failed = false;
  try {
    ingest_with({fmt::format("input.path={}", (scratch / "m.csv").string())}, scratch / "rejects.csv", comm);
  } catch (const InputError& error) {
    failed = std::string(error.what()).find("max_reject_fraction") != std::string::npos;
  }
  BOOST_TEST(failed);
  if (comm.rank() == 0) {
    const std::string samples = testing::read_file(scratch / "rejects.csv");
    BOOST_TEST(samples.find("bad_quantity") != std::string::npos);
    BOOST_TEST(samples.find(",3,") != std::string::npos);  // line number of the bad quantity
    BOOST_TEST(samples.find("bad_timestamp") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(latin1_input_is_converted) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  testing::write_file(comm, scratch / "l.csv",
                      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                      "1,X1,caf\xe9 \xa3" "5,1,2011-01-02 10:00:00,1.5,C-17,UK\n");
  const std::string path = fmt::format("input.path={}", (scratch / "l.csv").string());
  const IngestResult latin = ingest_with({path, "input.encoding=latin-1"}, scratch / "r.csv", comm);
  BOOST_TEST(latin.accounting.accepted == 1u);
  BOOST_TEST(latin.items.description.at(0) == "caf\xc3\xa9 \xc2\xa3" "5");
  // A non-numeric customer id is hashed; its text is kept on the rank that owns the customer.
  const auto names = comm.allgatherv(std::span<const std::uint64_t>(latin.customer_names.key));
  BOOST_TEST(names.size() == 1u);
  BOOST_TEST((names.at(0) & kHashedKeyBit) != 0u);
  const IngestResult strict = ingest_with({path, "ingest.max_reject_fraction=1"}, scratch / "r.csv", comm);
  BOOST_TEST(rejected(strict.accounting, RejectReason::invalid_encoding) == 1u);
}

BOOST_AUTO_TEST_CASE(basket_files_integer_and_name_items) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  testing::write_file(comm, scratch / "fimi.dat", "1 2 3 \n\n10 2 \n7 \n2 1 \n");
  const IngestResult fimi = ingest_with({fmt::format("input.path={}", (scratch / "fimi.dat").string()), "input.format=baskets"},
                                        scratch / "r.csv", comm);
  BOOST_TEST(fimi.accounting.balanced());
  BOOST_TEST(fimi.accounting.accepted == 4u);
  BOOST_TEST(fimi.accounting.blank == 1u);
  BOOST_TEST(fimi.accounting.item_occurrences == 8u);
  BOOST_TEST(fimi.items.code == (std::vector<std::string>{"1", "2", "3", "7", "10"}));  // numeric order
  // Baskets and items only, in file order; no made-up customers, times, quantities or prices.
  const LineItems rows = testing::gather_rows(fimi.rows, comm);
  BOOST_TEST(fimi.from_basket_file());
  BOOST_TEST(rows.size() == 8u);
  BOOST_TEST(rows.customer.empty());
  BOOST_TEST(rows.time.empty());
  BOOST_TEST(rows.quantity.empty());
  BOOST_TEST(rows.price.empty());
  BOOST_TEST(rows.flags.empty());
  BOOST_TEST(rows.item == (std::vector<std::uint32_t>{0, 1, 2, 4, 1, 3, 1, 0}));
  BOOST_TEST(std::is_sorted(rows.basket.begin(), rows.basket.end()));
  BOOST_TEST(fimi.rows.memory_bytes() <= fimi.rows.basket.capacity() * 8 + fimi.rows.item.capacity() * 4);
  // Its store reads back into the same rows at this rank count and on one process.
  write_store(scratch / "fimi.h5", fimi, "# settings", comm);
  const IngestResult stored = read_store(scratch / "fimi.h5", comm);
  BOOST_TEST(stored.from_basket_file());
  BOOST_TEST(testing::same_rows(testing::gather_rows(stored.rows, comm), rows));
  if (comm.rank() == 0) {
    auto alone = comm::make_serial_communicator();
    BOOST_TEST(testing::same_rows(read_store(scratch / "fimi.h5", *alone).rows, rows));
  }
  comm.barrier();
  testing::write_file(comm, scratch / "names.csv", "whole milk,cream cheese \nyogurt\n");
  const IngestResult names = ingest_with({fmt::format("input.path={}", (scratch / "names.csv").string()),
                                          "input.format=baskets", "input.basket_items=name"},
                                         scratch / "r.csv", comm);
  BOOST_TEST(names.items.code == (std::vector<std::string>{"cream cheese ", "whole milk", "yogurt"}));  // never trimmed
  const IngestResult bad = ingest_with({fmt::format("input.path={}", (scratch / "names.csv").string()),
                                        "input.format=baskets", "ingest.max_reject_fraction=1"},
                                       scratch / "r.csv", comm);
  BOOST_TEST(rejected(bad.accounting, RejectReason::bad_item) == 2u);
}

BOOST_AUTO_TEST_CASE(store_round_trip_at_any_rank_count) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const std::vector<std::string> generate_sets = {"generate.customers=1500", "generate.line_items=30000",
                                                  fmt::format("generate.output={}", (scratch / "items.csv").string()),
                                                  "generate.truth="};
  generate::generate_line_items(generate::GeneratorSettings::from_job(JobConfig::parse("", "", generate_sets, generate::generate_keys())),
                                comm);
  const IngestResult original = ingest_with({fmt::format("input.path={}", (scratch / "items.csv").string())}, scratch / "r.csv", comm);
  write_store(scratch / "store.h5", original, "# settings", comm);
  const IngestResult again = read_store(scratch / "store.h5", comm);
  const LineItems before = testing::gather_rows(original.rows, comm);
  const LineItems after = testing::gather_rows(again.rows, comm);
  BOOST_TEST(testing::same_rows(before, after));
  BOOST_TEST(again.items.code == original.items.code);
  BOOST_TEST(again.accounting.rejected == original.accounting.rejected);
  BOOST_TEST(again.accounting.accepted == original.accounting.accepted);
  BOOST_TEST(again.inputs.size() == 1u);
  // Each rank's slice starts at a customer boundary.
  const auto firsts = comm.allgather<std::uint64_t>(again.rows.size() ? again.rows.customer.front() : 0);
  const auto lasts = comm.allgather<std::uint64_t>(again.rows.size() ? again.rows.customer.back() : 0);
  for (int r = 1; r < comm.size(); ++r)
    if (again.rows.size() && firsts[static_cast<std::size_t>(r)] != 0) BOOST_TEST(firsts[static_cast<std::size_t>(r)] > lasts[static_cast<std::size_t>(r - 1)]);
  // A single process reads the same store into the same rows.
  if (comm.rank() == 0) {
    auto alone = comm::make_serial_communicator();
    BOOST_TEST(testing::same_rows(read_store(scratch / "store.h5", *alone).rows, before));
  }
  comm.barrier();
  BOOST_CHECK_THROW(read_store(scratch / "items.csv", comm), IoError);
}

BOOST_AUTO_TEST_SUITE_END()
