"""`mpiseg report`: the HTML report of a model, its content against the model file, and a
headless Chromium that loads the page without errors and takes a screenshot.

 1. The Online Retail model (generated data when ../shared/data is absent), with a previous model
    so that every section has content: each section is present, and the numbers in it (line
    items read, accepted, rejected, customers, baskets, chosen k, segment sizes, itemsets, rules,
    adjusted Rand index) are the model file's; the CSV files hold every rule and segment.
 2. A large model (k = 50, 1e5 rules): tables are cut to the top rows and the page stays small.
 3. Chromium (--headless --screenshot) renders the page without console errors; the
    screenshot goes to the test output folder (argument 3).
 4. A partial model (FP-growth only) and a non-model file.

    report.py MPISEG MPIEXEC OUTPUT_DIR
"""
import csv
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

from cli_harness import Harness, open_model, shared_data

test = Harness("report")
output = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else test.work
os.makedirs(output, exist_ok=True)
source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

retail = shared_data("online_retail", "online_retail.csv")
if retail:
    sets = [f"input.path={retail}"]
    job = os.path.join(source, "jobs", "online_retail.toml")
    label = "Online Retail"
else:
    print("note: ../shared/data absent: the report is checked on generated data")
    test.run(2, "generate", sets=["generate.customers=2000", "generate.line_items=300000", f"generate.output={test.path('items.csv')}",
                                  "generate.truth="])
    sets = [f"input.path={test.path('items.csv')}"]
    job = os.path.join(source, "jobs", "demo.toml")
    label = "generated data"
sets += ["output.assignments_csv=", "ingest.store="]
previous, model = test.path("previous.h5"), test.path("model.h5")
test.run(2, "run", job, sets=sets + [f"output.model={previous}"])
test.run(2, "run", job, sets=sets + [f"output.model={model}", f"run.previous_model={previous}"])

# The first run chose k from a sweep (the k plots); the second follows it (the comparison).
sweep_dir = test.path("sweep_report")
test.run(1, "report", previous, "--out", sweep_dir)
sweep_page = open(os.path.join(sweep_dir, "index.html"), encoding="utf-8").read()
test.check("Quality of the segmentation against k" in sweep_page and "No previous model" in sweep_page,
           "a model with a k sweep: the k plots; without a previous model: a note instead of the comparison")
report_dir = test.path("report")
result = test.run(1, "report", model, "--out", report_dir)
index = os.path.join(report_dir, "index.html")
test.check(os.path.exists(index) and index in result.stdout, f"{label}: report written, its path printed")
page = open(index, encoding="utf-8").read()
for section in ("summary", "choosing-k", "segments", "rules", "propensity", "recommendations", "comparison"):
    test.check(f'<section id="{section}">' in page, f"section '{section}' present")
plots = page.count("data:image/png;base64,")
test.check(plots == 6 and "Migration matrix" in page and "Calibration and cumulative gains of the churn model" in page and
           "Recall@10 and NDCG@10 per method" in page,
           f"{plots} plots embedded: sizes, centroids, R/F/M, churn calibration and gains, recommendation metrics, migration")
with open_model(model) as m:
    auc = float(m["propensity/churn/validation"].attrs["auc"])
    test.check(f"<td>{auc:.3f}</td>" in page and "more likely to churn" in page and os.path.exists(os.path.join(report_dir, "propensity_models.csv")),
               f"propensity: the churn model's validation AUC ({auc:.3f}), its coefficients in words, the metrics CSV")
    methods = list(m["recommend/methods"])
    recall = m["recommend/evaluation/recall"][:, 0]
    codes = m.item_codes("recommend")
    best = methods[int(m["recommend/evaluation/ndcg"][:, 0].argmax())]
    first_item = codes[m[f"recommend/{best}/items"][0]] if len(m[f"recommend/{best}/items"]) else ""
    test.check(all(f"<td>{name}</td><td>" in page for name in methods) and all(f"<td>{r:.4f}</td>" in page for r in recall) and
               os.path.exists(os.path.join(report_dir, "recommendation_metrics.csv")) and f"<b>{best}</b>" in page and first_item in page,
               f"recommendations: every method's recall@10 as the model has it, the best method ({best}) named with examples, the metrics CSV")


def shown(element_id):
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    return match.group(1) if match else None


with open_model(model) as m:
    accounting = m["run/accounting"].attrs
    expect = {"lines-read": f"{int(accounting['lines_read']):,}", "accepted": f"{int(accounting['accepted']):,}",
              "rejected": f"{int(accounting['rejected']):,}", "customers": f"{int(m['features'].attrs['customers']):,}",
              "baskets": f"{int(m['fpgrowth'].attrs['baskets']):,}", "chosen-k": f"k = {int(m['kmeans'].attrs['k'])}",
              "itemset-count": f"{int(m['fpgrowth'].attrs['itemset_count']):,}",
              "rule-count": f"{int(m['fpgrowth/rules'].attrs['rule_count']):,}",
              "adjusted-rand": f"{float(m['compare'].attrs['adjusted_rand']):.4f}"}
    sizes = [f"{int(s):,}" for s in m["kmeans/sizes"][:]]
    rule_count = int(m["fpgrowth/rules"].attrs["rule_count"])
    first, last = m["run"].attrs["data_first_timestamp"], m["run"].attrs["data_last_timestamp"]
    top_lift = float(np.max(m["fpgrowth/rules/lift"][:]))
for element, value in expect.items():
    test.check(shown(element) == value, f"{element}: the report shows {shown(element)!r}, the model has {value!r}")
test.check(re.findall(r'class="segment-size">([^<]*)<', page) == sizes, f"segment sizes {sizes} as in /kmeans/sizes")
period = f"{first} to {last}"
test.check(period in page, f"data period {period}")
with open(os.path.join(report_dir, "rules.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
test.check(len(rows) == rule_count and float(rows[0]["lift"]) == top_lift, f"rules.csv: all {rule_count} rules, highest lift first")
test.check(f"{top_lift:.2f}" in page, "the top rule's lift is in the page")
words = ("recent", "lapsed", "frequent", "spend", "baskets", "basket", "new", "long-standing", "range", "returns", "gaps", "average")
descriptions = re.findall(r'class="segment-id">\d+</span></td><td>([^<]*)<', page)
test.check(len(descriptions) == len(sizes) and all(any(w in d for w in words) for d in descriptions),
           f"segments carry generated descriptions: {descriptions}")

# ---------------------------------------------------------------- headless browser
chromium = shutil.which("chromium")
if not chromium:
    test.check(False, "chromium is not installed (scripts/setup.sh installs it)")
else:
    shot = os.path.join(output, "report.png")
    browser = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
                              "--v=0", "--window-size=1280,3000", f"--screenshot={shot}", f"file://{index}"],
                             capture_output=True, text=True, timeout=120)
    console = [line for line in browser.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line or "net::ERR" in line]
    test.check(browser.returncode == 0 and not console, f"chromium loads the page without errors {console[:3]}")
    size = os.path.getsize(shot) if os.path.exists(shot) else 0
    test.check(size > 50_000, f"screenshot {shot} ({size:,} bytes)")

# ---------------------------------------------------------------- a large model
large = test.path("large.h5")
test.run(2, "run", os.path.join(source, "jobs", "demo.toml"),
         sets=[f"input.path={test.path('items.csv') if not retail else retail}", f"output.model={large}", "output.assignments_csv=",
               "ingest.store=", "kmeans.k=[50]", "kmeans.n_init=1", "fpgrowth.min_support=0.0035" if not retail else "fpgrowth.min_support=0.002",
               "fpgrowth.min_confidence=0.02", "fpgrowth.min_lift=1.0", "fpgrowth.segment_min_support=0.3", "fpgrowth.segment_max_len=2"])
with open_model(large) as m:
    large_rules = int(m["fpgrowth/rules"].attrs["rule_count"])
large_dir = test.path("large_report")
test.run(1, "report", large, "--out", large_dir, "--top", "25")
large_page = open(os.path.join(large_dir, "index.html"), encoding="utf-8").read()
with open(os.path.join(large_dir, "rules.csv"), newline="") as f:
    large_csv = sum(1 for _ in f) - 1
with open(os.path.join(large_dir, "segments.csv"), newline="") as f:
    segment_rows = sum(1 for _ in f) - 1
top_rows = large_page.split('<table class="rules">', 1)[1].split("</table>", 1)[0].count("<tr>") - 1
test.check(large_rules >= 100_000 and large_csv == large_rules and top_rows == 25,
           f"k = 50 with {large_rules:,} rules: the page shows the top 25 rules, rules.csv all {large_csv:,}")
test.check(segment_rows == 50 and large_page.count('class="segment-size"') == 25, "segments: 25 in the page, all 50 in segments.csv")
test.check(len(large_page) < 3_000_000, f"the large report's page is {len(large_page) / 1e6:.1f} MB")

# ---------------------------------------------------------------- partial and foreign files
partial = test.path("partial.h5")
test.run(2, "fpgrowth", sets=sets[:1] + [f"output.model={partial}", "fpgrowth.min_support=0.02"])
test.run(1, "report", partial, "--out", test.path("partial_report"))
partial_page = open(test.path("partial_report/index.html"), encoding="utf-8").read()
test.check("has no segments" in partial_page and '<section id="rules">' in partial_page, "a partial model (FP-growth only) reports what it has")
foreign = test.path("foreign.h5")
with h5py.File(foreign, "w") as f:
    f["x"] = np.arange(3)
bad = test.run(None, "report", foreign, "--out", test.path("never"), check=False)
test.check(bad.returncode == 1 and "not an mpiseg model" in bad.stderr, "a foreign HDF5 file: a clear error")

test.finish()
