#include "mpiseg/model/summary.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <optional>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/json.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/model/model_file.hpp"
#include "mpiseg/model/model_reader.hpp"
#include "mpiseg/model/recommend_group.hpp"

namespace mpiseg::model {
namespace {

/// Everything inspect shows, read once.
struct ModelView {
  std::string path;
  // /run
  bool has_run = false;
  std::string command, version, revision, host, started, finished, job_file;
  std::int64_t ranks = 0;
  std::vector<std::string> inputs;
  std::string data_first, data_last;  // empty without line items
  bool has_accounting = false;
  std::int64_t lines_read = 0, accepted = 0, rejected = 0, malformed = 0;
  std::vector<std::pair<std::string, std::uint64_t>> rejects;
  // /features
  bool has_features = false;
  std::int64_t customers = 0, excluded = 0;
  std::string reference_date;
  std::vector<std::string> feature_names;
  std::vector<std::string> segment_features;  // /kmeans/feature_names: the profile's columns
  // /kmeans
  bool has_kmeans = false;
  std::int64_t k = 0, iterations = 0;
  std::string converged, selection;
  double inertia = 0;
  std::vector<std::int64_t> sweep_k;
  std::vector<double> sweep_silhouette;
  std::vector<std::uint64_t> sizes;
  std::vector<double> revenue_share, median;
  bool has_profile = false;
  // /fpgrowth
  struct Rules {
    std::string name;
    std::int64_t baskets = 0, itemsets = 0, rule_count = 0;
    std::vector<std::string> top;  // "A B -> C" with metrics
    std::vector<double> top_lift, top_confidence, top_support;
  };
  bool has_fpgrowth = false;
  Rules overall;
  std::vector<Rules> segments;
  // /propensity
  struct PropensityRow {
    std::string model;    // "all customers", "segment 2"
    std::string skipped;  // non-empty: no model
    std::string scores_from;
    std::int64_t iterations = 0;
    std::string convergence;
    struct Metrics {
      bool present = false;
      std::int64_t customers = 0;
      double base_rate = 0, auc = 0, log_loss = 0, brier = 0, lift = 0, capture = 0;
    } training, validation, global_here;
  };
  struct PropensityTarget {
    std::string target;
    std::vector<PropensityRow> rows;
  };
  bool has_propensity = false;
  std::string cutoff, trained_at, validation_note;
  std::int64_t horizon_days = 0;
  std::vector<PropensityTarget> targets;
  // /recommend
  std::optional<StoredRecommendations> recommend;
};

ModelView::PropensityRow::Metrics read_score_metrics(const h5::Group& parent, std::string_view name) {
  ModelView::PropensityRow::Metrics m;
  if (!parent.exists(name)) return m;
  const h5::Group group = parent.open_group(name);
  m.present = true;
  m.customers = group.read_int_attribute("customers");
  m.base_rate = group.read_double_attribute("base_rate");
  m.auc = group.read_double_attribute("auc");
  m.log_loss = group.read_double_attribute("log_loss");
  m.brier = group.read_double_attribute("brier");
  m.lift = group.read_double_attribute("top_decile_lift");
  m.capture = group.read_double_attribute("top_decile_capture");
  return m;
}

ModelView::PropensityRow read_propensity_row(const h5::Group& group, std::string model) {
  ModelView::PropensityRow row;
  row.model = std::move(model);
  if (group.has_attribute("skipped")) row.skipped = group.read_string_attribute("skipped");
  if (group.has_attribute("scores_from")) row.scores_from = group.read_string_attribute("scores_from");
  if (row.skipped.empty()) {
    row.iterations = group.read_int_attribute("iterations");
    row.convergence = group.read_string_attribute("convergence");
    row.training = read_score_metrics(group, "training");
    row.validation = read_score_metrics(group, "validation");
  }
  row.global_here = read_score_metrics(group, "validation_of_global_model");
  return row;
}

std::string item_list(std::span<const std::uint32_t> itemset, const ItemNames& names) {
  std::string text;
  for (const std::uint32_t item : itemset) {
    if (!text.empty()) text += ", ";
    const std::string& description = names.description.at(item);
    text += description.empty() ? names.code.at(item) : fmt::format("{} ({})", names.code.at(item), description);
  }
  return text;
}

ModelView::Rules read_rules(const h5::Group& group, const std::string& name, const ItemNames& items, std::size_t top) {
  ModelView::Rules rules;
  rules.name = name;
  rules.baskets = group.read_int_attribute("baskets");
  rules.itemsets = group.read_int_attribute("itemset_count");
  const h5::Group table = group.open_group("rules");
  rules.rule_count = table.read_int_attribute("rule_count");
  const RuleColumns columns = read_rule_columns(table, items.code.size());
  for (const std::size_t r : columns.by_lift(top)) {
    rules.top.push_back(fmt::format("{} -> {}", item_list(columns.antecedent_of(r), items), item_list(columns.consequent_of(r), items)));
    rules.top_lift.push_back(columns.lift[r]);
    rules.top_confidence.push_back(columns.confidence[r]);
    rules.top_support.push_back(columns.support[r]);
  }
  return rules;
}

ModelView read_view(const std::filesystem::path& path, comm::Communicator& comm, std::size_t top_rules) {
  ModelView view;
  view.path = path.string();
  h5::File file = open_model_file(path, comm);
  const h5::Group root = file.root();
  if (root.exists("run")) {
    const h5::Group run = root.open_group("run");
    view.has_run = true;
    view.command = run.read_string_attribute("command");
    view.version = run.read_string_attribute("tool_version");
    view.revision = run.read_string_attribute("git_revision");
    view.host = run.read_string_attribute("host");
    view.started = run.read_string_attribute("started");
    view.finished = run.read_string_attribute("finished");
    view.job_file = run.read_string_attribute("job_file");
    view.ranks = run.read_int_attribute("rank_count");
    if (run.has_attribute("data_first_timestamp")) {
      view.data_first = run.read_string_attribute("data_first_timestamp");
      view.data_last = run.read_string_attribute("data_last_timestamp");
    }
    if (run.exists("inputs")) view.inputs = h5::read_strings(run.open_group("inputs"), "path");
    if (run.exists("accounting")) {
      const h5::Group accounting = run.open_group("accounting");
      view.has_accounting = true;
      view.lines_read = accounting.read_int_attribute("lines_read");
      view.accepted = accounting.read_int_attribute("accepted");
      view.rejected = accounting.read_int_attribute("rejected");
      view.malformed = accounting.read_int_attribute("malformed");
      const auto reasons = h5::read_strings(accounting, "reason");
      const auto counts = h5::read_all<std::uint64_t>(accounting, "count");
      for (std::size_t i = 0; i < reasons.size(); ++i)
        if (counts.at(i) != 0) view.rejects.emplace_back(reasons[i], counts[i]);
    }
  }
  if (root.exists("features")) {
    const h5::Group features = root.open_group("features");
    view.has_features = true;
    view.customers = features.read_int_attribute("customers");
    view.excluded = features.read_int_attribute("excluded_no_purchase");
    view.reference_date = features.read_string_attribute("reference_date");
    view.feature_names = h5::read_strings(features, "names");
  }
  if (root.exists("kmeans")) {
    const h5::Group kmeans = root.open_group("kmeans");
    view.has_kmeans = true;
    view.k = kmeans.read_int_attribute("k");
    view.iterations = kmeans.read_int_attribute("iterations");
    view.converged = kmeans.read_string_attribute("converged_reason");
    view.selection = kmeans.read_string_attribute("selection");
    view.inertia = kmeans.read_double_attribute("inertia");
    const KMeansGroup segments = read_kmeans_group(root);
    view.sizes = segments.sizes;
    // The profile's columns are the segmentation's features.
    view.segment_features = segments.feature_names;
    if (view.feature_names.empty()) view.feature_names = segments.feature_names;
    const h5::Group sweep = kmeans.open_group("sweep");
    view.sweep_k = h5::read_all<std::int64_t>(sweep, "k");
    view.sweep_silhouette = h5::read_all<double>(sweep, "silhouette");
    if (kmeans.exists("profile")) {
      const h5::Group profile = kmeans.open_group("profile");
      view.has_profile = true;
      view.revenue_share = h5::read_all<double>(profile, "revenue_share");
      view.median = h5::read_all<double>(profile, "median");
      if (view.revenue_share.size() != segments.k || view.median.size() != segments.k * segments.feature_names.size())
        throw IoError(fmt::format("{}: /kmeans/profile has {} revenue shares and {} medians for {} segments of {} features", view.path,
                                  view.revenue_share.size(), view.median.size(), segments.k, segments.feature_names.size()));
    }
  }
  if (root.exists("fpgrowth")) {
    const h5::Group fp = root.open_group("fpgrowth");
    view.has_fpgrowth = true;
    const ItemNames items = read_item_names(fp);
    view.overall = read_rules(fp, "all baskets", items, top_rules);
    const std::int64_t segments = fp.has_attribute("segments") ? fp.read_int_attribute("segments") : 0;
    for (std::int64_t s = 0; s < segments; ++s)
      view.segments.push_back(read_rules(fp.open_group(fmt::format("segment_{}", s)), fmt::format("segment {}", s), items,
                                         std::min<std::size_t>(top_rules, 3)));
  }
  if (root.exists("propensity")) {
    const h5::Group group = root.open_group("propensity");
    view.has_propensity = true;
    view.cutoff = group.read_string_attribute("cutoff_date");
    view.trained_at = group.read_string_attribute("trained_at_date");
    view.validation_note = group.read_string_attribute("validation");
    view.horizon_days = group.read_int_attribute("horizon_days");
    const std::int64_t segments = group.read_int_attribute("segments");
    for (const std::string& name : h5::read_strings(group, "targets")) {
      if (name.empty() || name.find('/') != std::string::npos || !group.exists(name))
        throw IoError(fmt::format("{}: target '{}' has no group", group.describe("targets"), name));
      const h5::Group target_group = group.open_group(name);
      ModelView::PropensityTarget target;
      target.target = target_group.read_string_attribute("target");
      target.rows.push_back(read_propensity_row(target_group, "all customers"));
      for (std::int64_t seg = 0; seg < segments && seg < 100000; ++seg)
        if (target_group.exists(fmt::format("segment_{}", seg)))
          target.rows.push_back(read_propensity_row(target_group.open_group(fmt::format("segment_{}", seg)), fmt::format("segment {}", seg)));
      view.targets.push_back(std::move(target));
    }
  }
  if (root.exists("recommend")) view.recommend = read_recommend(root, false);
  file.close();
  return view;
}

template <class T, class F>
std::string json_array(const std::vector<T>& values, F&& format) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + format(values[i]);
  return out + "]";
}

std::string rules_json(const ModelView::Rules& rules) {
  std::string top = "[";
  for (std::size_t i = 0; i < rules.top.size(); ++i)
    top += fmt::format("{}{{\"rule\": {}, \"lift\": {}, \"confidence\": {}, \"support\": {}}}", i ? ", " : "", json_string(rules.top[i]),
                       json_number(rules.top_lift[i]), json_number(rules.top_confidence[i]), json_number(rules.top_support[i]));
  top += "]";
  return fmt::format("{{\"baskets\": {}, \"itemsets\": {}, \"rules\": {}, \"top_rules\": {}}}", rules.baskets, rules.itemsets,
                     rules.rule_count, top);
}

}  // namespace

std::string summarize_model(const std::filesystem::path& path, comm::Communicator& comm, std::size_t top_rules) {
  const ModelView v = read_view(path, comm, top_rules);
  std::string text = fmt::format("model {}\n", v.path);
  if (v.has_run)
    text += fmt::format("  written by `mpiseg {}` ({} rev {}) on {} rank(s) at {}, {} .. {}; job {}\n", v.command, v.version, v.revision,
                        v.ranks, v.host, v.started, v.finished, v.job_file);
  for (const auto& input : v.inputs) text += fmt::format("  input {}\n", input);
  if (!v.data_first.empty()) text += fmt::format("  line items from {} to {}\n", v.data_first, v.data_last);
  if (v.has_accounting) {
    text += fmt::format("  lines read {}, accepted {}, rejected {} ({} malformed)", v.lines_read, v.accepted, v.rejected, v.malformed);
    for (const auto& [reason, count] : v.rejects) text += fmt::format("; {} {}", reason, count);
    text += "\n";
  }
  if (v.has_features)
    text += fmt::format("features: {} customers ({} without a purchase excluded), reference date {}; {}\n", v.customers, v.excluded,
                        v.reference_date, fmt::join(v.feature_names, ", "));
  if (v.has_kmeans) {
    text += fmt::format("segments: k = {}{}; {} iterations ({}), inertia {:.6g}\n", v.k,
                        v.sweep_k.size() > 1 ? fmt::format(" chosen by {} from {}", v.selection, fmt::join(v.sweep_k, ", ")) : "",
                        v.iterations, v.converged, v.inertia);
    std::uint64_t total = 0;
    for (std::uint64_t size : v.sizes) total += size;
    const std::size_t d = v.segment_features.size(), shown = std::min<std::size_t>(d, 8);
    std::vector<std::size_t> width(shown);
    for (std::size_t j = 0; j < shown; ++j) width[j] = std::max<std::size_t>(10, v.segment_features[j].size());
    text += fmt::format("  {:>7} {:>10} {:>7} {:>8}", "segment", "customers", "share", "revenue");
    for (std::size_t j = 0; j < shown; ++j) text += fmt::format(" {:>{}}", v.segment_features[j], width[j]);
    text += v.has_profile ? "   (medians, original units)\n" : "\n";
    for (std::size_t s = 0; s < v.sizes.size(); ++s) {
      text += fmt::format("  {:>7} {:>10} {:>6.1f}% {:>7.1f}%", s, v.sizes[s], 100.0 * static_cast<double>(v.sizes[s]) / static_cast<double>(std::max<std::uint64_t>(total, 1)),
                          v.has_profile ? 100.0 * v.revenue_share[s] : 0.0);
      if (v.has_profile)
        for (std::size_t j = 0; j < shown; ++j) text += fmt::format(" {:>{}.6g}", v.median[s * d + j], width[j]);
      text += "\n";
    }
  }
  if (v.has_fpgrowth) {
    auto show = [&](const ModelView::Rules& rules, const char* indent) {
      text += fmt::format("{}{}: {} baskets, {} itemsets, {} rules\n", indent, rules.name, rules.baskets, rules.itemsets, rules.rule_count);
      for (std::size_t i = 0; i < rules.top.size(); ++i)
        text += fmt::format("{}  lift {:7.2f}  confidence {:.2f}  support {:.4f}  {}\n", indent, rules.top_lift[i], rules.top_confidence[i],
                            rules.top_support[i], rules.top[i]);
    };
    text += "basket rules (top by lift):\n";
    show(v.overall, "  ");
    for (const auto& segment : v.segments) show(segment, "  ");
  }
  if (v.has_propensity) {
    text += fmt::format("propensity: targets in the {} days after {}; stored models trained at {}; validation {}\n", v.horizon_days,
                        v.cutoff, v.trained_at, v.validation_note);
    for (const auto& target : v.targets) {
      text += fmt::format("  {}\n  {:<14} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>9}  {}\n", target.target, "model", "customers",
                          "base rate", "AUC", "log loss", "top-10% lift", "capture", "global AUC", "(validation; else training)");
      for (const auto& row : target.rows) {
        if (!row.skipped.empty()) {
          text += fmt::format("  {:<14} no model: {}\n", row.model, row.skipped);
          continue;
        }
        const auto& m = row.validation.present ? row.validation : row.training;
        text += fmt::format("  {:<14} {:>9} {:>9.4f} {:>8.4f} {:>9.4f} {:>12.2f} {:>8.3f} {:>9}  {} iterations ({}){}\n", row.model,
                            m.customers, m.base_rate, m.auc, m.log_loss, m.lift, m.capture,
                            row.global_here.present ? fmt::format("{:.4f}", row.global_here.auc) : std::string("-"), row.iterations,
                            row.convergence, row.scores_from.empty() ? "" : "; scores from " + row.scores_from);
      }
    }
  }
  if (v.recommend) {
    const StoredRecommendations& r = *v.recommend;
    text += fmt::format("recommendations: top {} per customer for {} customers, trained on lines before {}{}\n", r.n, r.customers,
                        format_date(r.trained_until),
                        r.customers_without_purchase > 0
                            ? fmt::format(" ({} more have only returns or cancellations: none for them)", r.customers_without_purchase)
                            : std::string());
    if (r.cutoff >= 0) {
      text += fmt::format("  judged on {} customers' new items from {} to {} ({} more bought only then: cold start, not judged)\n",
                          r.evaluated_customers, r.cutoff_date, r.data_end_date, r.cold_start_customers);
      text += fmt::format("  {:<20} {:>12} {:>10} {:>8} {:>8} {:>9}\n", "method", fmt::format("precision@{}", r.n),
                          fmt::format("recall@{}", r.n), fmt::format("MAP@{}", r.n), fmt::format("NDCG@{}", r.n), "coverage");
      for (const StoredMethod& method : r.methods) {
        const recommend::RankingMetrics& m = method.evaluation.at(0);
        text += fmt::format("  {:<20} {:>12.4f} {:>10.4f} {:>8.4f} {:>8.4f} {:>9.3f}\n", method.name, m.precision, m.recall, m.map,
                            m.ndcg, m.coverage);
      }
      if (r.segments > 0) {
        text += fmt::format("  {:<20}", fmt::format("recall@{} by segment", r.n));
        for (std::int64_t s = 0; s < r.segments; ++s) text += fmt::format(" {:>8}", fmt::format("seg {}", s));
        text += "\n";
        for (const StoredMethod& method : r.methods) {
          text += fmt::format("  {:<20}", method.name);
          for (std::size_t s = 1; s < method.evaluation.size(); ++s)
            text += method.evaluation[s].customers == 0 ? fmt::format(" {:>8}", "-") : fmt::format(" {:>8.4f}", method.evaluation[s].recall);
          text += "\n";
        }
      }
    } else {
      text += "  not judged on a time split ([recommend] validate = false)\n";
    }
  }
  return text;
}

std::string model_json(const std::filesystem::path& path, comm::Communicator& comm, std::size_t top_rules) {
  const ModelView v = read_view(path, comm, top_rules);
  std::string json = fmt::format("{{\"model\": {}", json_string(v.path));
  if (v.has_run)
    json += fmt::format(", \"run\": {{\"command\": {}, \"version\": {}, \"git_revision\": {}, \"ranks\": {}, \"host\": {}, \"started\": {}, "
                        "\"finished\": {}, \"job_file\": {}, \"inputs\": {}, \"data_first_timestamp\": {}, \"data_last_timestamp\": {}}}",
                        json_string(v.command), json_string(v.version), json_string(v.revision), v.ranks, json_string(v.host),
                        json_string(v.started), json_string(v.finished), json_string(v.job_file),
                        json_array(v.inputs, [](const std::string& s) { return json_string(s); }),
                        v.data_first.empty() ? "null" : json_string(v.data_first), v.data_last.empty() ? "null" : json_string(v.data_last));
  if (v.has_accounting) {
    std::string reasons = "{";
    for (std::size_t i = 0; i < v.rejects.size(); ++i) reasons += fmt::format("{}{}: {}", i ? ", " : "", json_string(v.rejects[i].first), v.rejects[i].second);
    reasons += "}";
    json += fmt::format(", \"accounting\": {{\"lines_read\": {}, \"accepted\": {}, \"rejected\": {}, \"malformed\": {}, \"rejected_by_reason\": {}}}",
                        v.lines_read, v.accepted, v.rejected, v.malformed, reasons);
  }
  if (v.has_features)
    json += fmt::format(", \"features\": {{\"customers\": {}, \"excluded_no_purchase\": {}, \"reference_date\": {}, \"names\": {}}}", v.customers,
                        v.excluded, json_string(v.reference_date), json_array(v.feature_names, [](const std::string& s) { return json_string(s); }));
  if (v.has_kmeans) {
    const std::size_t d = v.segment_features.size();
    std::string segments = "[";
    for (std::size_t s = 0; s < v.sizes.size(); ++s) {
      segments += fmt::format("{}{{\"segment\": {}, \"customers\": {}", s ? ", " : "", s, v.sizes[s]);
      if (v.has_profile) {
        segments += fmt::format(", \"revenue_share\": {}, \"median\": {{", json_number(v.revenue_share[s]));
        for (std::size_t j = 0; j < d; ++j) segments += fmt::format("{}{}: {}", j ? ", " : "", json_string(v.segment_features[j]), json_number(v.median[s * d + j]));
        segments += "}";
      }
      segments += "}";
    }
    segments += "]";
    json += fmt::format(", \"kmeans\": {{\"k\": {}, \"iterations\": {}, \"converged_reason\": {}, \"inertia\": {}, \"selection\": {}, \"sweep_k\": {}, "
                        "\"sweep_silhouette\": {}, \"segments\": {}}}",
                        v.k, v.iterations, json_string(v.converged), json_number(v.inertia), json_string(v.selection),
                        json_array(v.sweep_k, [](std::int64_t k) { return std::to_string(k); }),
                        json_array(v.sweep_silhouette, [](double s) { return json_number(s); }), segments);
  }
  if (v.has_fpgrowth) {
    std::string segments = "[";
    for (std::size_t s = 0; s < v.segments.size(); ++s) segments += (s ? ", " : "") + rules_json(v.segments[s]);
    json += fmt::format(", \"fpgrowth\": {{\"overall\": {}, \"segments\": {}]}}", rules_json(v.overall), segments);
  }
  if (v.has_propensity) {
    const auto metrics_json = [](const ModelView::PropensityRow::Metrics& m) {
      if (!m.present) return std::string("null");
      return fmt::format("{{\"customers\": {}, \"base_rate\": {}, \"auc\": {}, \"log_loss\": {}, \"brier\": {}, \"top_decile_lift\": {}, "
                         "\"top_decile_capture\": {}}}",
                         m.customers, json_number(m.base_rate), json_number(m.auc), json_number(m.log_loss), json_number(m.brier),
                         json_number(m.lift), json_number(m.capture));
    };
    std::string targets = "[";
    for (std::size_t t = 0; t < v.targets.size(); ++t) {
      std::string rows = "[";
      for (std::size_t r = 0; r < v.targets[t].rows.size(); ++r) {
        const auto& row = v.targets[t].rows[r];
        rows += fmt::format("{}{{\"model\": {}, \"skipped\": {}, \"iterations\": {}, \"convergence\": {}, \"scores_from\": {}, "
                            "\"training\": {}, \"validation\": {}, \"validation_of_global_model\": {}}}",
                            r ? ", " : "", json_string(row.model), row.skipped.empty() ? "null" : json_string(row.skipped), row.iterations,
                            json_string(row.convergence), row.scores_from.empty() ? "null" : json_string(row.scores_from),
                            metrics_json(row.training), metrics_json(row.validation), metrics_json(row.global_here));
      }
      targets += fmt::format("{}{{\"target\": {}, \"models\": {}]}}", t ? ", " : "", json_string(v.targets[t].target), rows);
    }
    json += fmt::format(", \"propensity\": {{\"cutoff\": {}, \"trained_at\": {}, \"horizon_days\": {}, \"validation\": {}, \"targets\": {}]}}",
                        json_string(v.cutoff), json_string(v.trained_at), v.horizon_days, json_string(v.validation_note), targets);
  }
  if (v.recommend) {
    const StoredRecommendations& r = *v.recommend;
    std::string methods = "[";
    for (std::size_t m = 0; m < r.methods.size(); ++m) {
      std::string rows = "[";
      for (std::size_t s = 0; s < r.methods[m].evaluation.size(); ++s) {
        const recommend::RankingMetrics& e = r.methods[m].evaluation[s];
        rows += fmt::format("{}{{\"segment\": {}, \"customers\": {}, \"precision\": {}, \"recall\": {}, \"map\": {}, \"ndcg\": {}, "
                            "\"coverage\": {}}}",
                            s ? ", " : "", s == 0 ? std::string("null") : std::to_string(s - 1), e.customers, json_number(e.precision),
                            json_number(e.recall), json_number(e.map), json_number(e.ndcg), json_number(e.coverage));
      }
      methods += fmt::format("{}{{\"method\": {}, \"evaluation\": {}]}}", m ? ", " : "", json_string(r.methods[m].name), rows);
    }
    json += fmt::format(", \"recommend\": {{\"n\": {}, \"customers\": {}, \"customers_without_purchase\": {}, \"trained_until\": {}, \"cutoff\": {}, \"evaluated_customers\": {}, "
                        "\"cold_start_customers\": {}, \"methods\": {}]}}",
                        r.n, r.customers, r.customers_without_purchase, json_string(format_date(r.trained_until)), r.cutoff >= 0 ? json_string(r.cutoff_date) : "null",
                        r.evaluated_customers, r.cold_start_customers, methods);
  }
  return json + "}\n";
}

}  // namespace mpiseg::model
