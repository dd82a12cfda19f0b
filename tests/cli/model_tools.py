"""`mpiseg run` and the model tools, end to end:

 1. `run` at 1, 2, 3 and 4 ranks writes identical models (every dataset and attribute; of /run only
    the start/end time, wall time and rank count may differ), on generated line items and, when
    ../shared/data is present, on Online Retail; a run from the ingest store equals the CSV run.
 2. The model opens in h5py and h5dump without mpiseg code, and the README's model schema section
    is exactly scripts/model_schema.py's rendering of it, whose paths are those h5dump -H lists.
 3. Killing a run with SIGKILL at several points, including while it writes the model, leaves
    the previous model byte-identical; the next run still succeeds.
 4. score on the model's own data gives the model's assignments (CSV and HDF5, other rank count);
    compare of a model with itself gives ARI 1 and zero drift; export rules are sorted by lift.
 5. inspect, score, compare and export fail with a clear message (exit status 1, no crash) on a
    truncated file, a non-HDF5 file, another schema_version, a missing group, a missing file.

    model_tools.py MPISEG MPIEXEC
"""
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np

from cli_harness import Harness, RUN_TIME, differences, model_contents, open_model, shared_data

test = Harness("model-tools")
source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

job = test.path("job.toml")
with open(job, "w") as f:
    f.write(f"""
[generate]
customers = 1500
items = 800
segments = 4
line_items = 150000
seed = 5
malformed_rate = 0.0005
output = "{test.path('items.csv')}"
truth = ""
[input]
path = "{test.path('items.csv')}"
[ingest]
missing_customer = "drop"
store = "{test.path('store.h5')}"
[features]
include = ["recency_days", "frequency", "monetary", "avg_basket_value", "avg_items_per_basket", "tenure_days"]
[kmeans]
k = [3, 4, 5]
n_init = 2
seed = 3
[fpgrowth]
min_support = 0.02
min_confidence = 0.3
segment_min_support = 0.05
segment_max_len = 3
[propensity]
targets = ["churn"]
[recommend]
methods = ["popularity", "segment_popularity", "rules", "item_cf", "als"]
factors = 4
iterations = 3
[run]
stages = ["features", "kmeans", "fpgrowth", "propensity", "recommend"]
[output]
model = "{test.path('model.h5')}"
""")
test.run(2, "generate", "--config", job)


def run_at(ranks, job_file, model, *sets):
    """`mpiseg run` into the job's own model path (so the effective settings are the same), then
    the model moved to `model`."""
    result = test.run(ranks, "run", job_file, sets=sets)
    configured = re.search(r"^model: (.*)$", result.stdout, re.MULTILINE).group(1)
    shutil.move(configured, model)
    return result


def identical_across_ranks(label, job_file, *sets):
    models = []
    for ranks in (1, 2, 3, 4):
        models.append(test.path(f"{label}_{ranks}.h5"))
        run_at(ranks, job_file, models[-1], *sets)
    reference = model_contents(models[0], ignore=RUN_TIME)
    for ranks, model in zip((2, 3, 4), models[1:]):
        differing = differences(reference, model_contents(model, ignore=RUN_TIME))
        test.check(not differing, f"{label}: model at {ranks} ranks identical to 1 rank ({len(reference)} datasets and "
                                  f"attributes{'; differ: ' + ', '.join(differing[:8]) if differing else ''})")
    return models[0]


# ---------------------------------------------------------------- 1. identical at 1..4 ranks
model = identical_across_ranks("generated", job)
with open_model(model) as f:
    for group in ("run", "run/inputs", "run/accounting", "features", "kmeans", "kmeans/profile", "kmeans/sweep",
                  "assignments", "fpgrowth", "fpgrowth/items", "fpgrowth/segment_0/distinctive", "propensity/churn",
                  "propensity/churn/validation", "propensity/churn/segment_0"):
        test.check(group in f, f"the model has /{group}")
    test.check(f.attrs["schema"] == b"mpiseg-model" or f.attrs["schema"] == "mpiseg-model", "root schema attribute")
    test.check(int(f.attrs["schema_version"]) == 1, "root schema_version attribute")
    accounting = f["run/accounting"].attrs
    test.check(accounting["lines_read"] == accounting["header"] + accounting["blank"] + accounting["accepted"] + accounting["rejected"],
               "accounting in /run: read = header + blank + accepted + rejected")
    k = int(f["kmeans"].attrs["k"])
    test.check(f["fpgrowth"].attrs["segments"] == k and all(f"fpgrowth/segment_{s}" in f for s in range(k)),
               f"/fpgrowth/segment_0..{k - 1} for the {k} segments")
    test.check(int(f["kmeans/profile/customers"][:].sum()) == len(f["assignments/customer"]),
               "segment profiles cover every assigned customer")
    assigned = f["assignments/customer"][:]
    test.check(np.array_equal(assigned, f["features/customer"][:]), "assignments are in customer order, as /features")

# A rerun from the ingest store gives the same model (but for provenance of the input).
from_store = test.path("from_store.h5")
run_at(3, job, from_store, "input.format=store", f"input.path={test.path('store.h5')}", "ingest.store=")
skip = RUN_TIME + ("/run/inputs", "/run@effective_settings")
differing = differences(model_contents(model, ignore=skip), model_contents(from_store, ignore=skip))
test.check(not differing, f"run from the ingest store equals the run from CSV{': ' + ', '.join(differing[:8]) if differing else ''}")

retail = shared_data("online_retail", "online_retail.csv")
if retail:
    retail_job = test.path("online_retail.toml")
    text = open(os.path.join(source, "jobs", "online_retail.toml")).read()
    text = text.replace('"../shared/data/online_retail/online_retail.csv"', json.dumps(retail))
    text = re.sub(r'^model = .*$', f'model = "{test.path("retail.h5")}"', text, flags=re.MULTILINE)
    text = re.sub(r'^assignments_csv = .*$', 'assignments_csv = ""', text, flags=re.MULTILINE)
    open(retail_job, "w").write(text)
    retail_model = identical_across_ranks("online_retail", retail_job)
    with open_model(retail_model) as f:
        test.check(f["run/accounting"].attrs["accepted"] == 406829 and f["features"].attrs["customers"] == 4339,
                   "Online Retail: 406,829 accepted line items, 4,339 customers")
else:
    print("SKIPPED: Online Retail identity (../shared/data absent)")

# ---------------------------------------------------------------- 2. readable without mpiseg; README schema
dump = subprocess.run(["h5dump", "-H", model], capture_output=True, text=True)
test.check(dump.returncode == 0 and "GROUP \"kmeans\"" in dump.stdout, "h5dump -H reads the model")
full = subprocess.run(["h5dump", "-d", "/kmeans/centroids", model], capture_output=True, text=True)
test.check(full.returncode == 0 and "DATA" in full.stdout, "h5dump prints /kmeans/centroids")

schema = subprocess.run(["/usr/bin/python3", os.path.join(source, "scripts", "model_schema.py"), model], capture_output=True,
                        text=True, check=True).stdout
readme = open(os.path.join(source, "README.md"), encoding="utf-8").read()
section = readme.split("<!-- BEGIN MODEL SCHEMA -->\n", 1)[1].split("<!-- END MODEL SCHEMA -->", 1)[0]
test.check(section == schema, "README model schema section is up to date (regenerate: /usr/bin/python3 scripts/model_schema.py "
                              "build/demo/model.h5 --readme README.md)")

# The objects h5dump lists, with full paths, against the README's table.
listed, stack = set(), []
for line in dump.stdout.splitlines():
    match = re.match(r"^(\s*)(GROUP|DATASET) \"([^\"]+)\"", line)
    if match:
        depth = len(match.group(1)) // 3
        del stack[depth:]
        stack.append(match.group(3))
        name = "/".join(stack).lstrip("/") if stack[0] == "/" else "/".join(stack)
        name = "/" + re.sub(r"segment_\d+", "segment_N", name.lstrip("/"))
        listed.add(name + ("/" if match.group(2) == "GROUP" and name != "/" else ""))
documented = set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))
test.check(listed == documented, f"h5dump -H lists exactly the README's groups and datasets "
                                 f"(only in h5dump: {sorted(listed - documented)[:5]}, only in README: {sorted(documented - listed)[:5]})")

# ---------------------------------------------------------------- 3. killed runs leave the previous model
def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


target = test.path("model.h5")
replacement = test.path("replacement.h5")
run_at(2, job, replacement, "kmeans.seed=99", "ingest.store=")  # what a killed run would have written
replacement_contents = model_contents(replacement, ignore=RUN_TIME)
shutil.copy(model, target)
before = digest(target)
temporary = target + ".tmp"
mid_write = 0
for attempt, delay in enumerate([None, 0.0, 0.0, 0.002, 0.01, 0.03]):
    # A different seed: a run that completed visibly replaces the model.
    process = subprocess.Popen(test.command(2, "run", job, sets=["kmeans.seed=99", "ingest.store="]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    if delay is None:
        time.sleep(0.3)  # killed while reading or computing
    else:
        while process.poll() is None and not os.path.exists(temporary):
            time.sleep(0.0002)
        time.sleep(delay)
    was_writing = os.path.exists(temporary)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    when = f"after {delay} s of writing" if delay is not None else "before writing"
    if digest(target) != before:
        # The run renamed its model into place before the kill: it must be the complete new model.
        test.check(not differences(replacement_contents, model_contents(target, ignore=RUN_TIME)),
                   f"kill {when}: the run had committed; the model is the complete new one")
        shutil.copy(model, target)
        continue
    mid_write += was_writing and process.returncode != 0
    test.check(True, f"kill {when}{' (model.h5.tmp present)' if was_writing else ''}: previous model byte-identical")
test.check(mid_write >= 2, f"{mid_write} kills landed while the model was being written")
with h5py.File(target, "r") as f:  # plain h5py on purpose: the model opens without mpiseg code
    test.check("kmeans/centroids" in f, "the previous model still opens in h5py")
test.run(2, "run", job, sets=["ingest.store="])
test.check(not os.path.exists(temporary) and digest(target) != "", "a run after the kills succeeds and leaves no temporary")

# ---------------------------------------------------------------- 4. score, compare, export
scores_csv, scores_h5 = test.path("scores.csv"), test.path("scores.h5")
test.run(3, "score", "--config", job, "--model", model, "--out", scores_csv, sets=["ingest.store="])
test.run(1, "score", "--model", model, test.path("items.csv"), "--config", job, "--out", scores_h5, sets=["ingest.store="])
exported = test.path("assignments.csv")
test.run(1, "export", model, "--what", "assignments", "--out", exported)
with open_model(model) as f:
    customer, segment = f["assignments/customer"][:], f["assignments/segment"][:]
    distance = f["assignments/distance"][:]
    sizes = f["kmeans/sizes"][:]
    k = len(sizes)
    rule_count = int(f["fpgrowth/rules"].attrs["rule_count"])
    names = list(f["kmeans/feature_names"])
with open_model(scores_h5) as f:
    order = np.argsort(f["assignments/customer"][:], kind="stable")
    test.check(np.array_equal(f["assignments/customer"][:][order], customer) and
               np.array_equal(f["assignments/segment"][:][order], segment) and
               np.array_equal(f["assignments/distance"][:][order], distance),
               "score (HDF5, 1 rank) on the model's own data reproduces its assignments and distances exactly")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


scored = {row["customer"]: row for row in read_csv(scores_csv)}
exported_rows = read_csv(exported)
test.check(len(scored) == len(customer) and all(scored[row["customer"]]["segment"] == row["segment"] and
                                                scored[row["customer"]]["distance"] == row["distance"] for row in exported_rows),
           "score (CSV, 3 ranks) equals export --what assignments")
test.check(sorted(int(row["segment"]) for row in exported_rows) == sorted(segment.tolist()), "exported assignments match /assignments")

same = json.loads(test.run(2, "compare", model, model, "--json").stdout)
test.check(same["adjusted_rand_index"] == 1.0 and max(same["drift"]) == 0.0 and
           same["old_of_new"] == list(range(k)), "compare MODEL MODEL: identity matching, zero drift, ARI 1")
other = test.path("other_k.h5")
run_at(2, job, other, "kmeans.k=[6]", "run.stages=[\"features\", \"kmeans\"]", "ingest.store=")
changed = json.loads(test.run(1, "compare", model, other, "--json").stdout)
migration = np.array(changed["migration"])
test.check(migration.shape == (k, 6) and int(migration.sum()) == changed["common_customers"] == len(customer) and
           sorted(m for m in changed["old_of_new"] if m >= 0) == list(range(k)) and changed["adjusted_rand_index"] < 1.0,
           f"compare k={k} with k=6: {k} matched segments, migration sums to {len(customer)} customers, ARI "
           f"{changed['adjusted_rand_index']:.3f}")
text = test.run(1, "compare", model, other).stdout
test.check("migration" in text and "adjusted Rand index" in text, "compare prints matching, migration and ARI")

rules = read_csv(test.path("rules.csv")) if test.run(1, "export", model, "--what", "rules", "--out", test.path("rules.csv")) else []
lifts = [float(row["lift"]) for row in rules]
test.check(len(rules) == rule_count and lifts == sorted(lifts, reverse=True), f"export rules: all {rule_count} rules, sorted by lift")
segment_rules = read_csv(test.path("rules_0.csv")) if test.run(1, "export", model, "--what", "rules", "--segment", "0", "--out",
                                                                test.path("rules_0.csv")) else []
with open_model(model) as f:
    # The Python model reader decodes the ragged rule lists as mpiseg export does.
    codes = f.item_codes()
    read_back = sorted((" ".join(codes[i] for i in r.antecedent), " ".join(codes[i] for i in r.consequent), r.lift) for r in f.rules())
    exported = sorted((row["antecedent"], row["consequent"], float(row["lift"])) for row in rules)
    test.check(read_back == exported and len(read_back) == rule_count, f"mpiseg_model.rules() equals export rules ({len(read_back)} rules)")
    test.check(len(segment_rules) == int(f["fpgrowth/segment_0/rules"].attrs["rule_count"]), "export --segment 0: that segment's rules")
    # Each segment records the settings it was mined with (segment_min_support, segment_max_len),
    # not the population's.
    recorded = [(float(f[f"fpgrowth/segment_{s}"].attrs["min_support"]), int(f[f"fpgrowth/segment_{s}"].attrs["max_len"]),
                 int(f[f"fpgrowth/segment_{s}"].attrs["min_support_is_count"])) for s in range(int(f["fpgrowth"].attrs["segments"]))]
    test.check(recorded and all(r == (0.05, 3, 0) for r in recorded) and float(f["fpgrowth"].attrs["min_support"]) == 0.02,
               f"/fpgrowth/segment_N record segment_min_support and segment_max_len ({recorded[:2]})")
centroids = read_csv(test.path("centroids.csv")) if test.run(1, "export", model, "--what", "centroids", "--out",
                                                              test.path("centroids.csv")) else []
test.check(len(centroids) == k and [int(row["customers"]) for row in centroids] == sizes.tolist() and
           all(name in centroids[0] for name in names), "export centroids: one row per segment, sizes and every feature")

summary = json.loads(test.run(1, "inspect", model, "--json").stdout)
test.check([s["customers"] for s in summary["kmeans"]["segments"]] == sizes.tolist() and
           summary["accounting"]["accepted"] > 0 and len(summary["fpgrowth"]["segments"]) == k,
           "inspect --json: segment sizes, accounting and per-segment rules")
test.check("segments: k =" in test.run(2, "inspect", model).stdout, "inspect prints the segments")

# A standalone stage's output is a valid, partial model.
partial = test.path("partial.h5")
test.run(2, "fpgrowth", sets=[f"input.path={test.path('items.csv')}", f"output.model={partial}", "fpgrowth.min_support=0.02"])
test.check("basket rules" in test.run(1, "inspect", partial).stdout, "inspect reads a partial model (fpgrowth only)")

# ---------------------------------------------------------------- 5. corrupt and foreign inputs
broken = {}
broken["truncated"] = test.path("truncated.h5")
with open(model, "rb") as f, open(broken["truncated"], "wb") as out:
    out.write(f.read(os.path.getsize(model) // 2))
broken["not HDF5"] = test.path("text.h5")
open(broken["not HDF5"], "w").write("customer,segment\n1,2\n")
broken["schema_version 99"] = test.path("version.h5")
shutil.copy(model, broken["schema_version 99"])
with h5py.File(broken["schema_version 99"], "r+") as f:
    f.attrs["schema_version"] = 99
broken["foreign HDF5"] = test.path("foreign.h5")
with h5py.File(broken["foreign HDF5"], "w") as f:
    f["data"] = np.arange(10)
broken["missing /kmeans"] = test.path("no_kmeans.h5")
shutil.copy(model, broken["missing /kmeans"])
with h5py.File(broken["missing /kmeans"], "r+") as f:
    del f["kmeans"]
    del f["fpgrowth/items"]
broken["missing file"] = test.path("does_not_exist.h5")
for label, path in broken.items():
    for name, arguments in [("inspect", [path]), ("compare", [model, path]),
                            ("score", ["--config", job, "--model", path, "--out", test.path("never.csv")]),
                            ("export", [path, "--what", "rules"]), ("export centroids", [path, "--what", "centroids"])]:
        if label == "missing /kmeans" and name == "inspect":
            continue  # a model without segments is valid (fpgrowth only); its rules need the item dictionary: export checks that
        # Directly (as users run the tools); one case per file also on 2 ranks under mpiexec.
        ranks = 2 if name == "compare" else None
        result = test.run(ranks, name.split()[0], *arguments, sets=["ingest.store="], check=False)
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        message = errors[0] if errors else result.stderr.strip()[-200:]
        test.check(result.returncode == 1 and 1 <= len(errors) <= (ranks or 1) and os.path.basename(path) in message,
                   f"{name} on a {label} file: exit {result.returncode}, '{message[:160]}'")

test.finish()
