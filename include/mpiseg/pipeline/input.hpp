#pragma once
/// Loading transactions for any stage: from text ([input] format = "csv" or "baskets", through
/// the ingest stage) or from an ingest store (format = "store"), with the same result layout.
#include <filesystem>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/ingest/ingest.hpp"

namespace mpiseg::pipeline {

/// Collective. Reads the job's [input]; when [ingest] store is set and the input is text, also
/// writes the store. Sample rejects go to [ingest] rejects_file, else beside `output_beside`.
ingest::IngestResult load_transactions(const JobConfig& job, const std::filesystem::path& output_beside,
                                       comm::Communicator& comm);

/// Where sample rejected lines go: [ingest] rejects_file, else "<beside>.rejects.csv".
std::filesystem::path rejects_path(const JobConfig& job, const std::filesystem::path& beside);

}  // namespace mpiseg::pipeline
