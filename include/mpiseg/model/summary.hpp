#pragma once
/// `mpiseg inspect`: what a model contains, for people (text) and programs (JSON). Reads only
/// the groups that exist, so a partial model (features only, K-means only, rules only) is shown
/// as what it is.
#include <cstddef>
#include <filesystem>
#include <string>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::model {

/// Collective (every rank reads; tools usually run on one).
std::string summarize_model(const std::filesystem::path& path, comm::Communicator& comm, std::size_t top_rules = 10);
std::string model_json(const std::filesystem::path& path, comm::Communicator& comm, std::size_t top_rules = 10);

}  // namespace mpiseg::model
