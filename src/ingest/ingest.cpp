#include "mpiseg/ingest/ingest.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <numeric>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/shuffle.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/core/hash.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/ingest/compressed_input.hpp"
#include "mpiseg/ingest/dictionary.hpp"
#include "mpiseg/ingest/record_parser.hpp"
#include "mpiseg/ingest/record_reader.hpp"

namespace mpiseg::ingest {
namespace {


/// The part of one file this rank reads.
struct Segment {
  std::uint32_t file;
  std::uint64_t begin;
  std::uint64_t end;
};

/// Splits the concatenation of all files evenly over the ranks.
std::vector<Segment> plan_segments(const std::vector<std::uint64_t>& sizes, int rank, int size) {
  const std::uint64_t total = std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
  const auto ranks = static_cast<std::uint64_t>(size);
  const auto me = static_cast<std::uint64_t>(rank);
  const std::uint64_t low = total / ranks * me + std::min(me, total % ranks);
  const std::uint64_t high = low + total / ranks + (me < total % ranks ? 1 : 0);
  std::vector<Segment> segments;
  std::uint64_t start = 0;
  for (std::uint32_t f = 0; f < sizes.size(); ++f) {
    const std::uint64_t file_low = std::max(low, start), file_high = std::min(high, start + sizes[f]);
    if (file_low < file_high) segments.push_back(Segment{f, file_low - start, file_high - start});
    start += sizes[f];
  }
  return segments;
}

/// The rank whose range of plan_segments() holds byte `at` of the concatenation of all files.
std::size_t range_owner(std::uint64_t at, std::uint64_t total, std::uint64_t ranks) {
  const std::uint64_t share = total / ranks, longer = total % ranks;  // the first `longer` ranks get share + 1
  const std::uint64_t rank = at < (share + 1) * longer ? at / (share + 1) : longer + (at - (share + 1) * longer) / std::max<std::uint64_t>(share, 1);
  return static_cast<std::size_t>(std::min(rank, ranks - 1));
}

/// The first record of a file (its header).
std::string read_first_record(const PosixFile& file, std::uint64_t size, const ReaderLimits& limits) {
  std::string first;
  RecordReader reader(file, size, 0, 1, limits);
  reader.for_each([&](const Record& record) { first.assign(record.text); });
  return first;
}

/// Exchanges variable-length names along with their keys under `partition`.
CustomerNames route_names(const CustomerNames& local, const comm::KeyRangePartition& partition, comm::Communicator& comm) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<comm::ByteWriter> blocks(ranks);
  for (std::size_t i = 0; i < local.key.size(); ++i)
    blocks[static_cast<std::size_t>(partition.owner(local.key[i]))].put(local.key[i]).put_string(local.name[i]);
  std::vector<std::pair<std::uint64_t, std::string>> entries;
  const std::vector<char> received = comm::exchange_bytes(blocks, comm);
  for (comm::ByteReader in(received); !in.done();) {
    const auto key = in.get<std::uint64_t>();
    entries.emplace_back(key, in.get_string());
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  CustomerNames names;
  for (auto& [key, name] : entries) {
    names.key.push_back(key);
    names.name.push_back(std::move(name));
  }
  return names;
}

// Parsing reserves from an estimate of the rows per byte. An estimate that overshot by less than
// a quarter is kept: copying every column to return the slack would cost a full extra pass and
// the page faults of a second copy, at the moment memory peaks.
void shrink_columns(LineItems& rows) {
  rows.for_each_column([](auto& column) {
    if (column.capacity() - column.size() > column.size() / 4) column.shrink_to_fit();
  });
}

/// Rows a and b are the same in every column, bit for bit.
bool same_row(const LineItems& rows, std::size_t a, std::size_t b) {
  bool same = true;
  rows.for_each_column([&](const auto& column) { same = same && std::memcmp(&column[a], &column[b], sizeof column[a]) == 0; });
  return same;
}

/// (file, begin, value) of a segment, as gathered from every rank.
struct SegmentValue {
  std::uint64_t file, begin, value;
};

/// Collective: every rank's segments with one value each (segment order).
std::vector<SegmentValue> gather_segment_values(const std::vector<Segment>& segments, std::span<const std::uint64_t> values,
                                                comm::Communicator& comm) {
  std::vector<std::uint64_t> mine;
  for (std::size_t s = 0; s < segments.size(); ++s) mine.insert(mine.end(), {segments[s].file, segments[s].begin, values[s]});
  const std::vector<std::uint64_t> flat = comm.allgatherv(std::span<const std::uint64_t>(mine));
  std::vector<SegmentValue> all;
  for (std::size_t i = 0; i + 2 < flat.size(); i += 3) all.push_back({flat[i], flat[i + 1], flat[i + 2]});
  return all;
}

/// The sum of the values of the segments of `segment`'s file that begin before it.
std::uint64_t sum_before(const std::vector<SegmentValue>& all, const Segment& segment) {
  std::uint64_t sum = 0;
  for (const SegmentValue& other : all)
    if (other.file == segment.file && other.begin < segment.begin) sum += other.value;
  return sum;
}

/// The value of the segment of the same file that begins last before `segment`, if any.
std::optional<std::uint64_t> previous_value(const std::vector<SegmentValue>& all, const Segment& segment) {
  std::optional<std::uint64_t> value;
  std::uint64_t begin = 0;
  for (const SegmentValue& other : all)
    if (other.file == segment.file && other.begin < segment.begin && (!value || other.begin > begin)) {
      begin = other.begin;
      value = other.value;
    }
  return value;
}

/// Collective. Column positions per file, from each file's header (every rank reads the headers).
std::vector<ColumnMap> read_headers(const InputSettings& settings, const std::vector<std::uint64_t>& sizes,
                                    const std::vector<CompressedFile>& compressed, const ReaderLimits& limits, comm::Communicator& comm) {
  std::vector<ColumnMap> columns(settings.paths.size());
  comm::collectively(comm, "reading headers", [&] {
    for (std::size_t f = 0; f < settings.paths.size(); ++f) {
      if (sizes[f] == 0) continue;
      std::string header;
      const auto packed = std::find_if(compressed.begin(), compressed.end(), [&](const CompressedFile& c) { return c.file == f; });
      if (settings.header && packed != compressed.end()) {
        const std::optional<std::string> first = read_first_compressed_record(*packed, limits);
        if (!first) continue;  // decompresses to nothing: no line to read, as an empty plain file
        header = *first;
      } else if (settings.header) {
        PosixFile file(settings.paths[f], O_RDONLY);
        header = read_first_record(file, sizes[f], limits);
      }
      columns[f] = resolve_columns(settings, settings.paths[f], header);
    }
  });
  return columns;
}

/// Collective. With quoted newlines, the parity of the quotes before each segment (of its file)
/// decides where its records start.
std::vector<bool> quote_parity_before(const InputSettings& settings, const std::vector<Segment>& segments, std::uint64_t chunk_bytes,
                                      comm::Communicator& comm) {
  std::vector<std::uint64_t> quotes(segments.size(), 0);
  comm::collectively(comm, "counting quotes", [&] {
    for (std::size_t s = 0; s < segments.size(); ++s) {
      PosixFile file(settings.paths[segments[s].file], O_RDONLY);
      quotes[s] = count_quotes(file, segments[s].begin, segments[s].end, chunk_bytes);
    }
  });
  const std::vector<SegmentValue> all = gather_segment_values(segments, quotes, comm);
  std::vector<bool> odd(segments.size());
  for (std::size_t s = 0; s < segments.size(); ++s) odd[s] = sum_before(all, segments[s]) % 2 != 0;
  return odd;
}

/// Collective. With quoted newlines, a broken quote makes the reader resynchronise at the next
/// line, which moves every later record start: each segment's guessed entry is checked against
/// the exit of the segment before it (same file), and the segments whose guess was wrong are
/// rescanned until all agree. Without broken quotes the guesses are right and this costs one scan
/// of each range.
std::vector<std::optional<std::uint64_t>> record_entries(const InputSettings& settings, const std::vector<Segment>& segments,
                                                         const std::vector<std::uint64_t>& sizes, const ReaderLimits& limits,
                                                         const std::vector<bool>& odd_before, comm::Communicator& comm) {
  std::vector<std::optional<std::uint64_t>> entries(segments.size());
  std::vector<std::uint64_t> exits(segments.size());
  auto scan = [&](std::size_t s) {
    PosixFile file(settings.paths[segments[s].file], O_RDONLY);
    RecordReader reader(file, sizes[segments[s].file], segments[s].begin, segments[s].end, limits, odd_before[s], entries[s]);
    exits[s] = reader.for_each([](const Record&) {});
    entries[s] = reader.entry();
  };
  comm::collectively(comm, "finding record boundaries", [&] {
    for (std::size_t s = 0; s < segments.size(); ++s) scan(s);
  });
  for (int round = 1;; ++round) {
    const std::vector<SegmentValue> all = gather_segment_values(segments, exits, comm);
    std::vector<std::size_t> wrong;
    for (std::size_t s = 0; s < segments.size(); ++s) {
      if (segments[s].begin == 0) continue;
      const std::optional<std::uint64_t> previous_exit = previous_value(all, segments[s]);
      if (previous_exit && *previous_exit != *entries[s]) {
        entries[s] = previous_exit;
        wrong.push_back(s);
      }
    }
    if (!comm::any_rank(comm, !wrong.empty())) break;
    if (round == 1 && comm.rank() == 0) log::info("ingest: a quote that does not close moved record boundaries; rescanning ranges");
    comm::collectively(comm, "finding record boundaries", [&] {
      for (std::size_t s : wrong) scan(s);
    });
  }
  return entries;
}

/// Collective. Sample line numbers were counted within the piece (byte range or dealt chunk)
/// that held the line: the records of the same file's earlier pieces, on any rank, come first.
/// A sample's piece is this rank's piece of its file that begins last at or before its offset.
void number_samples(const std::vector<Segment>& pieces, const std::vector<std::uint64_t>& records_per_piece, RejectSampler& sampler,
                    comm::Communicator& comm) {
  // Every rank's pieces in (file, begin) order with the records before each: the pieces of a
  // large compressed file number in the thousands, so lookups are binary searches.
  std::vector<SegmentValue> all = gather_segment_values(pieces, records_per_piece, comm);
  std::sort(all.begin(), all.end(), [](const SegmentValue& a, const SegmentValue& b) { return std::tie(a.file, a.begin) < std::tie(b.file, b.begin); });
  std::vector<std::uint64_t> records_before(all.size(), 0);
  for (std::size_t i = 1; i < all.size(); ++i)
    records_before[i] = all[i].file == all[i - 1].file ? records_before[i - 1] + all[i - 1].value : 0;
  for (RejectSample& sample : sampler.samples()) {
    // The piece that holds the line: the last of its file that begins at or before it (pieces of
    // one file never overlap, and this rank parsed the line, so it is this rank's piece).
    const auto after = std::upper_bound(all.begin(), all.end(), std::pair<std::uint64_t, std::uint64_t>{sample.file, sample.offset},
                                        [](const auto& key, const SegmentValue& piece) { return key < std::pair{piece.file, piece.begin}; });
    if (after == all.begin() || std::prev(after)->file != sample.file)
      throw std::logic_error("a rejected line outside every piece this rank parsed");
    sample.line_number += records_before[static_cast<std::size_t>(std::prev(after) - all.begin())];
  }
}

/// Collective. The compressed input files (detected by rank 0 from their first bytes), with the
/// rank that reads each; logged, since one rank reading a large file is worth knowing about.
std::pair<std::vector<CompressedFile>, std::vector<int>> find_compressed_files(const InputSettings& settings,
                                                                               const std::vector<std::uint64_t>& sizes,
                                                                               std::uint64_t deal_bytes, comm::Communicator& comm) {
  std::vector<std::uint8_t> kinds(settings.paths.size(), 0);
  comm::collectively(comm, "opening the input files", [&] {
    if (comm.rank() == 0)
      for (std::size_t f = 0; f < kinds.size(); ++f)
        if (sizes[f] > 0) kinds[f] = static_cast<std::uint8_t>(detect_compression(settings.paths[f]));
  });
  comm.broadcast(std::span(kinds), 0);
  std::vector<CompressedFile> compressed;
  for (std::uint32_t f = 0; f < kinds.size(); ++f)
    if (kinds[f] != 0) compressed.push_back(CompressedFile{f, settings.paths[f], static_cast<Compression>(kinds[f]), sizes[f]});
  std::vector<int> readers = assign_readers(compressed, comm.size());
  if (comm.rank() == 0)
    for (std::size_t c = 0; c < compressed.size(); ++c)
      log::info("ingest: {} is {}-compressed ({:.1f} MB): read whole by rank {}, its lines dealt out in chunks of {:.1f} MB",
                compressed[c].path.string(), compression_name(compressed[c].compression), static_cast<double>(compressed[c].compressed_bytes) / 1e6,
                readers[c], static_cast<double>(deal_bytes) / 1e6);
  return {std::move(compressed), std::move(readers)};
}

/// Collective. Basket rows of compressed files are parsed where their chunks were dealt, and the
/// byte ranges of the plain files were planned without the compressed ones: every row moves to
/// the rank whose byte range of the decompressed inputs holds its line, and the rows go back into
/// file order, which is exactly where reading the decompressed files puts them.
void restore_file_order(LineItems& rows, const std::vector<std::uint64_t>& decompressed_sizes, comm::Communicator& comm) {
  std::vector<std::uint64_t> file_start(decompressed_sizes.size(), 0);
  for (std::size_t f = 1; f < file_start.size(); ++f) file_start[f] = file_start[f - 1] + decompressed_sizes[f - 1];
  const std::uint64_t total = file_start.empty() ? 0 : file_start.back() + decompressed_sizes.back();
  std::vector<int> destinations(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::uint64_t at = file_start[rows.basket[i] >> kPositionFileShift] + (rows.basket[i] & ((std::uint64_t{1} << kPositionFileShift) - 1));
    destinations[i] = static_cast<int>(range_owner(at, total, static_cast<std::uint64_t>(comm.size())));
  }
  const comm::ShufflePlan plan(std::span<const int>(destinations), comm);
  rows.for_each_column([&](auto& column) { plan.exchange_in_place(column, comm); });
  std::vector<std::uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return rows.basket[a] < rows.basket[b]; });
  rows.permute(order);
}

/// Collective. Global dictionaries of items and countries; the rows' local ids become global ids.
void merge_into_global_dictionaries(const InputSettings& settings, bool basket_file, RecordParser& parser, IngestResult& result,
                                    comm::Communicator& comm) {
  LineItems& rows = result.rows;
  std::vector<std::uint32_t> item_ids, country_ids;
  const auto items = merge_dictionaries(parser.items(), basket_file && settings.basket_items == BasketItems::integer
                                                            ? DictionaryOrder::numeric : DictionaryOrder::bytes,
                                        comm, item_ids);
  for (std::uint32_t& item : rows.item) item = item_ids[item];
  for (const auto& entry : items) {
    result.items.code.push_back(entry.text);
    result.items.description.push_back(entry.description);
    result.items.category.push_back(entry.category);
    result.items.first_seen.push_back(entry.first_seen);
  }
  if (!basket_file && settings.country.mapped()) {
    const auto countries = merge_dictionaries(parser.countries(), DictionaryOrder::bytes, comm, country_ids);
    for (std::uint16_t& country : rows.country) country = static_cast<std::uint16_t>(country_ids[country]);
    for (const auto& entry : countries) result.countries.push_back(entry.text);
    result.has_country = true;
  }
  result.has_category = !basket_file && settings.category.mapped();
  check_key_collisions(parser.customers().checks(), "customer", comm);
  check_key_collisions(parser.baskets().checks(), "invoice", comm);
}

/// Collective. All lines of a customer to one rank (ranks own ascending customer ranges), sorted
/// canonically; exact repeats counted, and dropped under [ingest] duplicates = "drop".
void partition_by_customer(const IngestPolicy& policy, RecordParser& parser, IngestResult& result, comm::Communicator& comm) {
  LineItems& rows = result.rows;
  const Stopwatch watch;
  const auto partition = comm::KeyRangePartition::balanced(rows.customer, comm);
  const comm::ShufflePlan plan(rows.customer, partition, comm);
  rows.for_each_column([&](auto& column) { plan.exchange_in_place(column, comm); });
  result.customer_names = route_names(parser.customers().names(), partition, comm);
  const double shuffle_done = watch.seconds();
  const std::uint64_t duplicates = comm.allreduce(sort_rows_and_count_duplicates(rows), comm::ReduceOp::sum);
  log::debug("ingest: shuffle {:.2f} s, sort {:.2f} s", shuffle_done, watch.seconds() - shuffle_done);
  result.accounting.duplicate_lines = duplicates;
  log::info("ingest: {} accepted lines repeat an earlier line exactly ([ingest] duplicates = \"{}\")", duplicates,
            policy.duplicates == PolicyAction::drop ? "drop" : "keep");
  if (policy.duplicates == PolicyAction::drop && duplicates > 0) {
    // Identical rows are adjacent after the sort; keep the first of each run.
    std::vector<std::uint32_t> keep;
    keep.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (i == 0 || !same_row(rows, i, i - 1)) keep.push_back(static_cast<std::uint32_t>(i));
    rows.permute(keep);
    result.accounting.accepted -= duplicates;
    result.accounting.rejected[static_cast<std::size_t>(RejectReason::duplicate)] += duplicates;
  }
}

}  // namespace

std::vector<InputFileInfo> describe_inputs(const std::vector<std::filesystem::path>& paths) {
  std::vector<InputFileInfo> inputs;
  for (const auto& path : paths) {
    struct stat info {};
    InputFileInfo file{path.string(), 0, 0};
    if (::stat(path.c_str(), &info) == 0) {
      file.size = static_cast<std::uint64_t>(info.st_size);
      file.modified = static_cast<std::int64_t>(info.st_mtime);
    }
    inputs.push_back(std::move(file));
  }
  return inputs;
}

std::uint64_t sort_rows_and_count_duplicates(LineItems& rows) {
  std::vector<std::uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0u);
  auto price_key = [&](std::uint32_t i) {
    // Total order on doubles (no NaN here): compare the bit patterns made monotone.
    std::uint64_t bits;
    std::memcpy(&bits, &rows.price[i], sizeof bits);
    return (bits & (std::uint64_t{1} << 63)) ? ~bits : bits | (std::uint64_t{1} << 63);
  };
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (rows.customer[a] != rows.customer[b]) return rows.customer[a] < rows.customer[b];
    if (rows.time[a] != rows.time[b]) return rows.time[a] < rows.time[b];
    if (rows.basket[a] != rows.basket[b]) return rows.basket[a] < rows.basket[b];
    if (rows.item[a] != rows.item[b]) return rows.item[a] < rows.item[b];
    if (rows.quantity[a] != rows.quantity[b]) return rows.quantity[a] < rows.quantity[b];
    if (rows.price[a] != rows.price[b]) return price_key(a) < price_key(b);
    if (rows.country[a] != rows.country[b]) return rows.country[a] < rows.country[b];
    return rows.flags[a] < rows.flags[b];
  });
  if (!std::is_sorted(order.begin(), order.end())) rows.permute(order);
  std::uint64_t duplicates = 0;
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (same_row(rows, i, i - 1)) ++duplicates;
  return duplicates;
}

IngestResult read_input(const InputSettings& settings, const IngestPolicy& policy, const std::filesystem::path& rejects_path,
                        comm::Communicator& comm) {
  const Stopwatch watch;
  const bool basket_file = settings.format == InputFormat::baskets;
  if (settings.format != InputFormat::csv && !basket_file)
    throw ConfigError("ingest reads [input] format = \"csv\" or \"baskets\"; a store is read with read_store()");
  IngestResult result;
  result.rows.baskets_only = basket_file;
  result.inputs = describe_inputs(settings.paths);
  std::vector<std::uint64_t> sizes;
  std::vector<std::string> names;
  for (const auto& input : result.inputs) {
    sizes.push_back(input.size);
    names.push_back(input.path);
  }
  const std::uint64_t total_bytes = std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
  const ReaderLimits limits{policy.chunk_bytes, policy.max_record_bytes, settings.quoted_newlines && !basket_file};
  // Compressed files are read whole, one rank each, and dealt out in chunks small enough that a
  // reader serving every rank holds about 256 MiB at a time; the byte ranges cover the others.
  const std::uint64_t deal_bytes =
      std::min<std::uint64_t>(policy.chunk_bytes, std::max<std::uint64_t>(std::uint64_t{1} << 20, (std::uint64_t{256} << 20) / static_cast<std::uint64_t>(comm.size())));
  const auto [compressed, readers] = find_compressed_files(settings, sizes, deal_bytes, comm);
  std::vector<std::uint64_t> plain_sizes = sizes;
  for (const CompressedFile& file : compressed) plain_sizes[file.file] = 0;
  const std::vector<Segment> segments = plan_segments(plain_sizes, comm.rank(), comm.size());

  // The phases: headers, record boundaries (quoted newlines only), parsing, sample numbering,
  // accounting and its threshold, dictionaries, the customer partition.
  const std::vector<ColumnMap> columns = basket_file ? std::vector<ColumnMap>(settings.paths.size())
                                                     : read_headers(settings, sizes, compressed, limits, comm);
  const std::vector<bool> odd_before = limits.quoted_newlines ? quote_parity_before(settings, segments, policy.chunk_bytes, comm)
                                                              : std::vector<bool>(segments.size(), false);
  const std::vector<std::optional<std::uint64_t>> entries =
      limits.quoted_newlines ? record_entries(settings, segments, sizes, limits, odd_before, comm)
                             : std::vector<std::optional<std::uint64_t>>(segments.size());

  // Parse this rank's ranges, then the chunks of compressed files dealt to it: the pieces. Records
  // per piece are kept to number the sample lines.
  Accounting accounting;
  for (std::size_t r = 0; r < kReasonCount; ++r) accounting.malformed[r] = r < static_cast<std::size_t>(RejectReason::negative_quantity);
  accounting.malformed[static_cast<std::size_t>(RejectReason::negative_quantity)] = policy.negative_quantity == PolicyAction::reject;
  accounting.malformed[static_cast<std::size_t>(RejectReason::nonpositive_price)] = policy.nonpositive_price == PolicyAction::reject;
  RejectSampler sampler(policy.rejects_per_reason);
  std::vector<Segment> pieces;
  std::vector<std::uint64_t> records_per_piece;
  LineItems& rows = result.rows;
  RecordParser parser(settings, policy, rows, accounting, sampler);
  std::uint64_t lines_before_piece = 0;
  auto end_piece = [&] {
    if (records_per_piece.size() < pieces.size()) records_per_piece.push_back(accounting.lines_read - lines_before_piece);
  };
  auto begin_piece = [&](std::uint32_t file, std::uint64_t begin) {
    end_piece();
    pieces.push_back(Segment{file, begin, begin});
    lines_before_piece = accounting.lines_read;
    parser.begin_segment(file, basket_file ? nullptr : &columns[file]);
  };
  comm::collectively(comm, "parsing", [&] {
    std::uint64_t my_bytes = 0;
    for (const Segment& segment : segments) my_bytes += segment.end - segment.begin;
    rows.reserve(static_cast<std::size_t>(my_bytes / (basket_file ? 4 : 64)));
    for (std::size_t s = 0; s < segments.size(); ++s) {
      const Segment& segment = segments[s];
      PosixFile file(settings.paths[segment.file], O_RDONLY);
      begin_piece(segment.file, segment.begin);
      RecordReader reader(file, sizes[segment.file], segment.begin, segment.end, limits, odd_before[s], entries[s]);
      if (!basket_file) reader.split_fields_at(settings.delimiter);
      reader.for_each([&](const Record& record) { parser.parse(record); });
    }
  });
  std::vector<std::uint64_t> decompressed_sizes = sizes;
  if (!compressed.empty()) {
    const std::vector<std::uint64_t> unpacked = deal_compressed_records(
        compressed, readers, limits, deal_bytes, ChunkConsumer{begin_piece, [&](const Record& record) { parser.parse(record); }}, comm);
    for (std::size_t c = 0; c < compressed.size(); ++c) decompressed_sizes[compressed[c].file] = unpacked[c];
  }
  end_piece();
  const std::uint64_t parsed_bytes = std::accumulate(decompressed_sizes.begin(), decompressed_sizes.end(), std::uint64_t{0});
  const double parse_seconds = watch.seconds();
  const double slowest_parse = comm.allreduce(parse_seconds, comm::ReduceOp::max);

  number_samples(pieces, records_per_piece, sampler, comm);
  result.accounting = accounting;
  result.accounting.reduce(comm);
  const Accounting& total = result.accounting;
  if (!total.balanced())
    throw std::logic_error(fmt::format("ingest accounting does not balance: {}", total.summary()));

  const bool wrote_rejects = total.rejected_total() > 0 &&
                             write_reject_samples(std::move(sampler.samples()), policy.rejects_per_reason, names, rejects_path.string(), comm);
  log::info("ingest: {:.1f} MB in {} file(s){} on {} rank(s), parsed in {:.2f} s ({:.0f} MB/s per rank): {}",
            static_cast<double>(parsed_bytes) / 1e6, names.size(),
            compressed.empty() ? "" : fmt::format(" ({:.1f} MB on disk, {} compressed)", static_cast<double>(total_bytes) / 1e6, compressed.size()),
            comm.size(), slowest_parse, static_cast<double>(parsed_bytes) / 1e6 / std::max(slowest_parse, 1e-9) / comm.size(), total.summary());
  if (wrote_rejects) log::info("ingest: sample rejected lines in {}", rejects_path.string());
  const std::uint64_t malformed = total.malformed_total();
  if (static_cast<double>(malformed) > policy.max_reject_fraction * static_cast<double>(total.data_lines()))
    throw InputError(fmt::format("{} of {} data lines ({:.3f}%) are malformed, more than [ingest] max_reject_fraction = {}; "
                                 "see the counts above and the samples in {}",
                                 malformed, total.data_lines(),
                                 100.0 * static_cast<double>(malformed) / static_cast<double>(std::max<std::uint64_t>(total.data_lines(), 1)),
                                 policy.max_reject_fraction, rejects_path.string()));

  merge_into_global_dictionaries(settings, basket_file, parser, result, comm);
  if (basket_file && !compressed.empty()) restore_file_order(rows, decompressed_sizes, comm);
  if (!basket_file) partition_by_customer(policy, parser, result, comm);
  shrink_columns(rows);

  ReadStatistics& statistics = result.statistics;
  statistics.rows = comm.allreduce<std::uint64_t>(rows.size(), comm::ReduceOp::sum);
  statistics.memory_bytes = comm.allreduce<std::uint64_t>(rows.memory_bytes(), comm::ReduceOp::sum);
  statistics.parsed_bytes = parsed_bytes;
  statistics.parse_seconds = slowest_parse;
  statistics.seconds = comm.allreduce(watch.seconds(), comm::ReduceOp::max);
  log::info("ingest: {} rows in memory, {:.1f} bytes per line item; {} items{}; {:.2f} s", statistics.rows,
            statistics.rows == 0 ? 0.0 : static_cast<double>(statistics.memory_bytes) / static_cast<double>(statistics.rows),
            result.items.size(), result.has_country ? fmt::format(", {} countries", result.countries.size()) : "",
            statistics.seconds);
  return result;
}

std::int64_t LineSpan::data_end() const noexcept {
  return (static_cast<std::int64_t>(last) / kSecondsPerDay + 1) * kSecondsPerDay;
}

LineSpan line_span(const LineItems& rows, comm::Communicator& comm) {
  LineSpan span;
  for (const std::uint32_t time : rows.time) {
    span.first = std::min(span.first, time);
    span.last = std::max(span.last, time);
  }
  span.first = comm.allreduce(span.first, comm::ReduceOp::min);
  span.last = comm.allreduce(span.last, comm::ReduceOp::max);
  return span;
}

}  // namespace mpiseg::ingest
