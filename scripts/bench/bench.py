"""mpiseg benchmarks: every figure is a median of several runs, next to a reference run on the
same input with the same cores in the same invocation, reported as a ratio.

    scripts/bench/run.sh quick            # all benchmarks, small sizes (< 15 minutes)
    scripts/bench/run.sh full generate    # one benchmark at full size
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MPISEG_BUILD_DIR", ROOT / "build"))
MPISEG = BUILD / "mpiseg"
WORK = Path(os.environ.get("MPISEG_BENCH_DIR", BUILD / "bench"))
RESULTS = ROOT / "scripts" / "bench" / "results"


def run(command, **kwargs):
    """Runs a command, returns (seconds, stdout+stderr); raises on failure."""
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}")
    return seconds, done.stdout


def mpirun(ranks, *arguments):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", str(MPISEG), *map(str, arguments)]


def median_spread(values):
    return statistics.median(values), (max(values) - min(values)) if len(values) > 1 else 0.0


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        memory = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1)) // (1024 * 1024)
    except (OSError, AttributeError):
        pass
    return f"{model}, {os.cpu_count()} cores, {memory} GiB, {platform.system()} {platform.release()}"


def commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


# ---------------------------------------------------------------- benchmarks


def bench_generate(mode):
    """Generator throughput (line items per second per rank) against copying the same bytes."""
    lines = 2_000_000 if mode == "quick" else 20_000_000
    customers = lines // 50
    repeats = 3 if mode == "quick" else 5
    out = WORK / "generate"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for ranks in (1, 2):
        ours, reference = [], []
        written = 0
        for _ in range(repeats):
            seconds, log = run(mpirun(ranks, "generate", "--set", f"generate.customers={customers}",
                                      "--set", f"generate.line_items={lines}", "--set", f"generate.output={out / 'items.csv'}",
                                      "--set", "generate.truth="))
            written = int(re.search(r"generate: (\d+) line items", log).group(1))
            ours.append(seconds)
            copy_seconds, _ = run(["cp", str(out / "items.csv"), str(out / "copy.csv")])
            reference.append(copy_seconds)
        median, spread = median_spread(ours)
        reference_median, _ = median_spread(reference)
        rows.append({
            "benchmark": "generate", "case": f"{written:,} line items", "ranks": ranks,
            "mpiseg_s": round(median, 3), "spread_s": round(spread, 3),
            "per_rank": f"{written / median / ranks / 1e6:.2f} M lines/s per rank",
            "reference": "cp of the output file", "reference_s": round(reference_median, 3),
            "ratio": round(median / reference_median, 2), "timing": "whole process (mpiexec included)",
        })
    shutil.rmtree(out, ignore_errors=True)
    return rows


def generated_csv(lines, name):
    """A generated line-item CSV of about `lines` lines, made once per invocation."""
    path = WORK / f"{name}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        run(mpirun(2, "generate", "--set", f"generate.customers={max(1000, lines // 50)}", "--set", f"generate.line_items={lines}",
                   "--set", f"generate.output={path}", "--set", "generate.truth="))
    return path


PANDAS_READ = """
import sys, time, pandas
start = time.perf_counter()
frame = pandas.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "CustomerID": str,
                                            "Country": str}, parse_dates=["InvoiceDate"], on_bad_lines="skip")
print(time.perf_counter() - start, len(frame))
"""


def bench_ingest(mode):
    """CSV parse throughput per rank (mpiseg's parse phase) against pandas.read_csv on the same file."""
    lines = 2_000_000 if mode == "quick" else 10_000_000
    repeats = 3 if mode == "quick" else 5
    path = generated_csv(lines, f"ingest_{lines}")
    megabytes = path.stat().st_size / 1e6
    store = WORK / "ingest_store.h5"
    rows = []
    for ranks in (1, 2):
        ours, theirs = [], []
        for _ in range(repeats):
            _, log = run(mpirun(ranks, "ingest", "--set", f"input.path={path}", "--set", f"ingest.store={store}"))
            ours.append(float(re.search(r"parsed in ([0-9.]+) s", log).group(1)))
            _, out = run(["/usr/bin/python3", "-c", PANDAS_READ, str(path)])
            theirs.append(float(out.split()[0]))
        median, spread = median_spread(ours)
        reference, _ = median_spread(theirs)
        rows.append({
            "benchmark": "ingest (CSV parse)", "case": f"{megabytes:.0f} MB, {lines:,} lines", "ranks": ranks,
            "mpiseg_s": round(median, 3), "spread_s": round(spread, 3),
            "per_rank": f"{megabytes / median / ranks:.0f} MB/s per rank (target >= 300)",
            "reference": "pandas.read_csv, 1 core", "reference_s": round(reference, 3),
            "ratio": round(median * ranks / reference, 3),
            "timing": "parse phase; ratio = mpiseg core-seconds / pandas seconds",
        })
    store.unlink(missing_ok=True)
    return rows


def online_retail_csv():
    path = Path(os.environ.get("MPISEG_SHARED_DATA", ROOT.parent / "shared" / "data")) / "online_retail" / "online_retail.csv"
    return path if path.exists() else None


def bench_features(mode):
    """`mpiseg features` (read, ingest, features, model file) against the pandas pipeline, whole process."""
    repeats = 3 if mode == "quick" else 5
    cases = []
    if online_retail_csv():
        cases.append(("Online Retail", online_retail_csv()))
    cases.append(("generated", generated_csv(2_000_000 if mode == "quick" else 10_000_000, "features")))
    rows = []
    for name, path in cases:
        for ranks in (1, 2):
            ours, theirs = [], []
            for _ in range(repeats):
                seconds, log = run(mpirun(ranks, "features", "--set", f"input.path={path}", "--set",
                                          f"output.model={WORK / 'features_model.h5'}", "--set", "ingest.max_reject_fraction=1"))
                ours.append(seconds)
                _, out = run(["/usr/bin/python3", str(ROOT / "scripts" / "bench" / "pandas_features.py"), str(path),
                              str(WORK / "pandas_features.csv")])
                theirs.append(float(out.split()[0]))
            median, spread = median_spread(ours)
            reference, _ = median_spread(theirs)
            customers = re.search(r"features: (\d+) customers", log).group(1)
            rows.append({
                "benchmark": "features", "case": f"{name}, {customers} customers", "ranks": ranks,
                "mpiseg_s": round(median, 3), "spread_s": round(spread, 3), "per_rank": "",
                "reference": "pandas read_csv + groupby, 1 core", "reference_s": round(reference, 3),
                "ratio": round(median / reference, 3),
                "timing": "whole process: mpiseg includes mpiexec start, ingest, model write; pandas its read and compute",
            })
    return rows


READ_STORE = """
import sys, time, h5py
start = time.perf_counter()
with h5py.File(sys.argv[1], "r") as f:
    total = sum(f["lineitems"][name][:].nbytes for name in f["lineitems"])
print(time.perf_counter() - start, total)
"""


def bench_store(mode):
    """Reading the columnar store back (mpiseg read_store) against h5py reading the same columns."""
    lines = 2_000_000 if mode == "quick" else 10_000_000
    path = generated_csv(lines, f"ingest_{lines}")
    store = WORK / "bench_store.h5"
    run(mpirun(2, "ingest", "--set", f"input.path={path}", "--set", f"ingest.store={store}"))
    rows = []
    for ranks in (1, 2):
        ours, theirs = [], []
        gigabytes, stored_rows = 0.0, 0
        for _ in range(3 if mode == "quick" else 5):
            _, log = run(mpirun(ranks, "features", "--set", "input.format=store", "--set", f"input.path={store}",
                                "--set", f"output.model={WORK / 'store_model.h5'}"))
            match = re.search(r"store: (\d+) rows from .* in ([0-9.]+) s", log)
            stored_rows = int(match.group(1))
            ours.append(float(match.group(2)))
            _, out = run(["/usr/bin/python3", "-c", READ_STORE, str(store)])
            seconds, total = out.split()
            theirs.append(float(seconds))
            gigabytes = int(total) / 1e9
        median, spread = median_spread(ours)
        reference, _ = median_spread(theirs)
        rows.append({
            "benchmark": "store read", "case": f"{stored_rows:,} rows, {gigabytes:.2f} GB of columns", "ranks": ranks,
            "mpiseg_s": round(median, 3), "spread_s": round(spread, 3), "per_rank": f"{gigabytes / median:.2f} GB/s",
            "reference": "h5py reads the same columns, 1 core", "reference_s": round(reference, 3),
            "ratio": round(median / reference, 3), "timing": "read phase (page cache)",
        })
    store.unlink(missing_ok=True)
    return rows


MAKE_BLOBS = """
import sys, h5py, numpy as np
n, d, k, path, init = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rng = np.random.default_rng(2024)
centers = rng.normal(scale=3.0, size=(k, d))
X = centers[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
with h5py.File(path, "w") as f:
    f["X"] = X
np.savetxt(init, X[rng.choice(n, size=k, replace=False)], delimiter=",", fmt="%.17g")
"""

SKLEARN_LLOYD = """
import sys, time, h5py, numpy as np
from threadpoolctl import threadpool_info
from sklearn.cluster import KMeans
X = h5py.File(sys.argv[1], "r")["X"][:]
init = np.loadtxt(sys.argv[2], delimiter=",")
start = time.perf_counter()
model = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=int(sys.argv[3]), tol=0.0, algorithm="lloyd").fit(X)
seconds = time.perf_counter() - start
blas = ";".join(f"{i['internal_api']}:{i.get('num_threads')}" for i in threadpool_info())
print(seconds, model.n_iter_, repr(model.inertia_), blas)
"""

STREAM = """
import time, numpy as np
a = np.ones(2**27); b = np.empty_like(a)
best = 1e9
for _ in range(5):
    start = time.perf_counter(); np.copyto(b, a); best = min(best, time.perf_counter() - start)
print(2 * a.nbytes / best / 1e9)
"""


def bench_kmeans(mode):
    """Seconds per Lloyd iteration against scikit-learn's lloyd, same start, same iterations, same cores."""
    repeats = 3 if mode == "quick" else 5
    iterations = 40 if mode == "quick" else 100
    _, out = run(["/usr/bin/python3", "-c", STREAM])
    bandwidth = float(out)
    rows = []
    for n, d, k in ((1_000_000, 8, 8), (200_000, 32, 50)):
        matrix, init = WORK / f"blobs_{n}_{d}.h5", WORK / f"blobs_{n}_{d}_init.csv"
        WORK.mkdir(parents=True, exist_ok=True)
        run(["/usr/bin/python3", "-c", MAKE_BLOBS, str(n), str(d), str(k), str(matrix), str(init)])
        for ranks in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(ranks), OPENBLAS_NUM_THREADS=str(ranks))
            times = {"false": [], "true": []}
            reference, blas, agree, iteration_counts = [], "", True, set()
            for _ in range(repeats):
                for accelerate in ("false", "true"):
                    _, log = run(mpirun(ranks, "kmeans", "--log-level", "debug", "--set", "input.format=matrix",
                                        "--set", f"input.path={matrix}:/X", "--set", f"output.model={WORK / 'bench_kmeans.h5'}",
                                        "--set", f"kmeans.k={k}", "--set", "kmeans.init=file", "--set", f"kmeans.init_file={init}",
                                        "--set", f"kmeans.max_iter={iterations}", "--set", "kmeans.tol=0",
                                        "--set", f"kmeans.accelerate={accelerate}", "--set", "kmeans.silhouette_sample=0"))
                    match = re.search(r"Lloyd ([0-9.]+) s for (\d+) iteration", log)
                    times[accelerate].append(float(match.group(1)) / int(match.group(2)))
                    iteration_counts.add(int(match.group(2)))
                    ours_inertia = float(re.search(r"inertia ([0-9.e+]+)", log).group(1))
                _, out = run(["/usr/bin/python3", "-c", SKLEARN_LLOYD, str(matrix), str(init), str(iterations)], env=env)
                seconds, n_iter, inertia, blas = out.split()
                reference.append(float(seconds) / int(n_iter))
                iteration_counts.add(int(n_iter))
                with h5py_model(WORK / "bench_kmeans.h5") as exact:
                    agree = agree and abs(exact - float(inertia)) <= 1e-9 * float(inertia)
            reference_median, _ = median_spread(reference)
            for accelerate, label in (("false", "plain Lloyd"), ("true", "Hamerly (default)")):
                median, spread = median_spread(times[accelerate])
                streamed = n * (8 * d + 28)  # bytes a plain Lloyd iteration reads or writes: points, norms, labels, distances
                rows.append({
                    "benchmark": f"kmeans {label}", "case": f"{n:,} x {d}, k={k}, {sorted(iteration_counts)} iterations",
                    "ranks": ranks, "mpiseg_s": round(median, 5), "spread_s": round(spread, 5),
                    "per_rank": (f"{streamed / median / 1e9:.1f} GB/s of {streamed / 1e6:.0f} MB per iteration (copy bandwidth {bandwidth:.0f} GB/s)"
                                 if accelerate == "false" else f"{streamed / median / 1e9:.1f} GB/s plain-Lloyd-equivalent"),
                    "reference": f"scikit-learn lloyd, {ranks} thread(s) [{blas}]", "reference_s": round(reference_median, 5),
                    "ratio": round(median / reference_median, 3),
                    "timing": f"seconds per iteration; inertia equal to 1e-9: {'yes' if agree else 'NO'}",
                })
    return rows


class h5py_model:
    """The final inertia of an mpiseg model (read with h5py, which is a test/bench dependency)."""

    def __init__(self, path):
        import h5py
        self.file = h5py.File(path, "r")

    def __enter__(self):
        return float(self.file["kmeans"].attrs["inertia"])

    def __exit__(self, *args):
        self.file.close()


BENCHMARKS = {"generate": bench_generate, "ingest": bench_ingest, "store": bench_store, "features": bench_features,
              "kmeans": bench_kmeans}


def write_readme_table(rows, header):
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN BENCHMARKS -->\n", "<!-- END BENCHMARKS -->"
    if begin not in text:
        return
    table = [header, "", "| benchmark | case | ranks | mpiseg [s] | spread [s] | throughput | reference | reference [s] | ratio | timing |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        table.append(f"| {row['benchmark']} | {row['case']} | {row['ranks']} | {row['mpiseg_s']} | {row['spread_s']} | "
                     f"{row.get('per_rank', '')} | {row['reference']} | {row['reference_s']} | {row['ratio']} | {row['timing']} |")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + "\n".join(table) + "\n" + end + tail, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="quick", choices=["quick", "full"])
    parser.add_argument("benchmarks", nargs="*", default=list(BENCHMARKS))
    args = parser.parse_args()
    if not MPISEG.exists():
        sys.exit(f"{MPISEG} not found: run scripts/setup.sh first")
    rows = []
    for name in args.benchmarks:
        print(f"== {name} ({args.mode})", flush=True)
        for row in BENCHMARKS[name](args.mode):
            print(json.dumps(row), flush=True)
            rows.append(row)
    stamp = datetime.date.today().isoformat()
    header = f"Measured {stamp} on {machine()}, commit {commit()}, mode `{args.mode}` (`scripts/bench/run.sh {args.mode}`)."
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench.json").write_text(json.dumps({"date": stamp, "machine": machine(), "commit": commit(),
                                                    "mode": args.mode, "rows": rows}, indent=2))
    if set(args.benchmarks) == set(BENCHMARKS):
        write_readme_table(rows, header)
    print(f"results: {RESULTS / 'bench.json'}")


if __name__ == "__main__":
    main()
