#include "commands.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <functional>
#include <iostream>
#include <sstream>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/config.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/core/version.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/generate/generator.hpp"
#include "mpiseg/ingest/ingest.hpp"
#include "mpiseg/ingest/store.hpp"
#include "mpiseg/kmeans/kmeans.hpp"
#include "mpiseg/model/stage_groups.hpp"
#include "mpiseg/model/compare.hpp"
#include "mpiseg/model/export.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/model/propensity_group.hpp"
#include "mpiseg/model/recommend_group.hpp"
#include "mpiseg/model/summary.hpp"
#include "mpiseg/pipeline/input.hpp"
#include "mpiseg/pipeline/points.hpp"
#include "mpiseg/pipeline/run.hpp"
#include "mpiseg/pipeline/score.hpp"
#include "mpiseg/pipeline/stages.hpp"
#include "mpiseg/propensity/propensity.hpp"

namespace mpiseg::app {
namespace {

namespace po = boost::program_options;

struct Invocation {
  comm::Communicator& comm;
  JobConfig job;
  po::variables_map options;
  std::vector<std::string> positional;
};

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view positional_usage;  // shown in the usage line, e.g. "MODEL.h5"; "JOB.toml": the job file may be given here
  std::function<void(po::options_description&)> add_options;
  std::function<int(Invocation&)> run;
};

/// Every key of every section, in the order the README reference lists them.
std::vector<KeySpec> all_key_specs() {
  std::vector<KeySpec> keys;
  for (auto section : {generate::generate_keys(), ingest::input_keys(), pipeline::point_input_keys(), ingest::ingest_keys(), features::feature_keys(),
                       kmeans::kmeans_keys(), fpgrowth::fpgrowth_keys(), propensity::propensity_keys(),
                       recommend::recommend_keys(), pipeline::run_keys(), model::output_keys()})
    keys.insert(keys.end(), section.begin(), section.end());
  return keys;
}

void print(comm::Communicator& comm, std::string_view text) {
  if (comm.rank() != 0) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

/// Wall time and the peak resident memory of every rank, printed by rank 0.
void print_resource_summary(comm::Communicator& comm, std::string_view command, double seconds) {
  const std::vector<std::uint64_t> peaks = comm.allgather<std::uint64_t>(peak_rss_bytes());
  std::string per_rank;
  std::uint64_t largest = 0;
  for (std::size_t r = 0; r < peaks.size(); ++r) {
    largest = std::max(largest, peaks[r]);
    if (r < 8) per_rank += fmt::format("{}{:.0f}", r == 0 ? "" : " ", static_cast<double>(peaks[r]) / 1e6);
  }
  if (peaks.size() > 8) per_rank += " ...";
  log::info("{}: done in {:.3f} s on {} rank(s); peak memory per rank [MB]: {} (max {:.0f} MB)", command, seconds,
            comm.size(), per_rank, static_cast<double>(largest) / 1e6);
}

int run_generate(Invocation& call) {
  const auto settings = generate::GeneratorSettings::from_job(call.job);
  const auto counts = generate::generate_line_items(settings, call.comm);
  print(call.comm, fmt::format("line items: {} ({} lines)\n", settings.output.string(), counts.lines));
  if (!settings.truth.empty()) print(call.comm, fmt::format("truth:      {}\n", settings.truth.string()));
  return 0;
}

/// A standalone stage command (features, kmeans, fpgrowth, propensity, recommend) from its output
/// checks to its model file, with the provenance and stage costs `mpiseg run` records: the model
/// path is checked against the inputs (and, when the stage reads line items, against the rejects
/// file and store that reading writes) before anything is read; every measured stage, the write
/// included, lands in /run/stages.
class StandaloneStage {
 public:
  StandaloneStage(Invocation& call, std::string_view command, bool reads_transactions)
      : call_(call), path_(model::model_path(call.job)) {
    std::vector<pipeline::NamedPath> outputs = {{"[output] model", path_}};
    if (reads_transactions)
      for (auto& output : pipeline::transaction_outputs(call.job, path_)) outputs.push_back(std::move(output));
    pipeline::check_output_paths(outputs, pipeline::job_inputs(call.job));
    record_.command = command;
    record_.job_origin = call.job.origin();
    record_.job_text = call.job.file_text();
    record_.effective_settings = call.job.effective_toml();
    record_.started_utc = model::utc_now(call.comm);
  }

  const std::filesystem::path& path() const { return path_; }

  /// `compute()`, recorded as stage `name` with the figures `figures_of(result)` (collective).
  template <class Compute, class Figures>
  auto measure(std::string name, Compute&& compute, Figures&& figures_of) {
    pipeline::StageReport stage(std::move(name), call_.comm);
    auto result = compute();
    record_.stages.push_back(stage.finish(figures_of(result)));
    return result;
  }
  template <class Compute>
  auto measure(std::string name, Compute&& compute) {
    return measure(std::move(name), std::forward<Compute>(compute), [](const auto&) { return std::vector<model::StageFigure>{}; });
  }

  /// Line items, read as stage "ingest"; their input files and accounting go into /run.
  ingest::IngestResult load_transactions() {
    ingest::IngestResult data = measure(
        "ingest", [&] { return pipeline::load_transactions(call_.job, path_, call_.comm); }, pipeline::ingest_figures);
    record_.inputs = data.inputs;
    record_.accounting = data.accounting;
    record_.has_accounting = true;
    return data;
  }

  /// The model: its results (`write_results` under the root), then /run, then the rename that
  /// makes it visible.
  template <class WriteResults>
  void write_model(WriteResults&& write_results) {
    pipeline::StageReport stage("write", call_.comm);
    h5::File file = model::create_model_file(path_, call_.comm);
    h5::Group root = file.root();
    write_results(root);
    record_.stages.push_back(stage.finish());
    record_.finished_utc = model::utc_now(call_.comm);
    record_.wall_seconds = watch_.seconds();
    model::write_run(root, record_, call_.comm);
    file.commit();
  }

 private:
  Invocation& call_;
  Stopwatch watch_;
  std::filesystem::path path_;
  model::RunRecord record_;
};

int run_ingest(Invocation& call) {
  const auto settings = ingest::InputSettings::from_job(call.job);
  const auto policy = ingest::IngestPolicy::from_job(call.job);
  if (policy.store.empty()) throw ConfigError(fmt::format("{}: mpiseg ingest needs [ingest] store (the output path)", call.job.origin()));
  if (settings.format == ingest::InputFormat::store) throw ConfigError("mpiseg ingest reads csv or baskets, not a store");
  pipeline::check_output_paths(pipeline::transaction_outputs(call.job, policy.store), pipeline::job_inputs(call.job));
  const auto result = ingest::read_input(settings, policy, pipeline::rejects_path(call.job, policy.store), call.comm);
  ingest::write_store(policy.store, result, call.job.effective_toml(), call.comm);
  print(call.comm, fmt::format("store: {} ({} lines accepted of {} read)\n", policy.store.string(), result.accounting.accepted,
                               result.accounting.lines_read));
  return 0;
}

int run_features(Invocation& call) {
  const auto settings = features::FeatureSettings::from_job(call.job);
  StandaloneStage stage(call, "features", true);
  const ingest::IngestResult data = stage.load_transactions();
  const features::FeatureTable table = stage.measure("features", [&] { return features::build_features(settings, data, call.comm); });
  stage.write_model([&](h5::Group& root) { model::write_features(root, table); });
  print(call.comm, fmt::format("model: {} (/features: {} customers x {} features)\n", stage.path().string(), table.customers, table.cols()));
  return 0;
}

int run_kmeans(Invocation& call) {
  const auto settings = kmeans::KMeansSettings::from_job(call.job);
  StandaloneStage stage(call, "kmeans", false);
  const pipeline::PointTable table = pipeline::load_points(call.job, call.comm);
  const std::optional<kmeans::InitialCentroids> initial = pipeline::read_initial_centroids(settings, table.cols, call.comm);
  const kmeans::KMeansResult result = stage.measure(
      "kmeans", [&] { return kmeans::fit(settings, table.points(), call.comm, nullptr, initial ? &*initial : nullptr); },
      pipeline::kmeans_figures);
  stage.write_model([&](h5::Group& root) {
    if (table.from_features) model::write_features(root, table.features);
    model::write_kmeans(root, result, table.names,
                         table.from_features ? table.features.transforms : std::vector<features::FeatureTransform>{}, table.keys);
  });
  const auto& chosen = result.sweep[result.chosen];
  print(call.comm, fmt::format("model: {} (k = {}, {} iterations, {}, inertia {:.6g})\n", stage.path().string(), chosen.k, chosen.iterations,
                               chosen.stop_reason, chosen.inertia));
  return 0;
}

int run_fpgrowth(Invocation& call) {
  (void)fpgrowth::FpSettings::from_job(call.job);  // settings errors before the input is read
  StandaloneStage stage(call, "fpgrowth", true);
  ingest::IngestResult data = stage.load_transactions();
  const pipeline::BasketAnalysis analysis = stage.measure(
      "fpgrowth",
      [&] {
        // Only the baskets are mined: the line items need not wait beside them.
        const fpgrowth::Baskets baskets = fpgrowth::build_baskets(std::move(data.rows));
        return pipeline::analyse_baskets(call.job, baskets, data.items.size(), nullptr, nullptr, nullptr, call.comm);
      },
      [&](const pipeline::BasketAnalysis& done) { return pipeline::basket_figures(done, call.comm); });
  stage.write_model([&](h5::Group& root) { pipeline::write_basket_analysis(root, analysis, data.items); });
  print(call.comm, fmt::format("model: {} ({} itemsets, {} rules)\n", stage.path().string(), analysis.itemsets.total,
                               call.comm.allreduce<std::uint64_t>(analysis.rules.size(), comm::ReduceOp::sum)));
  return 0;
}

int run_propensity(Invocation& call) {
  (void)propensity::PropensitySettings::from_job(call.job);  // settings errors before the input is read
  const auto feature_settings = features::FeatureSettings::from_job(call.job);
  StandaloneStage stage(call, "propensity", true);
  const ingest::IngestResult data = stage.load_transactions();
  const features::FeatureTable table = stage.measure("features", [&] { return features::build_features(feature_settings, data, call.comm); });
  const propensity::PropensityResult result = stage.measure(
      "propensity", [&] { return pipeline::predict_propensity(call.job, data, table, nullptr, call.comm); },
      [&](const propensity::PropensityResult& done) { return pipeline::propensity_figures(done, call.comm); });
  stage.write_model([&](h5::Group& root) {
    model::write_features(root, table);
    model::write_propensity(root, result);
  });
  print(call.comm, fmt::format("model: {} (/propensity: {} target(s), cutoff {})\n", stage.path().string(), result.targets.size(),
                               format_date(result.cutoff)));
  return 0;
}

int run_recommend(Invocation& call) {
  const auto settings = recommend::RecommendSettings::from_job(call.job);  // settings errors before the input is read
  if (settings.uses(recommend::Method::segment_popularity))
    throw ConfigError("[recommend] methods: segment_popularity needs segments; mpiseg run with the kmeans stage gives them");
  if (settings.uses(recommend::Method::rules)) (void)fpgrowth::FpSettings::from_job(call.job);
  StandaloneStage stage(call, "recommend", true);
  const ingest::IngestResult data = stage.load_transactions();
  if (data.from_basket_file()) throw ConfigError("mpiseg recommend needs line items with customers; the input is a basket file");
  const recommend::RecommendResult result = stage.measure(
      "recommend", [&] { return pipeline::recommend_products(call.job, data, nullptr, nullptr, nullptr, call.comm); },
      [&](const recommend::RecommendResult& done) { return pipeline::recommend_figures(done, call.comm); });
  stage.write_model([&](h5::Group& root) { model::write_recommend(root, result, data.items); });
  print(call.comm, fmt::format("model: {} (/recommend: {} customers, {} methods, trained before {})\n", stage.path().string(), result.customers,
                               result.methods.size(), format_date(result.trained_until)));
  return 0;
}

/// The positional arguments a tool needs, or a ConfigError saying what is missing.
const std::vector<std::string>& require_positional(const Invocation& call, std::size_t count, std::string_view usage) {
  if (call.positional.size() != count) throw ConfigError(fmt::format("usage: {}", usage));
  return call.positional;
}

int run_run(Invocation& call) {
  const pipeline::RunSummary summary = pipeline::run_job(call.job, call.comm);
  if (call.comm.rank() == 0) {
    auto alone = comm::make_serial_communicator();
    print(call.comm, "\n" + model::summarize_model(summary.model, *alone, 5));
  }
  print(call.comm, fmt::format("\nmodel: {}\n", summary.model.string()));
  return 0;
}

int run_inspect(Invocation& call) {
  const auto& args = require_positional(call, 1, "mpiseg inspect MODEL.h5 [--json] [--top N]");
  const auto top = static_cast<std::size_t>(call.options["top"].as<int>());
  print(call.comm, call.options.count("json") ? model::model_json(args[0], call.comm, top) : model::summarize_model(args[0], call.comm, top));
  return 0;
}

int run_score(Invocation& call) {
  if (call.options.count("model") == 0) throw ConfigError("usage: mpiseg score --model MODEL.h5 [INPUT] [--out FILE.csv|FILE.h5]");
  if (call.positional.size() > 1) throw ConfigError("mpiseg score takes at most one INPUT (or set [input] path)");
  JobConfig job = call.job;
  if (!call.positional.empty()) {
    std::vector<std::string> sets = call.options.count("set") ? call.options["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    sets.push_back("input.path=" + call.positional[0]);
    job = JobConfig::parse(call.job.file_text(), call.job.origin() == "--set" ? "" : call.job.origin(), sets, call.job.schema());
  }
  const std::string out = call.options["out"].as<std::string>();
  std::vector<pipeline::NamedPath> outputs = {{"--out", out}};
  for (auto& output : pipeline::transaction_outputs(job, out)) outputs.push_back(std::move(output));
  std::vector<pipeline::NamedPath> inputs = pipeline::job_inputs(job);
  inputs.push_back({"--model", call.options["model"].as<std::string>()});
  pipeline::check_output_paths(outputs, inputs);
  const auto summary = pipeline::score_customers(job, call.options["model"].as<std::string>(), out, call.comm);
  print(call.comm, fmt::format("scores: {} ({} customers; per segment {})\n", out, summary.customers, fmt::join(summary.per_segment, " ")));
  return 0;
}

int run_compare(Invocation& call) {
  const auto& args = require_positional(call, 2, "mpiseg compare OLD.h5 NEW.h5 [--json]");
  const model::ModelComparison comparison = model::compare_models(args[0], args[1], call.comm);
  print(call.comm, call.options.count("json") ? model::comparison_json(comparison) : model::render_comparison(comparison));
  return 0;
}

int run_export(Invocation& call) {
  const auto& args = require_positional(call, 1, "mpiseg export MODEL.h5 --what assignments|rules|centroids|propensity|recommendations [--format csv] [--out FILE]");
  const std::string what = call.options["what"].as<std::string>();
  const std::string format = call.options["format"].as<std::string>();
  if (format != "csv") throw ConfigError(fmt::format("mpiseg export: --format {} is not supported (csv)", format));
  model::ExportWhat kind;
  if (what == "assignments") kind = model::ExportWhat::assignments;
  else if (what == "rules") kind = model::ExportWhat::rules;
  else if (what == "centroids") kind = model::ExportWhat::centroids;
  else if (what == "propensity") kind = model::ExportWhat::propensity;
  else if (what == "recommendations") kind = model::ExportWhat::recommendations;
  else throw ConfigError(fmt::format("mpiseg export: --what must be assignments, rules, centroids, propensity or recommendations, not '{}'", what));
  const std::string out = call.options["out"].as<std::string>();
  if (!out.empty() && out != "-") pipeline::check_output_paths({{"--out", out}}, {{"the model", args[0]}});
  model::export_csv(args[0], kind, call.options["out"].as<std::string>(), call.options["segment"].as<int>(), call.options.count("raw") != 0,
                    call.comm);
  return 0;
}

/// scripts/report.py: MPISEG_REPORT_SCRIPT, else the checkout the binary was built in (build/ or
/// any build directory inside it), else the source directory it was configured from.
std::filesystem::path report_script() {
  if (const char* configured = std::getenv("MPISEG_REPORT_SCRIPT")) return configured;
  std::error_code error;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
  for (auto dir = executable.parent_path(); !error && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    if (std::filesystem::exists(dir / "scripts" / "report.py")) return dir / "scripts" / "report.py";
  return std::filesystem::path(MPISEG_SOURCE_DIR) / "scripts" / "report.py";
}

int run_report(Invocation& call) {
  const auto& args = require_positional(call, 1, "mpiseg report MODEL.h5 --out DIR [--top N]");
  // Fail like the other tools on a file that is not a valid model (the same checks as inspect,
  // export and compare), before handing it to Python.
  model::validate_model_file(args[0], call.comm);
  std::int32_t status = 0;
  std::string index;
  if (call.comm.rank() == 0) {
    const char* python = std::getenv("MPISEG_PYTHON") ? std::getenv("MPISEG_PYTHON") : "/usr/bin/python3";
    const std::string script = report_script().string(), out = call.options["out"].as<std::string>(),
                      top = std::to_string(call.options["top"].as<int>());
    std::vector<const char*> argv = {python, script.c_str(), args[0].c_str(), out.c_str(), "--top", top.c_str(), nullptr};
    pid_t child = 0;
    if (posix_spawn(&child, python, nullptr, nullptr, const_cast<char* const*>(argv.data()), environ) != 0) {
      status = -1;
    } else {
      int wait_status = 0;
      while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {
      }
      status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    }
  }
  call.comm.broadcast(std::span(&status, 1), 0);
  // report.py's exit statuses: 3 a missing package, 4 an output it cannot write, 5 a model it
  // cannot use; its own message (above) says which file and why.
  if (status < 0 || status == 3)
    throw IoError(fmt::format("mpiseg report: {} {}; it needs Python 3 with h5py, numpy and matplotlib (Debian python3-h5py, "
                              "python3-numpy, python3-matplotlib)", report_script().string(),
                              status < 0 ? "could not start the Python interpreter" : "found a package missing"));
  if (status == 4) throw IoError(fmt::format("mpiseg report: cannot write the report into '{}' (see above)", call.options["out"].as<std::string>()));
  if (status == 5) throw IoError(fmt::format("mpiseg report: '{}' is damaged or incomplete (see above)", args[0]));
  if (status != 0) throw IoError(fmt::format("mpiseg report: {} failed with exit status {} (see its message above)", report_script().string(), status));
  return 0;
}

int run_config(Invocation& call) {
  if (call.options.count("reference") != 0) {
    print(call.comm, render_key_reference_markdown(call.job.schema()));
  } else if (call.options.count("get") != 0) {
    // One value, for scripts (slurm/pipeline.sh): strings bare, anything else as TOML.
    const std::string name = call.options["get"].as<std::string>();
    const auto dot = name.find('.');
    if (dot == std::string::npos) throw ConfigError(fmt::format("--get {}: expected SECTION.KEY", name));
    const toml::table settings = toml::parse(call.job.effective_toml());
    const toml::node_view value = settings[name.substr(0, dot)][name.substr(dot + 1)];
    if (!value) throw ConfigError(fmt::format("--get {}: no such key (see mpiseg config --reference)", name));
    std::ostringstream text;
    if (const auto* string = value.as_string())
      text << string->get();
    else
      text << value;
    print(call.comm, text.str() + "\n");
  } else {
    print(call.comm, call.job.effective_toml() + "\n");
  }
  return 0;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"generate", "write synthetic line items with planted segments and itemsets ([generate])", "",
       [](po::options_description&) {}, run_generate},
      {"ingest", "read line items or baskets ([input]) with validation and accounting into an HDF5 store ([ingest] store)", "",
       [](po::options_description&) {}, run_ingest},
      {"features", "compute customer features (RFM, behaviour) with exact global scaling into [output] model", "",
       [](po::options_description&) {}, run_features},
      {"kmeans", "distributed K-means on a feature file or a dense matrix ([input] format = features | matrix)", "",
       [](po::options_description&) {}, run_kmeans},
      {"fpgrowth", "distributed FP-growth and association rules on line items or basket files, into [output] model", "",
       [](po::options_description&) {}, run_fpgrowth},
      {"propensity", "churn and purchase-propensity models (logistic regression) on a time split, into [output] model", "",
       [](po::options_description&) {}, run_propensity},
      {"recommend", "next-product recommendations per customer (popularity, rules, item_cf, als) judged on a time split, into [output] model",
       "", [](po::options_description&) {}, run_recommend},
      {"run", "the whole job: ingest, features, K-means, FP-growth overall and per segment, propensity models, recommendations, one model file",
       "[JOB.toml]",
       [](po::options_description& options) {
         options.add_options()("resume", "continue from this job's checkpoint (an error if there is none; by default a "
                                         "matching checkpoint is used when present)");
       },
       run_run},
      {"inspect", "summary of a model file: provenance, segments and profiles, top rules (--json for programs)", "MODEL.h5",
       [](po::options_description& options) {
         options.add_options()("json", "print JSON")("top", po::value<int>()->default_value(10), "rules to show");
       },
       run_inspect},
      {"score", "assign the customers of new line items to a model's segments (its transform, its centroids)", "[INPUT]",
       [](po::options_description& options) {
         options.add_options()("model", po::value<std::string>(), "the model file")(
             "out", po::value<std::string>()->default_value("scores.csv"), "output: FILE.csv or FILE.h5");
       },
       run_score},
      {"compare", "match the segments of two models; drift, migration matrix, adjusted Rand index", "OLD.h5 NEW.h5",
       [](po::options_description& options) { options.add_options()("json", "print JSON"); }, run_compare},
      {"export", "a model's assignments, rules (sorted by lift), centroids, propensity scores or recommendations as CSV", "MODEL.h5",
       [](po::options_description& options) {
         options.add_options()("what", po::value<std::string>()->default_value("rules"), "assignments, rules, centroids, propensity or recommendations")(
             "format", po::value<std::string>()->default_value("csv"), "csv")(
             "segment", po::value<int>()->default_value(-1), "rules of this segment (default: all baskets)")(
             "out", po::value<std::string>()->default_value("-"), "output file (- : standard output)")(
             "raw", "write text cells as they are (by default a cell a spreadsheet would run as a formula, starting with =, +, -, @, "
                    "tab or CR, gets a leading ')");
       },
       run_export},
      {"report", "an HTML report of a model (plots, profiles, rules, comparison) in --out DIR, via scripts/report.py", "MODEL.h5",
       [](po::options_description& options) {
         options.add_options()("out", po::value<std::string>()->default_value("report"), "output directory (index.html, CSV files)")(
             "top", po::value<int>()->default_value(20), "rows per table (CSV files hold all)");
       },
       run_report},
      {"config", "print the effective settings of a job file, or the reference of all keys", "",
       [](po::options_description& options) {
         options.add_options()("reference", "print the job-file key reference as Markdown")(
             "get", po::value<std::string>(), "print one effective value, SECTION.KEY (for scripts)");
       },
       run_config},
  };
  return list;
}

std::string overview() {
  std::string text = fmt::format(
      "{}\nCustomer segmentation (RFM features, K-means) and basket analysis (FP-growth) as an MPI job.\n\n"
      "Usage: mpiexec -n RANKS mpiseg COMMAND [--config JOB.toml] [--set section.key=value ...] [options]\n"
      "       mpiseg --version | --help | COMMAND --help\n\nCommands:\n",
      version_line());
  for (const Command& command : commands()) text += fmt::format("  {:<10} {}\n", command.name, command.summary);
  text += "\nSettings come from a TOML job file and --set overrides; `mpiseg config --reference` lists every key.\n";
  return text;
}

}  // namespace

int run_command_line(std::span<char*> arguments, comm::Communicator& world) {
  if (arguments.empty()) {
    print(world, overview());
    return 2;
  }
  const std::string_view first = arguments[0];
  if (first == "--help" || first == "-h" || first == "help") {
    print(world, overview());
    return 0;
  }
  if (first == "--version") {
    print(world, version_line() + "\n");
    return 0;
  }
  const Command* command = nullptr;
  for (const Command& candidate : commands())
    if (candidate.name == first) command = &candidate;
  if (command == nullptr) throw ConfigError(fmt::format("unknown command '{}' (see mpiseg --help)", first));

  po::options_description visible(fmt::format("Usage: mpiseg {} [options] {}\n{}\n\nOptions", command->name,
                                              command->positional_usage, command->summary));
  visible.add_options()
      ("help,h", "show this help")
      ("config,c", po::value<std::string>(), "job file (TOML)")
      ("set,s", po::value<std::vector<std::string>>()->composing(), "override a job-file key: section.key=value (repeatable)")
      ("log-level", po::value<std::string>()->default_value("info"), "error, warn, info or debug");
  command->add_options(visible);
  po::options_description hidden;
  hidden.add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("positional", -1);

  po::variables_map options;
  try {
    // The command name takes the place of argv[0], which the parser skips.
    po::store(po::command_line_parser(static_cast<int>(arguments.size()), arguments.data())
                  .options(all)
                  .positional(positional)
                  .run(),
              options);
    po::notify(options);
  } catch (const po::error& error) {
    throw ConfigError(fmt::format("mpiseg {}: {}", command->name, error.what()));
  }
  if (options.count("help") != 0) {
    std::ostringstream text;
    text << visible << "\nJob-file keys: mpiseg config --reference\n";
    print(world, text.str());
    return 0;
  }
  log::configure(log::parse_level(options["log-level"].as<std::string>()), world.rank());

  std::string config_path = options.count("config") != 0 ? options["config"].as<std::string>() : "";
  std::vector<std::string> positional_arguments =
      options.count("positional") != 0 ? options["positional"].as<std::vector<std::string>>() : std::vector<std::string>{};
  // `mpiseg run jobs/NAME.toml`: the job file may be given positionally.
  if (command->positional_usage == "[JOB.toml]" && config_path.empty() && !positional_arguments.empty()) {
    config_path = positional_arguments.front();
    positional_arguments.erase(positional_arguments.begin());
  }
  std::vector<std::string> sets =
      options.count("set") != 0 ? options["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (options.count("resume") != 0) sets.emplace_back("run.resume=require");
  const std::vector<KeySpec> schema = all_key_specs();
  Invocation call{world, JobConfig::load(config_path, sets, schema), std::move(options), std::move(positional_arguments)};

  const bool tool = command->name == "config" || command->name == "inspect" || command->name == "compare" ||
                    command->name == "export" || command->name == "report";
  if (!tool) {
    // Models and stores keep the job file and the effective settings as HDF5 attributes, which
    // hold at most 64 KiB each: say so now rather than after the whole run.
    constexpr std::size_t kMaxStoredText = 60'000;
    const std::size_t job_bytes = call.job.file_text().size(), settings_bytes = call.job.effective_toml().size();
    if (std::max(job_bytes, settings_bytes) > kMaxStoredText)
      throw ConfigError(fmt::format("{}: the job file ({} bytes) or its effective settings ({} bytes) exceed the {} bytes a model can "
                                    "store as provenance; shorten it (long lists of paths: use a glob in [input] path)",
                                    call.job.origin(), job_bytes, settings_bytes, kMaxStoredText));
  }
  const Stopwatch watch;
  const int status = command->run(call);
  if (!tool) print_resource_summary(world, command->name, watch.seconds());
  return status;
}

}  // namespace mpiseg::app
