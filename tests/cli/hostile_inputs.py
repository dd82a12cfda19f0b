"""The hostile-input corpus (tests/data/hostile/cases.toml) at one rank count, then the output
safety checks that need more than a table row:

 - every case: the exit status, the error message, the ingest accounting per reject reason and its
   balance, and no crash (no signal, no sanitizer report) and no hang (a time limit per run);
 - CSV formula injection: exports, the assignments CSV and the rejects file neutralise cells a
   spreadsheet would run, and `export --raw` keeps them;
 - a full disk (a 1 MiB tmpfs, as root only: an RLIMIT_FSIZE would also stop MPI's own start):
   the model, the store, an export, the assignments CSV, the rejects file and the report fail
   with the path named, nothing half-written at the final path, no temporary left, the previous
   model intact;
 - SIGUSR1 during MPI start-up is a checkpoint request (exit 75); an input rewritten with the
   same size and modification time does not resume the old input's checkpoint;
 - random byte flips in a model: inspect, export and compare end with 0, 1 or 2, never a crash
   or a hang.

    hostile_inputs.py MPISEG MPIEXEC RANKS
"""
import csv
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib

import h5py
import numpy as np

from cli_harness import Harness, open_model, store_digest

RANKS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
test = Harness(f"hostile-{RANKS}")
DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "data", "hostile"))
TIME_LIMIT = 120  # seconds per mpiseg run: a hang fails the case instead of the whole suite
IS_ROOT = os.geteuid() == 0


def run(arguments, sets=(), ranks=RANKS, environment=None):
    """mpiseg under mpiexec at RANKS; (exit status, stdout + stderr). A timeout is status -1."""
    # One rank runs without mpiexec (as users run the tools): mpiexec waits about 2 s after a
    # rank that exits with an error status, which most cases here do.
    line = test.command(None if ranks == 1 else ranks, arguments[0], *arguments[1:], sets=sets)
    started = time.monotonic()
    try:
        result = subprocess.run(line, capture_output=True, text=True, errors="replace", timeout=TIME_LIMIT, env=environment)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {TIME_LIMIT} s"
    if time.monotonic() - started > 3:
        print(f"slow: {time.monotonic() - started:.1f} s: {' '.join(line)[:300]}")
    return result.returncode, result.stdout + result.stderr


def crashed(status, output):
    return status < 0 or status >= 128 or any(
        sign in output for sign in ("Segmentation fault", "AddressSanitizer", "runtime error:", "terminate called", "core dumped"))


# ---------------------------------------------------------------- the model cases start from
base_model = test.path("model.h5")
status, output = run(["run"], sets=[f"input.path={DATA}/good.csv", "kmeans.k=3", "fpgrowth.min_support=0.05",
                                    'run.stages=["features", "kmeans", "fpgrowth", "propensity", "recommend"]', "propensity.per_segment=false",
                                    "propensity.validate=false", "recommend.validate=false", "recommend.factors=3",
                                    f"output.model={base_model}"])
if status != 0:
    sys.exit(f"FAIL: the base model did not build:\n{output}")


def replace(f, name, data):
    del f[name]
    f[name] = data


def set_first(f, name, value):
    data = f[name][()]
    data.flat[0] = value
    replace(f, name, data)


MUTATIONS = {
    "copy": lambda f: None,
    "centroid_nan": lambda f: set_first(f, "kmeans/centroids_scaled", np.nan),
    "centroid_inf": lambda f: set_first(f, "kmeans/centroids_scaled", np.inf),
    "centroid_huge": lambda f: set_first(f, "kmeans/centroids_scaled", 1e300),
    "segment_negative": lambda f: set_first(f, "assignments/segment", -1),
    "segment_k": lambda f: set_first(f, "assignments/segment", int(f["kmeans"].attrs["k"])),
    "segment_short": lambda f: replace(f, "assignments/segment", f["assignments/segment"][:-1]),
    "offsets_too_large": lambda f: replace(f, "fpgrowth/rules/antecedent_offsets", f["fpgrowth/rules/antecedent_offsets"][()] + 1000),
    "offsets_too_short": lambda f: replace(f, "fpgrowth/rules/antecedent_offsets", f["fpgrowth/rules/antecedent_offsets"][:-2]),
    "centroids_wrong_columns": lambda f: replace(f, "kmeans/centroids_scaled", f["kmeans/centroids_scaled"][:, :-1]),
    "centroids_one_row": lambda f: (replace(f, "kmeans/centroids_scaled", f["kmeans/centroids_scaled"][:1]),
                                    replace(f, "kmeans/centroids", f["kmeans/centroids"][:1])),
    "lift_short": lambda f: replace(f, "fpgrowth/rules/lift", f["fpgrowth/rules/lift"][:-1]),
    "not_a_model": lambda f: [f.attrs.__delitem__(name) for name in list(f.attrs)],
    "newer_schema": lambda f: f.attrs.__setitem__("schema_version", np.int64(99)),
    "propensity_coefficients_short": lambda f: replace(f, "propensity/churn/coefficients", f["propensity/churn/coefficients"][:-1]),
    "propensity_coefficient_nan": lambda f: set_first(f, "propensity/churn/coefficients", np.nan),
    "propensity_scaler_zero": lambda f: set_first(f, "propensity/scaler/scale", 0.0),
    "propensity_scores_short": lambda f: replace(f, "propensity/churn/scores", f["propensity/churn/scores"][:-1]),
    "propensity_target_missing": lambda f: f.__delitem__("propensity/churn"),
    "recommend_item_out_of_range": lambda f: set_first(f, "recommend/item_cf/items", 1000000),
    "recommend_offsets_short": lambda f: replace(f, "recommend/als/offsets", f["recommend/als/offsets"][:-1]),
    "recommend_score_nan": lambda f: set_first(f, "recommend/popularity/scores", np.nan),
    "recommend_method_missing": lambda f: f.__delitem__("recommend/rules"),
    "centroids_as_strings": lambda f: replace(f, "kmeans/centroids_scaled", np.array([b"a", b"b"] * 9, dtype="S8").reshape(3, 6)),
}


def mutated_model(name):
    path = test.path(f"mutated-{name.replace(':', '-')}.h5")
    shutil.copy(base_model, path)
    if name.startswith("truncate"):
        # truncate:F keeps the first F of the file (default half)
        with open(path, "r+b") as f:
            f.truncate(int(os.path.getsize(path) * float(name.partition(":")[2] or 0.5)))
    else:
        with h5py.File(path, "r+") as f:
            MUTATIONS[name](f)
    return path


def special_input(kind):
    """Paths that cannot be checked in: made here, in the case's own folder."""
    folder = test.path(f"special-{kind}")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(DATA, "good.csv"), os.path.join(folder, "a.csv"))
    if kind == "glob_nothing":
        return os.path.join(folder, "nothing*.csv")
    if kind == "directory":
        return folder
    if kind == "fifo":
        os.mkfifo(os.path.join(folder, "b.csv"))
        return os.path.join(folder, "*.csv")
    if kind == "dangling_symlink":
        os.symlink(os.path.join(folder, "gone.csv"), os.path.join(folder, "b.csv"))
        return os.path.join(folder, "*.csv")
    if kind == "read_only_directory":
        os.chmod(folder, 0o555)
        return os.path.join(folder, "a.csv")
    if kind == "unreadable":
        path = os.path.join(folder, "a.csv")
        os.chmod(path, 0)
        return path
    raise ValueError(kind)


def accounting_of(store):
    with open_model(store) as f:
        totals = f.accounting()
        return totals, totals.pop("reasons")


def run_case(case):
    name = case["name"]
    if (case.get("input") == "@unreadable" or case.get("needs_permissions")) and IS_ROOT:
        print(f"skip: {name}: root reads and writes any file, so permissions cannot be tested as root")
        return
    work = test.path(f"case-{name}")
    os.makedirs(work, exist_ok=True)
    given = case.get("input", "good.csv")
    source = special_input(given[1:]) if given.startswith("@") else os.path.join(DATA, given)
    # Only the cases that name the model get their own copy of it.
    uses_model = "mutate" in case or any("{mutated}" in text for text in case.get("args", []) + case.get("sets", []))
    mutated = mutated_model(case.get("mutate", "copy")) if uses_model else None
    values = {"input": source, "data": DATA, "work": work, "model": base_model, "mutated": mutated, "long": "C" * 70000}
    fill = lambda text: text.format(**values)  # noqa: E731
    command = case.get("command", "ingest")
    store = os.path.join(work, "store.h5")
    sets = [f"input.path={source}"]
    if command == "ingest":
        sets += [f"ingest.store={store}", f"ingest.rejects_file={work}/rejects.csv", "ingest.max_reject_fraction=1"]
    elif command in ("run", "score"):
        sets += [f"ingest.rejects_file={work}/rejects.csv"]
    sets += [fill(s) for s in case.get("sets", [])]
    status, output = run([command] + [fill(a) for a in case.get("args", [])], sets=sets)
    label = f"{name} at {RANKS} rank(s)"
    if crashed(status, output):
        test.check(False, f"{label}: crashed or hung (status {status}): {output[-600:]}")
        return
    ok = test.check(status == case["exit"], f"{label}: exit {status} (expected {case['exit']})")
    if "message" in case:
        ok &= test.check(case["message"] in output, f"{label}: the output names '{case['message']}'")
    if status != 0 and not ok:
        print(output[-1500:])
    if command == "ingest" and case["exit"] == 0 and status == 0:
        totals, rejected = accounting_of(store)
        balanced = totals["lines_read"] == totals["header"] + totals["blank"] + totals["accepted"] + totals["rejected"]
        test.check(balanced and totals["rejected"] == sum(rejected.values()),
                   f"{label}: read {totals['lines_read']} = header {totals['header']} + blank {totals['blank']} + accepted "
                   f"{totals['accepted']} + rejected {totals['rejected']}")
        expected = case.get("rejected", {})
        actual = {reason: count for reason, count in rejected.items() if count}
        test.check(actual == expected, f"{label}: rejects by reason {actual} (expected {expected})")
        for key in ("accepted", "lines_read", "header", "blank", "duplicate_lines"):
            if key in case:
                test.check(totals[key] == case[key], f"{label}: {key} {totals[key]} (expected {case[key]})")
        digest = store_digest(store, os.path.join(work, "rejects.csv"))
        if os.environ.get("MPISEG_PRINT_STORE_DIGESTS"):
            print(f"store_digest {name} {digest}")
        if "store_digest" in case:
            test.check(digest == case["store_digest"], f"{label}: the store and rejects are those of the reference parser "
                                                       f"(digest {digest[:12]}, expected {case['store_digest'][:12]})")


with open(os.path.join(DATA, "cases.toml"), "rb") as f:
    cases = tomllib.load(f)["case"]
only = os.environ.get("MPISEG_HOSTILE_CASE")
for case in cases:
    if not only or re.search(only, case["name"]):
        run_case(case)
if only:
    test.finish()

# ---------------------------------------------------------------- CSV formula injection
work = test.path("formula")
os.makedirs(work)
model, assignments = os.path.join(work, "m.h5"), os.path.join(work, "assignments.csv")
status, output = run(["run"], sets=[f"input.path={DATA}/formula_cells.csv", "kmeans.k=2", "fpgrowth.min_support=0.3",
                                    "fpgrowth.min_confidence=0.1", "fpgrowth.min_lift=0", f"output.model={model}", f"output.assignments_csv={assignments}",
                                    f"ingest.rejects_file={work}/rejects.csv"])
if test.check(status == 0, f"formula cells: the run succeeds (exit {status})"):
    def cells(path):
        with open(path, newline="", encoding="utf-8") as f:
            return [cell for row in list(csv.reader(f))[1:] for cell in row]

    def dangerous(values):
        return [v for v in values if v and v[0] in "=+-@\t\r" and not re.fullmatch(r"[+-]?[0-9.]+(e[+-]?[0-9]+)?", v)]

    customers = [row[0] for row in csv.reader(open(assignments, encoding="utf-8"))][1:]
    test.check(not dangerous(customers) and "'=cmd" in customers and "'@user" in customers and "-3" in customers and "+44" in customers,
               f"assignments_csv: formula-like customer ids are quoted, numbers are not ({customers})")
    for what in ("rules",):
        exported = os.path.join(work, f"{what}.csv")
        status, output = run(["export", model, "--what", what, "--out", exported], ranks=None)
        values = cells(exported)
        test.check(status == 0 and values and not dangerous(values) and any(v.startswith("'=") for v in values),
                   f"export --what {what}: no cell starts a formula, '= cells are quoted (exit {status})")
        raw = os.path.join(work, f"{what}-raw.csv")
        status, output = run(["export", model, "--what", what, "--out", raw, "--raw"], ranks=None)
        test.check(status == 0 and any(v.startswith("=") for v in cells(raw)), f"export --what {what} --raw keeps the cells as they are")

    # The report escapes every data-controlled string: an item description holding markup.
    with h5py.File(model, "r+") as f:
        descriptions = [b"<script>alert(1)</script>" for _ in f["fpgrowth/items/description"][()]]
        del f["fpgrowth/items/description"]
        f["fpgrowth/items/description"] = np.array(descriptions, dtype="S64")
    status, output = run(["report", model, "--out", os.path.join(work, "report")], ranks=None)
    page = open(os.path.join(work, "report", "index.html"), encoding="utf-8").read() if status == 0 else ""
    test.check(status == 0 and "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page,
               f"report: item descriptions with markup are escaped in the HTML (exit {status})")

# ---------------------------------------------------------------- full disk
if RANKS != 1:
    pass  # once is enough: the writes checked here are the same at every rank count
elif not IS_ROOT:
    print("skip: full disk: mounting a size-limited tmpfs needs root (an RLIMIT_FSIZE would stop MPI's own start-up)")
else:
    disk = test.path("full")
    os.makedirs(disk)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk], capture_output=True, text=True).returncode == 0
    if not mounted:
        print("skip: full disk: mount -t tmpfs failed (no privilege in this container)")
    else:
        try:
            # A previous model that fits, then a run whose model does not (the big input fills the disk).
            previous = os.path.join(disk, "model.h5")
            status, output = run(["run"], sets=[f"input.path={DATA}/good.csv", "kmeans.k=2", f"output.model={previous}",
                                                f"ingest.rejects_file={disk}/r.csv", f"run.checkpoint={test.path('checkpoint')}"])
            test.check(status == 0, f"full disk: a small model fits ({output[-300:] if status else 'ok'})")
            before = hashlib.sha256(open(previous, "rb").read()).hexdigest()
            try:
                with open(os.path.join(disk, "filler"), "wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:
                pass  # the disk is full
            listing = sorted(os.listdir(disk))
            checks = [
                ("run (model)", ["run"], [f"input.path={DATA}/good.csv", "kmeans.k=2", f"output.model={previous}",
                                          f"ingest.rejects_file={test.path('r.csv')}", f"run.checkpoint={test.path('checkpoint')}"], previous),
                ("ingest (store)", ["ingest"], [f"input.path={DATA}/good.csv", f"ingest.store={disk}/store.h5",
                                                f"ingest.rejects_file={test.path('r2.csv')}"], f"{disk}/store.h5"),
                ("rejects file", ["ingest"], [f"input.path={DATA}/wrong_field_counts.csv", f"ingest.store={test.path('s3.h5')}",
                                              "ingest.max_reject_fraction=1", f"ingest.rejects_file={disk}/rejects.csv"], f"{disk}/rejects.csv"),
                ("assignments_csv", ["run"], [f"input.path={DATA}/good.csv", "kmeans.k=2", f"output.model={test.path('m4.h5')}",
                                              f"output.assignments_csv={disk}/assignments.csv", f"ingest.rejects_file={test.path('r4.csv')}"],
                 f"{disk}/assignments.csv"),
                ("export", ["export", base_model, "--what", "rules", "--out", f"{disk}/rules.csv"], [], f"{disk}/rules.csv"),
                ("report", ["report", base_model, "--out", f"{disk}/report"], [], f"{disk}/report/index.html"),
            ]
            for label, arguments, sets, final in checks:
                status, output = run(arguments, sets=sets, ranks=None if arguments[0] in ("export", "report") else RANKS)
                named = "report" if arguments[0] == "report" else os.path.basename(final)
                test.check(status not in (0, -1) and not crashed(status, output) and named in output,
                           f"full disk: {label} fails naming the file (exit {status}): {output.strip().splitlines()[-1][:200] if output.strip() else ''}")
                test.check(not os.path.exists(final) or final == previous, f"full disk: {label}: nothing at {final}")
            leftovers = [name for name in os.listdir(disk) if name.endswith(".tmp") or (name not in listing and name != "report")]
            test.check(not leftovers, f"full disk: no temporary or partial file left ({leftovers})")
            test.check(hashlib.sha256(open(previous, "rb").read()).hexdigest() == before, "full disk: the previous model is unchanged")
        finally:
            subprocess.run(["umount", disk])

# ---------------------------------------------------------------- signals and stale checkpoints
if RANKS == 1:
    work = test.path("signals")
    os.makedirs(work)
    source_csv = os.path.join(work, "items.csv")
    shutil.copy(os.path.join(DATA, "good.csv"), source_csv)
    job_sets = [f"input.path={source_csv}", "kmeans.k=[2, 3]", "kmeans.n_init=3", f"output.model={work}/m.h5",
                f"run.checkpoint={work}/checkpoint", f"ingest.rejects_file={work}/r.csv"]
    # SIGUSR1 while MPI starts: a checkpoint request like any other (exit 75), not death by signal.
    process = subprocess.Popen(test.command(None, "run", sets=job_sets), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.15)
    process.send_signal(signal.SIGUSR1)
    output = process.communicate(timeout=TIME_LIMIT)[0]
    test.check(process.returncode == 75, f"SIGUSR1 during start-up: exit {process.returncode} (expected 75, a checkpoint)")
    # The checkpoint resumes only for the same input bytes: the same size and modification time
    # with other content (one digit changed) is another input.
    status, output = run(["run"], sets=job_sets + ["run.resume=require"])
    test.check(status == 0, f"the unchanged input resumes from its checkpoint (exit {status})")
    process = subprocess.Popen(test.command(None, "run", sets=job_sets), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.15)
    process.send_signal(signal.SIGUSR1)
    process.communicate(timeout=TIME_LIMIT)
    stamp = os.stat(source_csv)
    content = open(source_csv, "rb").read()
    changed = content.replace(b",2.55,", b",2.56,", 1)
    assert changed != content and len(changed) == len(content)
    open(source_csv, "wb").write(changed)
    os.utime(source_csv, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    status, output = run(["run"], sets=job_sets + ["run.resume=require"])
    test.check(status == 2 and "no checkpoint of this job and input" in output,
               f"an input rewritten with the same size and mtime does not resume a stale checkpoint (exit {status})")
    status, output = run(["run"], sets=job_sets)
    test.check(status == 0 and "starting afresh" in output, f"... and `resume = auto` starts afresh (exit {status})")

# ---------------------------------------------------------------- random byte flips
if RANKS == 1:
    generator = random.Random(19)
    size = os.path.getsize(base_model)
    outcomes = {}
    for trial in range(6):
        path = test.path(f"flipped-{trial}.h5")
        data = bytearray(open(base_model, "rb").read())
        for _ in range(8):
            data[generator.randrange(size)] ^= 1 << generator.randrange(8)
        open(path, "wb").write(data)
        for arguments in (["inspect", path], ["export", path, "--what", "rules"], ["export", path, "--what", "centroids"],
                          ["compare", base_model, path]):
            status, output = run(arguments, ranks=None)
            outcomes[status] = outcomes.get(status, 0) + 1
            if crashed(status, output) or status not in (0, 1, 2):
                test.check(False, f"byte flips {trial}: {' '.join(arguments[:1])} crashed or hung (status {status}): {output[-400:]}")
    test.check(set(outcomes) <= {0, 1, 2}, f"byte flips: 24 tool runs on damaged models end with 0, 1 or 2 ({outcomes})")

test.finish()
