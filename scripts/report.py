"""The analyst report of an mpiseg model: one self-contained HTML page (plots embedded as PNG)
plus CSV files with the full tables beside it. `mpiseg report MODEL.h5 --out DIR` runs it.

    /usr/bin/python3 scripts/report.py MODEL.h5 DIR [--top N]

Sections (HTML ids): summary, choosing-k, segments, rules, propensity, recommendations, comparison. A section whose group is
missing from the model (a partial model: fpgrowth only, say) says so instead. Tables show the top
N rows (rules by lift); the CSV files hold everything, so k = 50 and 1e5 rules still open fast.
Colours: one per segment (tab10, tab20 beyond 10 segments, a sampled colormap beyond 20), the same
in every plot.
"""
import argparse
import base64
import csv
import html
import io
import math
import os
import sys

# Exit statuses that `mpiseg report` tells apart: a missing package, an output it cannot write,
# a model it cannot use.
EXIT_MISSING_PACKAGE, EXIT_CANNOT_WRITE, EXIT_BAD_MODEL = 3, 4, 5

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
    import numpy as np  # noqa: E402

    import mpiseg_model  # noqa: E402 (beside this script)
except ImportError as missing:
    print(f"report: missing Python package: {missing} (Debian: python3-h5py python3-matplotlib python3-numpy)", file=sys.stderr)
    sys.exit(EXIT_MISSING_PACKAGE)

# Words for a segment's description: (low, high) relative to the population, per feature.
WORDS = {
    "recency_days": ("recent", "lapsed"),
    "frequency": ("infrequent", "frequent"),
    "monetary": ("low spend", "high spend"),
    "avg_basket_value": ("small baskets", "large baskets"),
    "avg_items_per_basket": ("few items per basket", "many items per basket"),
    "tenure_days": ("new", "long-standing"),
    "distinct_items": ("narrow range", "broad range"),
    "return_rate": ("few returns", "many returns"),
    "mean_days_between_purchases": ("short gaps between purchases", "long gaps between purchases"),
}
UNITS = {
    "recency_days": "days", "tenure_days": "days", "mean_days_between_purchases": "days", "frequency": "baskets",
    "monetary": "currency", "avg_basket_value": "currency per basket", "avg_items_per_basket": "items per basket",
    "distinct_items": "items", "return_rate": "share of lines",
}


def text(value):
    """A list of str for a text dataset (the model reader decodes text already)."""
    return list(value) if isinstance(value, np.ndarray) and value.dtype.kind == "O" else value


def number(value, digits=2):
    """Thousands separators for counts, fixed decimals otherwise."""
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:,.{digits}f}"


def escape(value):
    return html.escape(str(value))


def segment_colours(k):
    if k <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(k)]
    if k <= 20:
        cmap = plt.get_cmap("tab20")
        return [cmap(i) for i in range(k)]
    cmap = plt.get_cmap("gist_ncar")
    return [cmap(0.05 + 0.9 * i / (k - 1)) for i in range(k)]


def figure_html(figure, alt):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{escape(alt)}</figcaption></figure>'


def table_html(header, rows, classes=""):
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def spreadsheet_safe(cell):
    """A text cell that a spreadsheet would run as a formula gets a leading quote (OWASP CSV
    injection); numbers, and text that reads as a number, stay as they are (as mpiseg export)."""
    if not isinstance(cell, str) or not cell or cell[0] not in "=+-@\t\r":
        return cell
    if cell[0] in "+-":
        try:
            float(cell)
            return cell
        except ValueError:
            pass
    return "'" + cell


def write_atomically(path, text):
    """The whole file or nothing at `path` (a full disk leaves no partial file)."""
    temporary = path + ".tmp"
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, OSError) and error.filename is None:
            raise OSError(error.errno, error.strerror, path) from error  # name the file (a full disk says only ENOSPC)
        raise


def write_csv(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    write_atomically(path, buffer.getvalue())


class Report:
    def __init__(self, model_path, out, top):
        self.path = model_path
        self.out = out
        self.top = top
        self.model = mpiseg_model.open_model(model_path)
        self.sections = []
        self.k = int(self.model["kmeans"].attrs["k"]) if "kmeans" in self.model else 0
        self.colours = segment_colours(max(self.k, 1))
        self.descriptions = []

    def csv_link(self, name, header, rows, label):
        write_csv(os.path.join(self.out, name), header, rows)
        return f'<p class="csv"><a href="{escape(name)}">{escape(label)}</a> ({number(len(rows))} rows, CSV)</p>'

    # ---------------------------------------------------------------- run summary
    def summary(self):
        m = self.model
        parts = []
        rows = [("model", escape(self.path))]
        if "run" in m:
            run = m["run"].attrs
            rows += [("command", escape(f"mpiseg {text(run['command'])}")),
                     ("mpiseg", escape(f"{text(run['tool_version'])} (git {text(run['git_revision'])})")),
                     ("job file", escape(text(run["job_file"]))),
                     ("ranks", number(int(run["rank_count"]))),
                     ("host", escape(text(run["host"]))),
                     ("started / finished (UTC)", escape(f"{text(run['started'])} / {text(run['finished'])}")),
                     ("wall time", f"{float(run['wall_seconds']):.1f} s")]
            if "data_first_timestamp" in run:
                rows.append(("data period", escape(f"{text(run['data_first_timestamp'])} to {text(run['data_last_timestamp'])}")))
            if "inputs" in m["run"]:
                for path, size in zip(text(m["run/inputs/path"][:]), m["run/inputs/size"][:]):
                    rows.append(("input", escape(f"{path} ({int(size):,} bytes)")))
        if "features" in m:
            f = m["features"].attrs
            rows += [("customers", f'<span id="customers">{number(int(f["customers"]))}</span>'),
                     ("customers without a purchase (excluded)", number(int(f["excluded_no_purchase"]))),
                     ("reference date", escape(text(f["reference_date"])))]
        if "fpgrowth" in m:
            rows.append(("baskets", f'<span id="baskets">{number(int(m["fpgrowth"].attrs["baskets"]))}</span>'))
        parts.append(table_html(["", ""], rows, "keyvalue"))
        if "run" in m and "accounting" in m["run"]:
            a = m["run/accounting"]
            attrs = a.attrs
            read, accepted, rejected = int(attrs["lines_read"]), int(attrs["accepted"]), int(attrs["rejected"])
            parts.append("<h3>Line items</h3>")
            parts.append(table_html(["lines read", "header", "blank", "accepted", "rejected", "of which malformed"],
                                    [[f'<span id="lines-read">{number(read)}</span>', number(int(attrs["header"])),
                                      number(int(attrs["blank"])), f'<span id="accepted">{number(accepted)}</span>',
                                      f'<span id="rejected">{number(rejected)}</span>', number(int(attrs["malformed"]))]]))
            explanations = text(a["explanation"][:]) if "explanation" in a else [""] * len(a["reason"])
            reasons = [(r, int(c), bool(x), e) for r, c, x, e in zip(text(a["reason"][:]), a["count"][:], a["malformed"][:], explanations) if c]
            if reasons:
                parts.append(table_html(["rejected because", "lines", "kind", "meaning"],
                                        [[escape(r), number(c), "malformed" if x else "policy", escape(e)] for r, c, x, e in reasons]))
            parts.append(f"<p>Accepted lines flagged: {number(int(attrs['cancellation_lines']))} cancellations, "
                         f"{number(int(attrs['return_lines']))} returns, {number(int(attrs['duplicate_lines']))} exact repeats.</p>")
        if "run" in m:
            settings = text(m["run"].attrs["effective_settings"])
            parts.append(f"<details><summary>Effective settings</summary><pre>{escape(settings)}</pre></details>")
        self.sections.append(("summary", "Run summary", "".join(parts)))

    # ---------------------------------------------------------------- choosing k
    def choosing_k(self):
        m = self.model
        if "kmeans" not in m:
            self.sections.append(("choosing-k", "Choosing k", "<p>This model has no segments (/kmeans is absent).</p>"))
            return
        sweep = m["kmeans/sweep"]
        ks = sweep["k"][:]
        chosen = int(sweep.attrs["chosen_k"])
        metrics = [("inertia", "inertia (sum of squared distances)", "lower is better; look for the elbow"),
                   ("silhouette", "silhouette", "higher is better"),
                   ("calinski_harabasz", "Calinski-Harabasz index", "higher is better"),
                   ("davies_bouldin", "Davies-Bouldin index", "lower is better")]
        if text(m["kmeans"].attrs["init"]) == "previous_model":
            how = "taken from the previous model (K-means started from its centroids)"
        elif len(ks) > 1:
            how = f"by {escape(text(m['kmeans'].attrs['selection']))} (ties go to the smaller k)"
        else:
            how = "as configured"
        parts = [f'<p>Chosen: <b id="chosen-k">k = {chosen}</b> {how}.</p>']
        if len(ks) > 1:
            figure, axes = plt.subplots(2, 2, figsize=(10, 7))
            for axis, (name, label, hint) in zip(axes.flat, metrics):
                values = sweep[name][:]
                axis.plot(ks, values, marker="o", color="#444444")
                at = np.where(ks == chosen)[0]
                if len(at):
                    axis.plot([chosen], [values[at[0]]], marker="o", markersize=12, markerfacecolor="none",
                              markeredgecolor="#d62728", markeredgewidth=2, label=f"chosen k = {chosen}")
                    axis.axvline(chosen, color="#d62728", linestyle=":", linewidth=1)
                axis.set_title(f"{label} ({hint})", fontsize=10)
                axis.set_xlabel("k (number of segments)")
                axis.set_ylabel(label)
                axis.set_xticks(ks)
                axis.legend(loc="best", fontsize=8)
            figure.tight_layout()
            parts.append(figure_html(figure, "Quality of the segmentation against k"))
        rows = [[number(int(k)), number(float(sweep["inertia"][i]), 1), number(float(sweep["silhouette"][i]), 4),
                 number(float(sweep["calinski_harabasz"][i]), 1), number(float(sweep["davies_bouldin"][i]), 4),
                 number(int(sweep["iterations"][i])), escape(text(sweep["converged_reason"][i]))]
                for i, k in enumerate(ks)]
        parts.append(table_html(["k", "inertia", "silhouette", "Calinski-Harabasz", "Davies-Bouldin", "iterations", "stopped by"], rows))
        self.sections.append(("choosing-k", "Choosing k", "".join(parts)))

    # ---------------------------------------------------------------- segments
    def describe_segments(self, names, scaled):
        descriptions = []
        for s in range(self.k):
            words = []
            order = np.argsort(-np.abs(scaled[s]))
            for j in order:
                if names[j] in WORDS and abs(scaled[s, j]) >= 0.5:
                    words.append(WORDS[names[j]][1 if scaled[s, j] > 0 else 0])
                if len(words) == 3:
                    break
            descriptions.append(", ".join(words) if words else "close to the average customer")
        return descriptions

    def segments(self):
        m = self.model
        if "kmeans" not in m:
            self.sections.append(("segments", "Segments", "<p>This model has no segments.</p>"))
            return
        km = m["kmeans"]
        k = self.k
        names = text(km["feature_names"][:])
        sizes = km["sizes"][:]
        scaled = km["centroids_scaled"][:]
        self.descriptions = self.describe_segments(names, scaled)
        has_profile = "profile" in km
        revenue = km["profile/revenue_share"][:] if has_profile else np.full(k, np.nan)
        median = km["profile/median"][:] if has_profile else km["centroids"][:] if "centroids" in km else scaled
        parts = [f"<p>{k} segments of {number(int(sizes.sum()))} customers. Numbering: "
                 f"{escape(text(km.attrs['segment_order']))}. Profile values are medians in original units"
                 f"{'' if has_profile else ' (this model has no /kmeans/profile: centroids shown)'}.</p>"]

        # Sizes: customers and share of revenue side by side.
        figure, axes = plt.subplots(1, 2, figsize=(11, max(2.5, 0.32 * k + 1)), sharey=True)
        positions = np.arange(k)
        axes[0].barh(positions, sizes, color=self.colours)
        axes[0].set_xlabel("customers")
        axes[0].set_title("Segment size")
        axes[1].barh(positions, 100 * np.nan_to_num(revenue), color=self.colours)
        axes[1].set_xlabel("share of revenue (monetary) [%]")
        axes[1].set_title("Share of revenue")
        axes[0].set_yticks(positions, [f"segment {s}" for s in range(k)])
        axes[0].invert_yaxis()
        figure.tight_layout()
        parts.append(figure_html(figure, "Segment sizes and their share of revenue"))

        header = ["segment", "description", "customers", "share", "revenue share"] + [f"median {n}" for n in names]
        rows, full = [], []
        total = max(int(sizes.sum()), 1)
        for s in range(k):
            swatch = f'<span class="swatch" style="background:{matplotlib.colors.to_hex(self.colours[s])}"></span>'
            values = [number(float(v)) for v in median[s]]
            rows.append([f'{swatch}<span class="segment-id">{s}</span>', escape(self.descriptions[s]),
                         f'<span class="segment-size">{number(int(sizes[s]))}</span>', f"{100 * sizes[s] / total:.1f}%",
                         "–" if math.isnan(revenue[s]) else f"{100 * revenue[s]:.1f}%"] + values)
            full.append([s, self.descriptions[s], int(sizes[s]), sizes[s] / total, revenue[s]] + [float(v) for v in median[s]])
        shown = rows[:self.top]
        parts.append(table_html(header, shown, "profile"))
        parts.append(self.csv_link("segments.csv", header, full, "All segments with their profiles"))

        # Standardized centroids.
        figure, axis = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), max(2.5, 0.35 * k + 1)))
        limit = max(1.0, float(np.nanmax(np.abs(scaled))))
        image = axis.imshow(scaled, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
        axis.set_yticks(range(k), [f"segment {s}" for s in range(k)])
        for tick, colour in zip(axis.get_yticklabels(), self.colours):
            tick.set_color(colour)
        if k * len(names) <= 200:
            for s in range(k):
                for j in range(len(names)):
                    axis.text(j, s, f"{scaled[s, j]:.1f}", ha="center", va="center", fontsize=8,
                              color="white" if abs(scaled[s, j]) > 0.6 * limit else "black")
        axis.set_title("Standardized centroids (the scaled space K-means ran in)")
        figure.colorbar(image, ax=axis, label="standardized value")
        figure.tight_layout()
        parts.append(figure_html(figure, "Heatmap of standardized centroids"))

        # R, F, M per segment from the customers' raw features.
        if "features" in m and "assignments" in m:
            fnames = text(m["features/names"][:])
            wanted = [n for n in ("recency_days", "frequency", "monetary") if n in fnames]
            if wanted:
                raw = m["features/raw"]
                segment = m["assignments/segment"][:]
                same_order = np.array_equal(m["assignments/customer"][:], m["features/customer"][:])
                if same_order:
                    figure, axes = plt.subplots(1, len(wanted), figsize=(max(10, 0.45 * k * len(wanted)), 4.5))
                    axes = np.atleast_1d(axes)
                    for axis, name in zip(axes, wanted):
                        column = raw[:, fnames.index(name)]
                        groups = [column[segment == s] for s in range(k)]
                        boxes = axis.boxplot([g if len(g) else [np.nan] for g in groups], patch_artist=True, showfliers=False,
                                             medianprops={"color": "black"})
                        for patch, colour in zip(boxes["boxes"], self.colours):
                            patch.set_facecolor(colour)
                        if name in ("frequency", "monetary"):
                            if column.min() <= 0:
                                axis.set_yscale("symlog", linthresh=10)  # net spend can be 0 or negative
                            else:
                                axis.set_yscale("log")
                        axis.set_title(f"{name} by segment")
                        axis.set_xlabel("segment")
                        axis.set_ylabel(f"{name} [{UNITS.get(name, '')}]" + (" (log scale)" if name in ("frequency", "monetary") else ""))
                        axis.set_xticks(range(1, k + 1), [str(s) for s in range(k)])
                    figure.tight_layout()
                    parts.append(figure_html(figure, "Recency, frequency and monetary value per segment (boxes: quartiles; "
                                                     "whiskers: 1.5 IQR; outliers not drawn)"))
        self.sections.append(("segments", "Segments", "".join(parts)))

    # ---------------------------------------------------------------- rules
    def rule_rows(self, rules, items, order):
        codes, descriptions = items

        def name(ids):
            return " + ".join(f"{codes[i]} {descriptions[i]}".strip() if descriptions[i] else codes[i] for i in ids)

        return [(name(rules[i].antecedent), name(rules[i].consequent), rules[i].support, rules[i].confidence, rules[i].lift)
                for i in map(int, order)]

    def rules(self):
        m = self.model
        if "fpgrowth" not in m:
            self.sections.append(("rules", "Basket rules", "<p>This model has no basket analysis (/fpgrowth is absent).</p>"))
            return
        fp = m["fpgrowth"]
        items = (text(fp["items/code"][:]), text(fp["items/description"][:]))
        lift = fp["rules/lift"][:]
        order = np.lexsort((np.arange(len(lift)), -lift))  # lift descending, then canonical order
        header = ["if the basket has", "it also has", "support", "confidence", "lift"]
        parts = [f'<p>{number(int(fp.attrs["baskets"]))} baskets, minimum support {fp.attrs["min_support"]:g}'
                 f'{" baskets" if int(fp.attrs["min_support_is_count"]) else ""}: <span id="itemset-count">'
                 f'{number(int(fp.attrs["itemset_count"]))}</span> frequent itemsets, <span id="rule-count">'
                 f'{number(len(lift))}</span> rules.</p>']
        all_rules = self.model.rules()
        top = self.rule_rows(all_rules, items, order[:self.top])
        parts.append(f"<h3>Top {len(top)} rules by lift, all baskets</h3>")
        parts.append(table_html(header, [[escape(a), escape(c), f"{s:.4f}", f"{cf:.2f}", f"{lf:.2f}"] for a, c, s, cf, lf in top], "rules"))
        every = self.rule_rows(all_rules, items, order)
        parts.append(self.csv_link("rules.csv", header, every, "All rules, by lift"))
        segments = int(fp.attrs["segments"]) if "segments" in fp.attrs else 0
        if segments:
            parts.append("<h3>Rules that distinguish each segment</h3><p>The segment's rules whose lift differs most from the "
                         "same rule over all baskets (population lift – when the itemset is not frequent over all baskets).</p>")
            all_rows = []
            for s in range(segments):
                group = fp[f"segment_{s}"]
                chosen = group["distinctive/rule"][:]
                population = group["distinctive/population_lift"][:]
                rows = self.rule_rows(self.model.rules(s), items, chosen)
                label = f"segment {s}" + (f": {self.descriptions[s]}" if s < len(self.descriptions) else "")
                colour = matplotlib.colors.to_hex(self.colours[s % len(self.colours)])
                body = [[escape(a), escape(c), f"{sp:.4f}", f"{cf:.2f}", f"{lf:.2f}", number(float(p))]
                        for (a, c, sp, cf, lf), p in zip(rows[:5], population[:5])]
                if s < self.top:
                    parts.append(f'<h4 class="segment-rules"><span class="swatch" style="background:{colour}"></span>{escape(label)} '
                                 f"({number(int(group.attrs['baskets']))} baskets, {number(int(group['rules'].attrs['rule_count']))} rules)</h4>")
                    parts.append(table_html(header + ["population lift"], body, "rules") if body else "<p>No rules.</p>")
                all_rows += [[s, a, c, sp, cf, lf, float(p)] for (a, c, sp, cf, lf), p in zip(rows, population)]
            parts.append(self.csv_link("segment_rules.csv", ["segment"] + header + ["population lift"], all_rows,
                                       "Distinctive rules of every segment"))
        self.sections.append(("rules", "Basket rules", "".join(parts)))

    # ---------------------------------------------------------------- propensity
    def target_words(self, target, horizon):
        if target == "churn":
            return f"churn (make no purchase in the next {horizon} days)"
        if target == "purchase":
            return f"buy again in the next {horizon} days"
        kind, _, argument = target.partition(":")
        if kind == "category":
            return f"buy in the category {argument} in the next {horizon} days"
        return f"buy one of the items {argument.replace(',', ', ')} in the next {horizon} days"

    def coefficient_words(self, names, coefficients, target, horizon, shown=4):
        sentences = []
        for j in np.argsort(-np.abs(coefficients))[:shown]:
            if coefficients[j] == 0:
                continue
            name = names[j]
            if name in WORDS:
                who = WORDS[name][1 if coefficients[j] > 0 else 0]
            elif name.startswith("category_share:"):
                who = f"{'more' if coefficients[j] > 0 else 'less'} of the spend in {name.split(':', 1)[1]}"
            else:
                who = f"{'higher' if coefficients[j] > 0 else 'lower'} {name}"
            odds = math.exp(abs(coefficients[j]))
            sentences.append(f"{escape(who[0].upper() + who[1:])}: more likely to {escape(self.target_words(target, horizon))} "
                             f"(odds x{odds:.2f} per scaled unit of {escape(name)})")
        return sentences

    def propensity(self):
        m = self.model
        if "propensity" not in m:
            self.sections.append(("propensity", "Churn and propensity",
                                  "<p>No propensity models: add \"propensity\" to [run] stages and set [propensity] targets.</p>"))
            return
        g = m["propensity"]
        horizon = int(g.attrs["horizon_days"])
        names = text(g["feature_names"][:])
        parts = [f"<p>Targets are measured in the {horizon} days after the cutoff {escape(text(g.attrs['cutoff_date']))}; "
                 f"the stored models were trained on customers as they stood at {escape(text(g.attrs['trained_at_date']))}. "
                 f"Validation: {escape(text(g.attrs['validation']))}. Metrics below are out-of-time (validation) where "
                 f"there is a validation, else on the training customers.</p>"]
        table = []
        for name in text(g["targets"][:]):
            t = g[name]
            target = text(t.attrs["target"])
            models = [("all customers", t)] + [(f"segment {s}", t[f"segment_{s}"]) for s in range(int(g.attrs["segments"]))
                                                if f"segment_{s}" in t]
            rows = []
            for label, group in models:
                metrics = group["validation"] if "validation" in group else group["training"] if "training" in group else None
                if metrics is None:
                    rows.append([escape(label), "no model: " + escape(text(group.attrs.get("skipped", ""))), "", "", "", "", "", "", ""])
                    table.append([target, label, "", "", "", "", "", "", text(group.attrs.get("skipped", ""))])
                    continue
                a = metrics.attrs
                here = group["validation_of_global_model"].attrs["auc"] if "validation_of_global_model" in group else None
                scores_from = text(group.attrs["scores_from"]) if "scores_from" in group.attrs else ""
                rows.append([escape(label), number(int(a["customers"])), number(float(a["base_rate"]), 3), number(float(a["auc"]), 3),
                             number(float(a["log_loss"]), 3), number(float(a["brier"]), 3), number(float(a["top_decile_lift"]), 2),
                             number(float(a["top_decile_capture"]), 3),
                             (number(float(here), 3) if here is not None else "") + (f" ({escape(scores_from)} scores)" if scores_from else "")])
                table.append([target, label, int(a["customers"]), float(a["base_rate"]), float(a["auc"]), float(a["log_loss"]),
                              float(a["brier"]), float(a["top_decile_lift"]), float(a["top_decile_capture"])])
            parts.append(f"<h3>{escape(target)}</h3>")
            parts.append(table_html(["model", "customers", "base rate", "AUC", "log loss", "Brier", "top-decile lift", "top-decile capture",
                                     "global model's AUC here"], rows))
            if "coefficients" in t:
                sentences = self.coefficient_words(names, t["coefficients"][:], target, horizon)
                if sentences:
                    parts.append("<p>In words (the global model's largest coefficients):</p><ul>" +
                                 "".join(f"<li>{sentence}</li>" for sentence in sentences) + "</ul>")
                metrics = t["validation"] if "validation" in t else t["training"]
                customers = metrics["decile_customers"][:].astype(float)
                positives = metrics["decile_positives"][:].astype(float)
                figure, axes = plt.subplots(1, 2, figsize=(11, 4))
                axes[0].plot([0, 1], [0, 1], color="#999999", linestyle=":", label="perfect calibration")
                axes[0].plot(metrics["decile_mean_score"][:], metrics["decile_observed_rate"][:], marker="o", color="#1f77b4",
                             label="score deciles")
                axes[0].set_xlabel("mean predicted probability")
                axes[0].set_ylabel("observed rate")
                axes[0].set_title(f"Calibration: {target}")
                axes[0].legend(loc="best", fontsize=8)
                total = max(positives.sum(), 1)
                captured = np.concatenate([[0], np.cumsum(positives) / total])
                share = np.concatenate([[0], np.cumsum(customers) / max(customers.sum(), 1)])
                axes[1].plot(share, captured, marker="o", color="#d62728", label="model")
                axes[1].plot([0, 1], [0, 1], color="#999999", linestyle=":", label="random")
                axes[1].set_xlabel("share of customers contacted (highest scores first)")
                axes[1].set_ylabel("share of positives reached")
                axes[1].set_title(f"Cumulative gains: {target} (top-decile lift {float(metrics.attrs['top_decile_lift']):.2f})")
                axes[1].legend(loc="best", fontsize=8)
                figure.tight_layout()
                parts.append(figure_html(figure, f"Calibration and cumulative gains of the {target} model "
                                                 f"({'validation' if 'validation' in t else 'training'} customers, deciles by score)"))
        parts.append(self.csv_link("propensity_models.csv", ["target", "model", "customers", "base_rate", "auc", "log_loss", "brier",
                                                             "top_decile_lift", "top_decile_capture"], table,
                                   "Every propensity model's metrics"))
        self.sections.append(("propensity", "Churn and propensity", "".join(parts)))

    # ---------------------------------------------------------------- recommendations
    def recommendations(self, examples_per_segment=3, items_shown=5):
        m = self.model
        if "recommend" not in m:
            self.sections.append(("recommendations", "Next-product recommendations",
                                  "<p>No recommendations: add \"recommend\" to [run] stages ([recommend] methods).</p>"))
            return
        g = m["recommend"]
        a = g.attrs
        n = int(a["n"])
        methods = text(g["methods"][:])
        codes, descriptions = text(g["items/code"][:]), text(g["items/description"][:])
        segments = int(a["segments"])
        parts = [f"<p>The top {n} items each customer has not bought yet, for {number(int(a['customers']))} customers, by "
                 f"{len(methods)} method(s); the stored lists were trained on lines before {escape(text(a['data_end_date']) if int(a['trained_until']) == int(a['data_end']) else text(a['cutoff_date']))}.</p>"]
        table = []
        best = methods[0]
        if "evaluation" in g:
            e = g["evaluation"]
            parts.append(f"<p>Judged on a time split: each method trained on lines before {escape(text(a['cutoff_date']))} and measured on the "
                         f"new items {number(int(a['evaluated_customers']))} customers bought from then to {escape(text(a['data_end_date']))} "
                         f"({number(int(a['cold_start_customers']))} more customers bought only then: cold start, not judged). "
                         f"Popularity is the baseline every other method must beat.</p>")
            metrics = {key: e[key][:] for key in ("customers", "precision", "recall", "map", "ndcg", "coverage")}
            rows = []
            for i, method in enumerate(methods):
                rows.append([escape(method)] + [number(float(metrics[key][i, 0]), 4) for key in ("precision", "recall", "map", "ndcg")] +
                            [number(float(metrics["coverage"][i, 0]), 3)])
                for column in range(metrics["customers"].shape[1]):
                    table.append([method, "all" if column == 0 else column - 1, int(metrics["customers"][i, column])] +
                                 [float(metrics[key][i, column]) for key in ("precision", "recall", "map", "ndcg", "coverage")])
            parts.append(table_html(["method", f"precision@{n}", f"recall@{n}", f"MAP@{n}", f"NDCG@{n}", "catalogue coverage"], rows))
            best = methods[int(np.argmax(metrics["ndcg"][:, 0]))]
            figure, axes = plt.subplots(1, 2 if segments > 0 else 1, figsize=(12 if segments > 0 else 7, 4), squeeze=False)
            positions = np.arange(len(methods))
            for offset, key, colour in ((-0.2, "recall", "#1f77b4"), (0.2, "ndcg", "#ff7f0e")):
                axes[0][0].bar(positions + offset, metrics[key][:, 0], width=0.4, color=colour, label=f"{key.upper() if key == 'ndcg' else key}@{n}")
            axes[0][0].set_xticks(positions)
            axes[0][0].set_xticklabels(methods, rotation=20, fontsize=8)
            axes[0][0].set_title("All judged customers")
            axes[0][0].legend(fontsize=8)
            if segments > 0:
                width = 0.8 / len(methods)
                for i, method in enumerate(methods):
                    axes[0][1].bar(np.arange(segments) + (i - (len(methods) - 1) / 2) * width, metrics["recall"][i, 1:], width=width,
                                   label=method)
                axes[0][1].set_xticks(range(segments))
                axes[0][1].set_xlabel("segment")
                axes[0][1].set_ylabel(f"recall@{n}")
                axes[0][1].set_title(f"recall@{n} per segment")
                axes[0][1].legend(fontsize=7)
            figure.tight_layout()
            parts.append(figure_html(figure, f"Recall@{n} and NDCG@{n} per method on the held-out period"))
            parts.append(self.csv_link("recommendation_metrics.csv", ["method", "segment", "customers", "precision", "recall", "map", "ndcg",
                                                                      "coverage"], table, "Every method's metrics, overall and per segment"))
        # Examples: the first customers of each segment (by key) with a list, from the best method.
        customers, segment = g["customer"][:], g["segment"][:]
        offsets, items, scores = m.recommendations(best)
        rows = []
        for s in (range(segments) if segments > 0 else [-1]):
            shown = 0
            for c in np.flatnonzero(segment == s):
                if offsets[c + 1] == offsets[c]:
                    continue
                listed = [f"{escape(codes[items[e]])} {escape(descriptions[items[e]])} ({number(float(scores[e]), 3)})"
                          for e in range(offsets[c], min(offsets[c + 1], offsets[c] + items_shown))]
                rows.append([str(s) if s >= 0 else "", escape(str(customers[c])), "<br>".join(listed)])
                shown += 1
                if shown == examples_per_segment:
                    break
        parts.append(f"<p>Examples from <b>{escape(best)}</b> (the best NDCG@{n} where judged), the first {items_shown} items "
                     f"of the first customers of each segment:</p>")
        parts.append(table_html(["segment", "customer", "recommended (score)"], rows))
        self.sections.append(("recommendations", "Next-product recommendations", "".join(parts)))

    # ---------------------------------------------------------------- comparison
    def comparison(self):
        m = self.model
        if "compare" not in m:
            self.sections.append(("comparison", "Against the previous run",
                                  "<p>No previous model: set [run] previous_model to compare with last period's run.</p>"))
            return
        c = m["compare"]
        previous = c["previous_segment"][:]
        drift = c["drift"][:]
        migration = c["migration"][:]
        old_k, new_k = migration.shape
        parts = [f"<p>Previous model: {escape(text(c.attrs['previous_model']))}. {number(int(c.attrs['common_customers']))} "
                 f"customers in both runs, {number(int(c.attrs['previous_only']))} only before, {number(int(c.attrs['new_only']))} "
                 f'only now; adjusted Rand index <b id="adjusted-rand">{float(c.attrs["adjusted_rand"]):.4f}</b>.</p>']
        rows = [[str(s), "new" if previous[s] < 0 else str(previous[s]), number(float(drift[s]), 4)] for s in range(new_k)]
        parts.append(table_html(["segment", "matched previous segment", "centroid drift (scaled space)"], rows))
        figure, axes = plt.subplots(1, 2, figsize=(12, max(3.5, 0.4 * max(old_k, new_k) + 1.5)),
                                    gridspec_kw={"width_ratios": [3, 2]})
        shares = migration / np.maximum(migration.sum(axis=1, keepdims=True), 1)
        image = axes[0].imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        axes[0].set_xlabel("segment now")
        axes[0].set_ylabel("segment in the previous run")
        axes[0].set_xticks(range(new_k))
        axes[0].set_yticks(range(old_k))
        axes[0].set_title("Migration: share of each previous segment's customers")
        if old_k * new_k <= 225:
            for o in range(old_k):
                for n in range(new_k):
                    axes[0].text(n, o, f"{int(migration[o, n]):,}", ha="center", va="center", fontsize=7,
                                 color="white" if shares[o, n] > 0.6 else "black")
        figure.colorbar(image, ax=axes[0], label="share of the previous segment")
        axes[1].bar(range(new_k), np.nan_to_num(drift), color=segment_colours(new_k))
        axes[1].set_xlabel("segment now")
        axes[1].set_ylabel("centroid drift (scaled units)")
        axes[1].set_title("Drift per segment")
        axes[1].set_xticks(range(new_k))
        figure.tight_layout()
        parts.append(figure_html(figure, "Migration matrix and drift against the previous run"))
        self.sections.append(("comparison", "Against the previous run", "".join(parts)))

    def write(self):
        os.makedirs(self.out, exist_ok=True)
        self.summary()
        self.choosing_k()
        self.segments()
        self.rules()
        self.propensity()
        self.recommendations()
        self.comparison()
        navigation = " · ".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in self.sections)
        body = "".join(f'<section id="{sid}"><h2>{escape(title)}</h2>{content}</section>' for sid, title, content in self.sections)
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mpiseg report: {escape(os.path.basename(self.path))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
table.keyvalue td:first-child {{ color: #555; }}
figure {{ margin: 1em 0; }} figure img {{ max-width: 100%; }} figcaption {{ color: #555; font-size: 0.85em; }}
.swatch {{ display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.4em; vertical-align: middle; border-radius: 2px; }}
table.profile td:nth-child(2) {{ min-width: 14em; }}
div.scroll {{ overflow-x: auto; }}
nav {{ margin-bottom: 1.5em; }} pre {{ background: #f8f8f8; padding: 1em; overflow-x: auto; }}
</style></head>
<body><h1>Customer segmentation report</h1><nav>{navigation}</nav>{body}
<footer><p>Generated by mpiseg (scripts/report.py) from {escape(self.path)}.</p></footer></body></html>
"""
        index = os.path.join(self.out, "index.html")
        write_atomically(index, page)
        return index


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--top", type=int, default=20, help="rows shown per table (the CSV files hold all)")
    arguments = parser.parse_args()
    try:
        report = Report(arguments.model, arguments.out, arguments.top)
    except (OSError, KeyError, ValueError) as error:
        print(f"report: cannot read '{arguments.model}': {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_MODEL)
    if not report.model.is_model():
        print(f"report: '{arguments.model}' is not an mpiseg model", file=sys.stderr)
        sys.exit(EXIT_BAD_MODEL)
    try:
        print(report.write())
    except OSError as error:
        # Writing the output (a full disk, a read-only directory) or reading a damaged dataset.
        where = getattr(error, "filename", None)
        if where is not None and not str(where).endswith(".h5"):
            print(f"report: cannot write '{where}': {error.strerror or error}", file=sys.stderr)
            sys.exit(EXIT_CANNOT_WRITE)
        print(f"report: cannot read the model '{arguments.model}': {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_MODEL)
    except (KeyError, ValueError, TypeError, IndexError) as error:
        print(f"report: the model '{arguments.model}' is damaged or incomplete: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_MODEL)


if __name__ == "__main__":
    main()
