#pragma once
/// The columnar HDF5 transaction store written by `mpiseg ingest`, so that monthly reruns do not
/// parse text again. One dataset per column, in the canonical row order (customer, time, basket,
/// item, quantity, price, country, flags), so the store is the same file content at any rank
/// count and can be read back at any other rank count without a shuffle: each rank reads an
/// even slice whose ends are moved to customer boundaries.
///
/// Layout (attributes in brackets):
///   /            [schema = "mpiseg-store", schema_version, created, tool_version, git_revision,
///                 rank_count, source_format, row_order, settings]
///   /lineitems/  customer u64, basket u64, time u32 [units], item u32, quantity i32,
///                price f64, flags u8 [meaning], country u16 (when mapped); a store of a
///                basket file (source_format = "baskets") has basket and item only
///                (from version 2; version 1 also wrote constant columns, which are ignored)
///   /items/      code, description, category (strings), first_seen u32
///   /countries/  name
///   /customers/  key u64, name (original text of hashed, non-numeric customer ids)
///   /accounting/ [lines_read, header, blank, accepted, rejected, ...] reason, count, malformed
///   /inputs/     path, size u64, modified i64
#include <filesystem>
#include <string>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/io/h5/h5.hpp"

namespace mpiseg::ingest {

inline constexpr std::int64_t kStoreSchemaVersion = 2;
/// The oldest version read_store() still reads.
inline constexpr std::int64_t kOldestStoreSchemaVersion = 1;

/// Collective. Writes `result` to `path` (via path.tmp, renamed when complete).
/// `settings_toml` is stored as provenance.
void write_store(const std::filesystem::path& path, const IngestResult& result, const std::string& settings_toml,
                 comm::Communicator& comm);

/// Collective. Reads a store written at any rank count; rows come back partitioned as after
/// read_input() (customer ranges in rank order, sorted).
IngestResult read_store(const std::filesystem::path& path, comm::Communicator& comm);

/// Collective. `parent/accounting`: the line counts (read = header + blank + accepted + rejected),
/// the flagged lines, and per reject reason its name, explanation, count and whether it is
/// malformed input; the one writer of the accounting, for the store and the model's /run.
void write_accounting(h5::Group& parent, const Accounting& accounting);

/// Collective. `parent/inputs`: path, size (bytes) and modification time of each input file, as
/// the store and the model's /run record them.
void write_input_files(h5::Group& parent, const std::vector<InputFileInfo>& inputs);

}  // namespace mpiseg::ingest
