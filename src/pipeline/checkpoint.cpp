#include "mpiseg/pipeline/checkpoint.hpp"

#include <array>
#include <fcntl.h>

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <sstream>
#include <toml++/toml.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/posix_file.hpp"
#include "mpiseg/core/hash.hpp"
#include "mpiseg/core/interrupt.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/version.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::pipeline {
namespace {

constexpr const char* kKind = "mpiseg-checkpoint";
constexpr std::int64_t kVersion = 1;
/// The [run] keys that say how to checkpoint, not what to compute.
constexpr std::string_view kCheckpointKeys[] = {"checkpoint", "checkpoint_interval", "resume"};

std::string fingerprint_text(std::uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

/// A checkpoint file of this run: exists, is one of ours, and has this fingerprint.
bool matches(const std::filesystem::path& path, std::uint64_t fingerprint, comm::Communicator& comm) {
  if (!h5::is_hdf5_file(path)) return false;
  h5::File file = h5::File::open(path, comm);
  const h5::Group root = file.root();
  return root.has_attribute("kind") && root.read_string_attribute("kind") == kKind && root.has_attribute("fingerprint") &&
         root.read_string_attribute("fingerprint") == fingerprint_text(fingerprint) && root.read_int_attribute("version") == kVersion;
}

h5::File create(const std::filesystem::path& path, std::uint64_t fingerprint, comm::Communicator& comm) {
  h5::File file = h5::File::create(path, comm);
  h5::Group root = file.root();
  root.write_attribute("kind", kKind);
  root.write_attribute("version", kVersion);
  root.write_attribute("fingerprint", fingerprint_text(fingerprint));
  return file;
}

kmeans::StopReason parse_reason(const std::string& name) {
  for (auto reason : {kmeans::StopReason::assignments_unchanged, kmeans::StopReason::centroid_shift, kmeans::StopReason::max_iter})
    if (name == kmeans::stop_reason_name(reason)) return reason;
  throw IoError(fmt::format("checkpoint: unknown stop reason '{}'", name));
}

kmeans::RowMatrix read_matrix(const h5::Group& group, std::string_view name) {
  const auto shape = h5::dataset_shape(group, name);
  const std::vector<double> values = h5::read_all<double>(group, name);
  const auto rows = static_cast<Eigen::Index>(shape.at(0)), cols = static_cast<Eigen::Index>(shape.size() > 1 ? shape[1] : 1);
  return Eigen::Map<const kmeans::RowMatrix>(values.data(), rows, cols);
}

void write_matrix(h5::Group& group, std::string_view name, const kmeans::RowMatrix& matrix) {
  h5::write_replicated(group, name, std::span<const double>(matrix.data(), static_cast<std::size_t>(matrix.size())),
                       static_cast<std::uint64_t>(matrix.cols()));
}

}  // namespace

CheckpointSettings CheckpointSettings::from_job(const JobConfig& job, const std::filesystem::path& model) {
  CheckpointSettings settings;
  const std::string directory = job.get_string("run", "checkpoint");
  if (directory.empty()) {
    settings.directory = model;
    settings.directory += ".checkpoint";
  } else {
    settings.directory = directory;
  }
  settings.interval_seconds = job.get_number_from("run", "checkpoint_interval", 0);
  settings.resume = job.get_choice("run", "resume", std::array<Choice<ResumePolicy>, 3>{{{"auto", ResumePolicy::automatic},
                                                                                         {"never", ResumePolicy::never},
                                                                                         {"require", ResumePolicy::require}}});
  return settings;
}

std::uint64_t content_fingerprint(const std::vector<ingest::InputFileInfo>& files, comm::Communicator& comm) {
  constexpr std::uint64_t kBlock = std::uint64_t{4} << 20;
  const auto ranks = static_cast<std::uint64_t>(comm.size()), me = static_cast<std::uint64_t>(comm.rank());
  std::uint64_t sum = 0;
  comm::collectively(comm, "fingerprinting the input", [&] {
    std::vector<std::byte> buffer(kBlock);
    std::uint64_t block = 0;
    for (std::size_t f = 0; f < files.size(); ++f) {
      std::error_code error;
      if (!std::filesystem::is_regular_file(files[f].path, error)) continue;  // reading it reports the problem
      const PosixFile file(files[f].path, O_RDONLY);
      const std::uint64_t size = file.size();
      for (std::uint64_t offset = 0; offset < size; offset += kBlock, ++block) {
        if (block % ranks != me) continue;
        const std::size_t got = file.read_at(offset, std::span(buffer.data(), static_cast<std::size_t>(std::min(kBlock, size - offset))));
        const std::uint64_t key = mix64((static_cast<std::uint64_t>(f) << 40) ^ (offset / kBlock) ^ 0x6669786564ULL);
        sum += mix64(hash_block(std::string_view(reinterpret_cast<const char*>(buffer.data()), got), key) ^ key);
      }
    }
  });
  return comm.allreduce(sum, comm::ReduceOp::sum);
}

std::uint64_t run_fingerprint(const JobConfig& job, const std::vector<ingest::InputFileInfo>& files, std::uint64_t content) {
  toml::table settings = toml::parse(job.effective_toml());
  if (toml::table* run = settings["run"].as_table())
    for (std::string_view key : kCheckpointKeys) run->erase(key);
  std::ostringstream text;
  // Another build may compute differently: its checkpoints are not mixed with this one's.
  text << version() << ' ' << git_revision() << '\n' << settings << '\n';
  for (const auto& file : files) text << file.path << '\t' << file.size << '\t' << file.modified << '\n';
  text << "content " << content << '\n';
  return hash_bytes(text.str(), kCheckHashSeed);
}

RunCheckpoint::RunCheckpoint(CheckpointSettings settings, std::uint64_t fingerprint, comm::Communicator& comm)
    : settings_(std::move(settings)), fingerprint_(fingerprint), comm_(comm) {
  const auto kmeans_file = settings_.directory / "kmeans.h5";
  bool any = false, stale = false;
  if (std::filesystem::is_directory(settings_.directory)) {
    std::vector<std::filesystem::path> files;  // sorted: every rank opens them in the same order
    for (const auto& entry : std::filesystem::directory_iterator(settings_.directory))
      if (entry.path().extension() == ".h5") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) (matches(path, fingerprint_, comm_) ? any : stale) = true;
  }
  comm_.barrier();
  if (settings_.resume == ResumePolicy::require && (!any || stale))
    throw ConfigError(fmt::format("--resume: no checkpoint of this job and input in {}", settings_.directory.string()));
  resuming_ = any && !stale && settings_.resume != ResumePolicy::never;
  if (!resuming_) {
    if (any || stale)
      log::warn("checkpoint: {} {}; starting afresh", settings_.directory.string(),
                stale ? "holds a checkpoint of another job, input or mpiseg version" : "is ignored ([run] resume = never)");
    if (comm_.rank() == 0) std::filesystem::remove_all(settings_.directory);
  }
  if (comm_.rank() == 0) std::filesystem::create_directories(settings_.directory);
  comm_.barrier();
  if (!resuming_ || !std::filesystem::exists(kmeans_file)) return;

  h5::File file = h5::File::open(kmeans_file, comm_);
  const h5::Group root = file.root();
  const h5::Group finished = root.open_group("finished");
  for (std::int64_t i = 0; finished.exists(fmt::format("run_{}", i)); ++i) {
    const h5::Group run = finished.open_group(fmt::format("run_{}", i));
    kmeans::FinishedRun record;
    record.centroids = read_matrix(run, "centroids");
    record.inertia_history = h5::read_all<double>(run, "inertia_history");
    record.iterations = run.read_int_attribute("iterations");
    record.reason = parse_reason(run.read_string_attribute("reason"));
    record.empty_relocations = static_cast<std::uint64_t>(run.read_int_attribute("empty_relocations"));
    finished_[{run.read_int_attribute("k"), run.read_int_attribute("init")}] = std::move(record);
  }
  if (root.exists("progress")) {
    const h5::Group progress = root.open_group("progress");
    progress_run_ = std::make_pair(progress.read_int_attribute("k"), progress.read_int_attribute("init"));
    progress_.iteration = progress.read_int_attribute("iteration");
    progress_.empty_relocations = static_cast<std::uint64_t>(progress.read_int_attribute("empty_relocations"));
    progress_.centroids = read_matrix(progress, "centroids");
    progress_.inertia_history = h5::read_all<double>(progress, "inertia_history");
  }
  log::info("checkpoint: resuming from {}: {} finished K-means run(s){}", settings_.directory.string(), finished_.size(),
            progress_run_ ? fmt::format(", k={} init {} after iteration {}", progress_run_->first, progress_run_->second, progress_.iteration)
                          : std::string());
}

void RunCheckpoint::set_points(std::span<const std::uint64_t> keys) {
  keys_.assign(keys.begin(), keys.end());
  since_last_.restart();
  if (!progress_run_) return;
  // This rank's labels: its rows of the globally key-ordered table, whatever the rank count was.
  h5::File file = h5::File::open(settings_.directory / "kmeans.h5", comm_);
  const h5::Group progress = file.root().open_group("progress");
  const std::uint64_t first = comm_.exclusive_prefix_sum<std::uint64_t>(keys.size());
  const std::uint64_t total = comm_.allreduce<std::uint64_t>(keys.size(), comm::ReduceOp::sum);
  if (h5::dataset_shape(progress, "customer").at(0) != total)
    throw InputError(fmt::format("checkpoint {}: it has labels for {} customers, this run has {}; remove the directory to start afresh",
                                 settings_.directory.string(), h5::dataset_shape(progress, "customer").at(0), total));
  const auto stored_keys = h5::read_rows<std::uint64_t>(progress, "customer", first, keys.size());
  const bool same = std::equal(stored_keys.begin(), stored_keys.end(), keys.begin(), keys.end());
  if (comm_.allreduce<std::uint8_t>(same ? 0 : 1, comm::ReduceOp::max) != 0)
    throw InputError(fmt::format("checkpoint {}: its customers differ from this run's; remove the directory to start afresh",
                                 settings_.directory.string()));
  progress_.labels = h5::read_rows<std::int32_t>(progress, "label", first, keys.size());
}

const kmeans::FinishedRun* RunCheckpoint::finished(std::int64_t k, std::int64_t init) const {
  const auto found = finished_.find({k, init});
  return found == finished_.end() ? nullptr : &found->second;
}

const kmeans::LloydProgress* RunCheckpoint::progress(std::int64_t k, std::int64_t init) const {
  return progress_run_ && *progress_run_ == std::make_pair(k, init) ? &progress_ : nullptr;
}

void RunCheckpoint::run_finished(std::int64_t k, std::int64_t init, const kmeans::FinishedRun& run) {
  finished_[{k, init}] = run;
  progress_run_.reset();
  write_kmeans(nullptr, 0, 0, {});
}

bool RunCheckpoint::after_iteration(std::int64_t k, std::int64_t init, const kmeans::LloydProgress& progress,
                                    std::span<const std::int32_t> labels) {
  // 1: the interval has passed (rank 0's clock decides); 2: a checkpoint was requested.
  std::uint8_t want = checkpoint_requested() ? 2 : 0;
  if (comm_.rank() == 0 && settings_.interval_seconds > 0 && since_last_.seconds() >= settings_.interval_seconds) want |= 1;
  want = comm_.allreduce(want, comm::ReduceOp::bit_or);
  if (want == 0) return true;
  write_kmeans(&progress, k, init, labels);
  log::info("checkpoint: K-means k={} init {} after iteration {} in {}", k, init, progress.iteration, settings_.directory.string());
  return (want & 2) == 0;
}

void RunCheckpoint::write_kmeans(const kmeans::LloydProgress* progress, std::int64_t k, std::int64_t init,
                                 std::span<const std::int32_t> labels) {
  h5::File file = create(settings_.directory / "kmeans.h5", fingerprint_, comm_);
  h5::Group root = file.root();
  h5::Group finished = root.create_group("finished");
  std::int64_t index = 0;
  for (const auto& [run_id, run] : finished_) {
    h5::Group group = finished.create_group(fmt::format("run_{}", index++));
    group.write_attribute("k", run_id.first);
    group.write_attribute("init", run_id.second);
    group.write_attribute("iterations", run.iterations);
    group.write_attribute("reason", kmeans::stop_reason_name(run.reason));
    group.write_attribute("empty_relocations", static_cast<std::int64_t>(run.empty_relocations));
    write_matrix(group, "centroids", run.centroids);
    h5::write_replicated(group, "inertia_history", run.inertia_history);
  }
  if (progress != nullptr) {
    h5::Group group = root.create_group("progress");
    group.write_attribute("k", k);
    group.write_attribute("init", init);
    group.write_attribute("iteration", progress->iteration);
    group.write_attribute("empty_relocations", static_cast<std::int64_t>(progress->empty_relocations));
    write_matrix(group, "centroids", progress->centroids);
    h5::write_replicated(group, "inertia_history", progress->inertia_history);
    h5::write_rows(group, "customer", std::span<const std::uint64_t>(keys_));
    h5::write_rows(group, "label", labels);
  }
  file.commit();
  since_last_.restart();
}

std::filesystem::path RunCheckpoint::task_file(const std::string& task) const {
  return settings_.directory / fmt::format("fpgrowth_{}.h5", task);
}

fpgrowth::StoredItemsets RunCheckpoint::stored_itemsets(const std::string& task) const {
  const auto path = task_file(task);
  if (!resuming_ || !std::filesystem::exists(path)) return {};
  return [path](const fpgrowth::FrequentItemsets& plan, comm::Communicator& comm) {
    h5::File file = h5::File::open(path, comm);
    const h5::Group root = file.root();
    if (h5::read_all<std::uint32_t>(root, "flist") != plan.flist)
      throw InputError(fmt::format("checkpoint {}: its F-list differs from this run's; remove the checkpoint directory to start afresh",
                                   path.string()));
    // This rank's itemsets are those whose suffix lies in [first, last): one block of the
    // canonical order, located by the counts per suffix position.
    const auto per_suffix = h5::read_all<std::uint64_t>(root, "suffix_count");
    const auto begin = std::accumulate(per_suffix.begin(), per_suffix.begin() + plan.first, std::uint64_t{0});
    const auto end = std::accumulate(per_suffix.begin() + plan.first, per_suffix.begin() + plan.last, begin);
    const auto offsets = h5::read_rows<std::uint64_t>(root, "offsets", begin, end - begin + 1);
    fpgrowth::ItemsetTable table;
    table.items = h5::read_rows<std::uint32_t>(root, "items", offsets.front(), offsets.back() - offsets.front());
    table.support = h5::read_rows<std::uint64_t>(root, "support", begin, end - begin);
    table.offsets.clear();
    for (const std::uint64_t offset : offsets) table.offsets.push_back(offset - offsets.front());
    log::debug("checkpoint: {} itemsets of {} read back", table.size(), path.string());
    return table;
  };
}

void RunCheckpoint::task_mined(const std::string& task, const fpgrowth::FrequentItemsets& itemsets) {
  h5::File file = create(task_file(task), fingerprint_, comm_);
  h5::Group root = file.root();
  h5::write_replicated(root, "flist", itemsets.flist);
  h5::write_rows(root, "suffix_count", fpgrowth::local_suffix_counts(itemsets));
  // Global offsets, as in the model.
  const fpgrowth::ItemsetTable& local = itemsets.local;
  h5::write_distributed_offsets(root, "offsets", local.offsets);
  h5::write_rows(root, "items", local.items);
  h5::write_rows(root, "support", local.support);
  file.commit();
  stop_if_requested(fmt::format("FP-growth task {}", task));
}

void RunCheckpoint::stop_if_requested(std::string_view where) {
  const std::uint8_t requested = comm_.allreduce<std::uint8_t>(checkpoint_requested() ? 1 : 0, comm::ReduceOp::max);
  if (requested != 0)
    throw Checkpointed(fmt::format("checkpoint requested: stopped after {}; the checkpoint is in {} (run again to resume)", where,
                                   settings_.directory.string()));
}

RunCheckpoint::~RunCheckpoint() {
  if (comm_.rank() != 0) return;
  std::error_code ignored;
  std::filesystem::remove(settings_.directory, ignored);  // removes it only when empty
}

void RunCheckpoint::remove() {
  comm_.barrier();
  if (comm_.rank() == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(settings_.directory, ignored);
  }
  comm_.barrier();
}

}  // namespace mpiseg::pipeline
