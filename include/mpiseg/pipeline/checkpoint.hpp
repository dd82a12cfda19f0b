#pragma once
/// Checkpoint and resume of `mpiseg run`.
///
/// The expensive, iterative work is kept in a checkpoint directory ([run] checkpoint, by default
/// MODEL.checkpoint/ beside the model), one HDF5 file per part, each written to NAME.tmp and
/// renamed:
///
///   kmeans.h5            every finished Lloyd run (k, init): final centroids, inertia history,
///                        iterations, stop reason; and the run in progress: centroids after its
///                        last iteration, history, and every point's label (customer key order)
///   fpgrowth_TASK.h5     the itemsets of a finished mining task (TASK = all, segment_N), in
///                        canonical order with the count per F-list position
///
/// kmeans.h5 is rewritten when a run finishes, every [run] checkpoint_interval seconds and when a
/// checkpoint is requested (SIGUSR1, core/interrupt.hpp); a task file when the task finishes. A
/// request stops the run at the next such point (Checkpointed, exit status 75).
///
/// A later run resumes from the directory when its fingerprint (effective settings without the
/// checkpoint keys, input files with size and modification time, previous model) is the same:
/// ingest and features are recomputed (linear passes), finished K-means runs are rebuilt from
/// their centroids, the interrupted one continues from its iteration, finished mining tasks are
/// read back. Every step is deterministic, so the model is bit-identical to an uninterrupted
/// run, at any rank count. The directory is removed when the model is committed.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/kmeans/kmeans.hpp"

namespace mpiseg::pipeline {

enum class ResumePolicy { automatic, never, require };

struct CheckpointSettings {
  std::filesystem::path directory;  // [run] checkpoint, default MODEL.checkpoint
  double interval_seconds = 600;    // 0: only when requested
  ResumePolicy resume = ResumePolicy::automatic;

  static CheckpointSettings from_job(const JobConfig& job, const std::filesystem::path& model);
};

/// What a run computes, as a hash: mpiseg's version and git revision, the effective settings
/// without the [run] checkpoint keys, and the files it reads (path, size, modification time)
/// with `content`, the content_fingerprint of those files.
std::uint64_t run_fingerprint(const JobConfig& job, const std::vector<ingest::InputFileInfo>& files, std::uint64_t content);

/// Collective: a hash of the bytes of `files`, the same at any rank count. The files are cut into
/// 4 MiB blocks, dealt round-robin to the ranks; each block's hash is keyed by its file and
/// position and the keyed hashes are added modulo 2^64, which does not depend on who adds them.
/// A file rewritten with the same size and modification time gets another fingerprint, so a
/// checkpoint of the old data is never resumed. Costs one parallel read of the inputs.
std::uint64_t content_fingerprint(const std::vector<ingest::InputFileInfo>& files, comm::Communicator& comm);

class RunCheckpoint final : public kmeans::FitCheckpoint {
 public:
  /// Collective. Loads what an earlier session left when the fingerprint matches and the policy
  /// allows; a stale directory (other fingerprint) is replaced. ConfigError when the policy is
  /// `require` and there is nothing to resume.
  RunCheckpoint(CheckpointSettings settings, std::uint64_t fingerprint, comm::Communicator& comm);
  /// A run that ends before storing anything (bad input, bad settings) leaves no empty directory.
  ~RunCheckpoint() override;
  RunCheckpoint(const RunCheckpoint&) = delete;
  RunCheckpoint& operator=(const RunCheckpoint&) = delete;

  bool resuming() const noexcept { return resuming_; }
  const std::filesystem::path& directory() const noexcept { return settings_.directory; }

  /// Collective. The keys of this rank's K-means points (ascending; ranks in key order): labels
  /// are stored in that global order, so a run may resume at another rank count.
  void set_points(std::span<const std::uint64_t> keys);

  const kmeans::FinishedRun* finished(std::int64_t k, std::int64_t init) const override;
  const kmeans::LloydProgress* progress(std::int64_t k, std::int64_t init) const override;
  void run_finished(std::int64_t k, std::int64_t init, const kmeans::FinishedRun& run) override;
  bool after_iteration(std::int64_t k, std::int64_t init, const kmeans::LloydProgress& progress,
                       std::span<const std::int32_t> labels) override;

  /// The itemsets of a mining task finished in an earlier session, or an empty function.
  fpgrowth::StoredItemsets stored_itemsets(const std::string& task) const;
  /// Collective. Stores a finished mining task, then stops the run if a checkpoint was requested.
  void task_mined(const std::string& task, const fpgrowth::FrequentItemsets& itemsets);

  /// Collective. Throws Checkpointed when any rank received a checkpoint request (everything
  /// finished so far is already stored).
  void stop_if_requested(std::string_view where);

  /// Collective. The run is complete and its model committed: removes the directory.
  void remove();

 private:
  void write_kmeans(const kmeans::LloydProgress* progress, std::int64_t k, std::int64_t init, std::span<const std::int32_t> labels);
  std::filesystem::path task_file(const std::string& task) const;

  CheckpointSettings settings_;
  std::uint64_t fingerprint_;
  comm::Communicator& comm_;
  bool resuming_ = false;
  std::vector<std::uint64_t> keys_;
  std::map<std::pair<std::int64_t, std::int64_t>, kmeans::FinishedRun> finished_;
  // The run in progress as loaded (labels filled by set_points).
  std::optional<std::pair<std::int64_t, std::int64_t>> progress_run_;
  kmeans::LloydProgress progress_;
  Stopwatch since_last_;
};

}  // namespace mpiseg::pipeline
