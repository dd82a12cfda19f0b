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
sys.path.insert(0, str(ROOT / "scripts"))
# References and checks run on the interpreter that runs this script (run.sh: Debian's python3).
PYTHON = sys.executable


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


def comparison_row(benchmark, case, ranks, ours, theirs, reference, timing, per_rank="", digits=3, ratio_digits=3, cores=1):
    """A table row from alternating runs: mpiseg's median and spread, the reference's median and the
    ratio of mpiseg's seconds times `cores` to the reference's (cores=ranks: core-seconds against a
    one-core reference). `per_rank` is text, or a function of mpiseg's median that gives it."""
    median, spread = median_spread(ours)
    reference_median, _ = median_spread(theirs)
    return {"benchmark": benchmark, "case": case, "ranks": ranks, "mpiseg_s": round(median, digits), "spread_s": round(spread, digits),
            "per_rank": per_rank(median) if callable(per_rank) else per_rank, "reference": reference,
            "reference_s": round(reference_median, digits), "ratio": round(median * cores / reference_median, ratio_digits),
            "timing": timing}


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
    """The commit measured; "-dirty" when source files differ from it (the results files this
    script writes, README.md and results/, do not count). MPISEG_BENCH_COMMIT names it for a copy
    of the tree without its git history (a checkout copied to a larger machine)."""
    if os.environ.get("MPISEG_BENCH_COMMIT"):
        return os.environ["MPISEG_BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", ".",
                                  ":(exclude)README.md", ":(exclude)scripts/bench/results"], capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if changed else "") if head else "unknown"
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
        rows.append(comparison_row("generate", f"{written:,} line items", ranks, ours, reference, "cp of the output file",
                                   "whole process (mpiexec included)", ratio_digits=2,
                                   per_rank=lambda median: f"{written / median / ranks / 1e6:.2f} M lines/s per rank"))
    shutil.rmtree(out, ignore_errors=True)
    return rows


def shared_file(*parts):
    """A file under ../shared/data (MPISEG_SHARED_DATA), or None when it is absent."""
    path = Path(os.environ.get("MPISEG_SHARED_DATA", ROOT.parent / "shared" / "data")).joinpath(*parts)
    return path if path.exists() else None


def generated_csv(lines, name):
    """A generated line-item CSV of about `lines` lines, made once per invocation."""
    path = WORK / f"{name}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        # The bytes do not depend on the rank count: use the cores there are.
        run(mpirun(max(2, min(os.cpu_count() or 2, 16)), "generate", "--set", f"generate.customers={max(1000, lines // 50)}", "--set", f"generate.line_items={lines}",
                   "--set", f"generate.output={path}", "--set", "generate.truth="))
    return path


PANDAS_READ = """
import sys, time, pandas
start = time.perf_counter()
frame = pandas.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "CustomerID": str,
                                            "Country": str}, parse_dates=["InvoiceDate"], on_bad_lines="skip")
print(time.perf_counter() - start, len(frame))
"""


def alternate_parse(ranks, path, store, repeats, reference, floor=None):
    """mpiseg's parse-phase seconds and the reference command's seconds (the float its output
    starts with, or its wall time when it prints nothing), alternating `repeats` times, and the
    wall times of the `floor` command in the same alternation (none without one)."""
    ours, theirs, floors = [], [], []
    model = WORK / "parse_model.h5"
    for _ in range(repeats):
        run(mpirun(ranks, "run", "--set", f"input.path={path}", "--set", f"ingest.store={store}", "--set", 'run.stages=[]',
                   "--set", f"output.model={model}", "--set", "output.assignments_csv="))
        ours.append(stage_figures(model)["ingest"]["parse_seconds"])
        seconds, out = run(reference)
        theirs.append(float(out.split()[0]) if out.strip() else seconds)
        if floor:
            floors.append(run(floor)[0])
    return ours, theirs, floors


def parse_case(mode):
    """The generated CSV the parse benchmarks read: (lines, repeats, path, megabytes)."""
    lines = 2_000_000 if mode == "quick" else 20_000_000  # full: the size the parse target names
    path = generated_csv(lines, f"ingest_{lines}")
    return lines, 3 if mode == "quick" else 5, path, path.stat().st_size / 1e6


def bench_ingest(mode):
    """CSV parse throughput per rank (mpiseg's parse phase) against pandas.read_csv on the same file."""
    lines, repeats, path, megabytes = parse_case(mode)
    store = WORK / "ingest_store.h5"
    rows = []
    for ranks in (1, 2):
        ours, theirs, floor = alternate_parse(ranks, path, store, repeats, [PYTHON, "-c", PANDAS_READ, str(path)],
                                              floor=["sh", "-c", f"cat '{path}' > /dev/null"])
        floor_rate = megabytes / median_spread(floor)[0]
        rows.append(comparison_row("ingest (CSV parse)", f"{megabytes:.0f} MB, {lines:,} lines", ranks, ours, theirs,
                                   "pandas.read_csv, 1 core", "parse phase; ratio = mpiseg core-seconds / pandas seconds", cores=ranks,
                                   per_rank=lambda median: f"{megabytes / median / ranks:.0f} MB/s per rank (target >= 600); "
                                                           f"floor: cat > /dev/null {floor_rate:.0f} MB/s"))
    store.unlink(missing_ok=True)
    return rows


def bench_compressed(mode):
    """Compressed input (.csv.gz, .csv.zst): mpiseg's parse phase, decompression included, in MB
    of uncompressed data per second per rank, against decompressing the same file to /dev/null
    with the command-line tool (the floor: one rank decompresses the file whatever the rank count)."""
    lines, repeats, plain, megabytes = parse_case(mode)
    store = WORK / "compressed_store.h5"
    rows = []
    for kind, suffix, pack, unpack in [("gzip", ".gz", ["gzip", "-k", "-f"], "zcat"), ("zstd", ".zst", ["zstd", "-q", "-f"], "zstdcat")]:
        packed = Path(f"{plain}{suffix}")
        if not packed.exists():
            run([*pack, str(plain)])
        on_disk = packed.stat().st_size / 1e6
        for ranks in (1, 2):
            ours, theirs, _ = alternate_parse(ranks, packed, store, repeats, ["sh", "-c", f"{unpack} '{packed}' > /dev/null"])
            rows.append(comparison_row(
                "ingest (compressed CSV)", f"{kind}: {megabytes:.0f} MB ({on_disk:.0f} MB on disk), {lines:,} lines", ranks, ours, theirs,
                f"{unpack} > /dev/null, 1 core",
                "parse phase incl. decompression (in a thread beside the parse); ratio = mpiseg seconds / the tool's seconds",
                per_rank=lambda median: f"{megabytes / median / ranks:.0f} MB/s per rank of uncompressed data ({megabytes / median:.0f} MB/s in all)"))
    store.unlink(missing_ok=True)
    return rows


def bench_features(mode):
    """`mpiseg features` (read, ingest, features, model file) against the pandas pipeline, whole process."""
    repeats = 3 if mode == "quick" else 5
    cases = []
    online_retail = shared_file("online_retail", "online_retail.csv")
    if online_retail:
        cases.append(("Online Retail", online_retail))
    cases.append(("generated", generated_csv(2_000_000 if mode == "quick" else 10_000_000, "features")))
    rows = []
    for name, path in cases:
        for ranks in (1, 2):
            ours, theirs = [], []
            for _ in range(repeats):
                seconds, _ = run(mpirun(ranks, "features", "--set", f"input.path={path}", "--set",
                                          f"output.model={WORK / 'features_model.h5'}", "--set", "ingest.max_reject_fraction=1"))
                ours.append(seconds)
                _, out = run([PYTHON, str(ROOT / "scripts" / "bench" / "pandas_features.py"), str(path),
                              str(WORK / "pandas_features.csv")])
                theirs.append(float(out.split()[0]))
            with open_model(WORK / "features_model.h5") as model:
                customers = f'{int(model["features"].attrs["customers"]):,}'
            rows.append(comparison_row("features", f"{name}, {customers} customers", ranks, ours, theirs, "pandas read_csv + groupby, 1 core",
                                       "whole process: mpiseg includes mpiexec start, ingest, model write; pandas its read and compute"))
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
            run(mpirun(ranks, "features", "--set", "input.format=store", "--set", f"input.path={store}",
                       "--set", f"output.model={WORK / 'store_model.h5'}"))
            read = stage_figures(WORK / "store_model.h5")["ingest"]
            stored_rows = int(read["rows"])
            ours.append(read["read_seconds"])
            _, out = run([PYTHON, "-c", READ_STORE, str(store)])
            seconds, total = out.split()
            theirs.append(float(seconds))
            gigabytes = int(total) / 1e9
        rows.append(comparison_row("store read", f"{stored_rows:,} rows, {gigabytes:.2f} GB of columns", ranks, ours, theirs,
                                   "h5py reads the same columns, 1 core", "read phase (page cache)",
                                   per_rank=lambda median: f"{gigabytes / median:.2f} GB/s"))
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


MATRIX_TO_TEXT = """
import sys, h5py, numpy as np
np.savetxt(sys.argv[2], h5py.File(sys.argv[1], "r")["X"][:], fmt="%.17g", delimiter=" ")
"""

ELKI_JAR = Path(os.environ.get("MPISEG_ELKI_JAR", "/usr/share/java/elki.jar"))  # Debian package elki (0.7.1)


def elki_seconds_per_iteration(algorithm, points, init, k, iterations):
    """ELKI's k-means `algorithm` (KMeansHamerly, KMeansElkan) from the same initial centroids for
    the same iterations: its own runtime line (JIT warm-up included, loading the file excluded)
    per iteration. The JAR index check is off: Debian's elki.jar trips JDK 17's (elki-cli fails)."""
    means = ";".join(open(init).read().split())
    _, out = run(["java", "-Djdk.net.URLClassPath.enableJarIndex=false", "-cp", str(ELKI_JAR),
                  "de.lmu.ifi.dbs.elki.application.KDDCLIApplication", "-dbc.in", str(points),
                  "-algorithm", f"clustering.kmeans.{algorithm}", "-kmeans.k", str(k), "-kmeans.maxiter", str(iterations),
                  "-kmeans.initialization", "PredefinedInitialMeans", "-kmeans.means", means, "-time",
                  "-resulthandler", "DiscardResultHandler"])
    seconds = float(re.search(rf"{algorithm}\.runtime: (\d+) ms", out).group(1)) / 1000
    return seconds / int(re.search(rf"{algorithm}\.iterations: (\d+)", out).group(1))


def bench_kmeans(mode):
    """Seconds per Lloyd iteration against scikit-learn's lloyd, same start, same iterations, same
    cores: each assignment step (plain Lloyd, Hamerly, Yinyang at large k) on the same data."""
    repeats = 3 if mode == "quick" else 5
    _, out = run([PYTHON, "-c", STREAM])
    bandwidth = float(out)
    rows = []
    labels = {"lloyd": "plain Lloyd", "hamerly": "Hamerly", "yinyang": "Yinyang"}
    cases = [(1_000_000, 8, 8, 40, ("lloyd", "hamerly")), (200_000, 32, 50, 40, ("lloyd", "hamerly")),
             (500_000, 16, 100, 15, ("lloyd", "hamerly", "yinyang")), (500_000, 16, 256, 15, ("lloyd", "hamerly", "yinyang")),
             (500_000, 4, 256, 15, ("lloyd", "hamerly", "yinyang"))]
    for n, d, k, quick_iterations, algorithms in cases:
        iterations = quick_iterations if mode == "quick" else 100
        automatic = "yinyang" if k >= 64 and d <= 4 else "hamerly"  # kmeans::algorithm_for
        matrix, init = WORK / f"blobs_{n}_{d}_{k}.h5", WORK / f"blobs_{n}_{d}_{k}_init.csv"
        WORK.mkdir(parents=True, exist_ok=True)
        run([PYTHON, "-c", MAKE_BLOBS, str(n), str(d), str(k), str(matrix), str(init)])
        for ranks in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(ranks), OPENBLAS_NUM_THREADS=str(ranks))
            times = {algorithm: [] for algorithm in algorithms}
            reference, blas, agree, iteration_counts, final_inertias = [], "", True, set(), set()
            for _ in range(repeats):
                for algorithm in algorithms:
                    run(mpirun(ranks, "kmeans", "--set", "input.format=matrix",
                               "--set", f"input.path={matrix}:/X", "--set", f"output.model={WORK / 'bench_kmeans.h5'}",
                               "--set", f"kmeans.k={k}", "--set", "kmeans.init=file", "--set", f"kmeans.init_file={init}",
                               "--set", f"kmeans.max_iter={iterations}", "--set", "kmeans.tol=0",
                               "--set", f"kmeans.algorithm={algorithm}", "--set", "kmeans.silhouette_sample=0"))
                    lloyd = stage_figures(WORK / "bench_kmeans.h5")["kmeans"]
                    times[algorithm].append(lloyd["lloyd_seconds"] / lloyd["lloyd_iterations"])
                    iteration_counts.add(int(lloyd["lloyd_iterations"]))
                    with open_model(WORK / "bench_kmeans.h5") as exact:
                        final_inertias.add(float(exact["kmeans"].attrs["inertia"]))
                _, out = run([PYTHON, "-c", SKLEARN_LLOYD, str(matrix), str(init), str(iterations)], env=env)
                seconds, n_iter, inertia, blas = out.split()
                reference.append(float(seconds) / int(n_iter))
                iteration_counts.add(int(n_iter))
                agree = agree and len(final_inertias) == 1 and abs(next(iter(final_inertias)) - float(inertia)) <= 1e-9 * float(inertia)
            reference_median, _ = median_spread(reference)
            if ranks == 1:
                one_rank = times[automatic]
            for algorithm in algorithms:
                median, spread = median_spread(times[algorithm])
                streamed = n * (8 * d + 28)  # bytes a plain Lloyd iteration reads or writes: points, norms, labels, distances
                rows.append({
                    "benchmark": f"kmeans {labels[algorithm]}{' (default)' if algorithm == automatic else ''}",
                    "case": f"{n:,} x {d}, k={k}, {sorted(iteration_counts)} iterations",
                    "ranks": ranks, "mpiseg_s": round(median, 5), "spread_s": round(spread, 5),
                    "per_rank": (f"{streamed / median / 1e9:.1f} GB/s of {streamed / 1e6:.0f} MB per iteration (copy bandwidth {bandwidth:.0f} GB/s)"
                                 if algorithm == "lloyd" else f"{streamed / median / 1e9:.1f} GB/s plain-Lloyd-equivalent"),
                    "reference": f"scikit-learn lloyd, {ranks} thread(s) [{blas}]", "reference_s": round(reference_median, 5),
                    "ratio": round(median / reference_median, 3),
                    "timing": f"seconds per iteration; every step's final inertia identical, equal to scikit-learn's to 1e-9: {'yes' if agree else 'NO'}",
                })
        if k >= 100 and d == 16:  # the large-k cases: ELKI's bound schemes beside them, where ELKI runs
            if not (ELKI_JAR.exists() and shutil.which("java")):
                print(f"note: ELKI ({ELKI_JAR}, Debian package elki) is absent: not compared at k={k}")
                continue
            points = WORK / f"blobs_{n}_{d}_{k}.txt"
            run([PYTHON, "-c", MATRIX_TO_TEXT, str(matrix), str(points)])
            elki = {name: [elki_seconds_per_iteration(name, points, init, k, iterations) for _ in range(repeats)]
                    for name in ("KMeansHamerly", "KMeansElkan")}
            points.unlink()
            best = min(elki, key=lambda name: median_spread(elki[name])[0])
            median, spread = median_spread(one_rank)
            rows.append({
                "benchmark": f"kmeans {labels[automatic]} (default) vs ELKI", "case": f"{n:,} x {d}, k={k}, {iterations} iterations",
                "ranks": 1, "mpiseg_s": round(median, 5), "spread_s": round(spread, 5),
                "per_rank": "ELKI " + ", ".join(f"{name} {median_spread(times_)[0]:.4f} s" for name, times_ in elki.items()),
                "reference": f"ELKI 0.7.1 {best} (Java, 1 thread)", "reference_s": round(median_spread(elki[best])[0], 5),
                "ratio": round(median / median_spread(elki[best])[0], 3),
                "timing": "seconds per iteration, same start and iterations; ELKI's own runtime (JIT warm-up included); "
                          "ELKI 0.7.1 has no Exponion",
            })
    return rows


def peak_megabytes(model):
    """Largest rank's peak resident memory over a model's stages, in MB."""
    with open_model(model) as f:
        return round(max(cost.peak_memory_bytes for cost in f.stage_costs().values()) / 1e6)


PEER_FPGROWTH = Path(os.environ.get("MPISEG_SHARED_PEERS", ROOT.parent / "shared" / "peers")) / "fpgrowth"

BASKETS_FROM_LINES = """
import sys, pandas
frame = pandas.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "StockCode": str}, usecols=["InvoiceNo", "StockCode", "Quantity"])
frame = frame[(frame["Quantity"] > 0) & ~frame["InvoiceNo"].str.startswith("C")]
# FIMI: items as integers (the index of the code in byte order), one basket per invoice.
code = {c: i for i, c in enumerate(sorted(frame["StockCode"].unique()))}
with open(sys.argv[2], "w") as out:
    for items in frame.groupby("InvoiceNo", sort=True)["StockCode"].unique():
        out.write(" ".join(str(i) for i in sorted(code[c] for c in items)) + "\\n")
"""


def timed_child(command):
    """Runs a command; (wall seconds, peak resident MB of the process, stdout+stderr)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def basket_count(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def peer_itemset_count(path):
    """Itemsets in the reference's output, without the empty set it reports on some inputs (a
    line holding only "(support)")."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip() and not line.lstrip().startswith(b"("))


def own_seconds(output):
    """mpiseg's own time from its closing log line ("COMMAND: done in S s ..."): the command from
    after MPI start-up to the published model. The model's /run wall_seconds stops before the
    file is closed and renamed into place, which on ext4 can cost as much as the mining (renaming
    over an existing file starts the write-back of the new one)."""
    found = re.findall(r": done in ([0-9.]+) s on ", output)
    if not found:
        raise RuntimeError(f"no 'done in' line in mpiseg's output:\n{output}")
    return float(found[-1])


def bench_fpgrowth(mode):
    """FP-growth against Christian Borgelt's single-core C FP-growth (../shared/peers) on the same
    basket files at the same absolute support, alternating, both writing their itemsets to a file;
    itemset counts must agree. The ratio uses mpiseg's own time (read + mine + write and publish
    the model, after MPI start-up) over the reference's whole process (which closes its output file);
    both whole-process times are listed."""
    repeats = 3 if mode == "quick" else 5
    cases = []
    retail = shared_file("fimi", "retail.dat")
    if retail:
        cases.append(("retail.dat at 0.01%", retail, 0.0001))
        times20 = WORK / "retail_x20.dat"
        if not times20.exists():
            WORK.mkdir(parents=True, exist_ok=True)
            times20.write_bytes(retail.read_bytes() * 20)
        cases.append(("retail.dat x20 at 0.01%", times20, 0.0001))
    for name, threshold in (("chess.dat", 0.6), ("mushroom.dat", 0.1)):
        if shared_file("fimi", name):
            cases.append((f"{name} at {threshold:.0%}", shared_file("fimi", name), threshold))
    lines = 10_000_000 if mode == "full" else 2_000_000
    generated = WORK / f"baskets_{lines}_fimi.dat"
    if not generated.exists():
        run([PYTHON, "-c", BASKETS_FROM_LINES, str(generated_csv(lines, f"ingest_{lines}")), str(generated)])
    cases.append((f"generated baskets ({lines:,} line items) at 1%", generated, 0.01))
    peer_works = PEER_FPGROWTH.exists() and subprocess.run([str(PEER_FPGROWTH)], capture_output=True).returncode in (0, 1, 2)
    if not peer_works:
        print(f"note: the reference {PEER_FPGROWTH} is absent or does not start here: mpiseg is timed alone")
    rows = []
    model, peer_out = WORK / "bench_fp.h5", WORK / "bench_fp_peer.txt"
    for name, path, fraction in cases:
        # The same absolute threshold for both: mpiseg's rule for a fraction, ceil(fraction x baskets).
        count = -(-int(round(fraction * 1e6)) * basket_count(path) // 1_000_000)
        for ranks in (1, 2):
            ours, ours_whole, mining, peer, peer_peaks, ours_peak = [], [], [], [], [], 0
            itemsets, peer_itemsets, exchanged = None, None, "0"
            for _ in range(repeats):
                arguments = ["fpgrowth", "--set", "input.format=baskets", "--set", f"input.path={path}",
                             "--set", f"fpgrowth.min_support={count}", "--set", "fpgrowth.rules=false",
                             "--set", f"output.model={model}", "--set", "ingest.max_reject_fraction=1"]
                # One rank runs as a plain process (as the reference does), more ranks under mpiexec.
                command = [str(MPISEG), *arguments] if ranks == 1 else mpirun(ranks, *arguments)
                seconds, _, output = timed_child(command)
                ours_whole.append(seconds)
                ours.append(own_seconds(output))
                with open_model(model) as f:
                    itemsets = int(f["fpgrowth"].attrs["itemset_count"])
                    figures = f.stage_costs()["fpgrowth"].figures
                mining.append(figures["mining_seconds"])
                exchanged = f'{figures["prefix_bytes"] / 1e6:.1f}'
                ours_peak = max(ours_peak, peak_megabytes(model))
                if peer_works:
                    seconds, peak, _ = timed_child([str(PEER_FPGROWTH), "-ts", f"-s-{count}", str(path), str(peer_out)])
                    peer.append(seconds)
                    peer_peaks.append(peak)
                    peer_itemsets = peer_itemset_count(peer_out)
            median, spread = median_spread(ours)
            peer_median = median_spread(peer)[0] if peer else None
            agree = peer_itemsets is None or peer_itemsets == itemsets
            rows.append({
                "benchmark": "fpgrowth", "case": f"{name} ({count} baskets): {itemsets:,} itemsets", "ranks": ranks,
                "mpiseg_s": round(median, 3), "spread_s": round(spread, 3),
                "per_rank": f"mining {statistics.median(mining):.2f} s; whole process {statistics.median(ours_whole):.2f} s"
                            f"{' (with mpiexec)' if ranks > 1 else ''}; peak {ours_peak} MB per rank"
                            + (f", reference {max(peer_peaks):.0f} MB" if peer_peaks else "") + f"; {exchanged} MB exchanged",
                "reference": f"Borgelt's C FP-growth 6.7, 1 core, whole process (itemsets {'equal' if agree else f'DIFFER: {peer_itemsets:,}'})"
                             if peer else "reference absent",
                "reference_s": round(peer_median, 3) if peer else "",
                "ratio": round(median / peer_median, 2) if peer else "",
                "timing": "mpiseg: read + mine + write + publish (its own time, after MPI start-up); rules off; target at 1 rank <= 1.25x, "
                          "faster at 2",
            })
    model.unlink(missing_ok=True)
    peer_out.unlink(missing_ok=True)
    return rows


def open_model(path):
    """An mpiseg model read through scripts/mpiseg_model.py (h5py is a bench dependency)."""
    import mpiseg_model
    return mpiseg_model.open_model(path)


def stage_figures(model):
    """{stage: {figure: value}}: what each stage of a model's run measured about its own work
    (/run/stages/figures: parse seconds, Lloyd iterations, bytes of prefixes, ...)."""
    with open_model(model) as f:
        return {name: cost.figures for name, cost in f.stage_costs().items()}


def stage_costs(model):
    """{stage: (seconds, collective seconds mean, MB sent)} from the model's /run/stages (what
    `mpiseg run` measured: the slowest rank's wall time, the mean time in collectives, the bytes
    sent between ranks)."""
    with open_model(model) as f:
        return {name: (cost.seconds, cost.collective_mean_seconds, cost.bytes_sent / 1e6) for name, cost in f.stage_costs().items()}


def run_stages(ranks, path, extra=()):
    run(mpirun(ranks, "run", str(ROOT / "jobs" / "demo.toml"), "--set", f"input.path={path}", "--set",
               f"output.model={WORK / 'scaling.h5'}", "--set", "output.assignments_csv=", "--set", "ingest.store=",
               "--set", "kmeans.k=[6]", "--set", "kmeans.n_init=1", *extra))
    return stage_costs(WORK / "scaling.h5")


def scaling_rows(mode, rank_counts, per_rank, strong_lines, benchmark, where):
    """Strong scaling (the same `strong_lines` input at every rank count) and weak scaling
    (`per_rank` lines per rank): per stage and rank count above 1, speedup or efficiency against
    1 rank and the share of time in collectives."""
    repeats = 2 if mode == "quick" else 3
    inputs = {("strong", ranks): generated_csv(strong_lines, f"scaling_{strong_lines}") for ranks in rank_counts}
    inputs.update({("weak", ranks): generated_csv(per_rank * ranks, f"scaling_{per_rank * ranks}") for ranks in rank_counts})
    rows = []
    for kind in ("strong", "weak"):
        results = {}
        for ranks in rank_counts:
            samples = [run_stages(ranks, inputs[(kind, ranks)]) for _ in range(repeats)]
            results[ranks] = {stage: tuple(statistics.median(s[stage][i] for s in samples) for i in range(3)) for stage in samples[0]}
        for stage in results[1]:
            one = results[1][stage]
            for ranks in rank_counts[1:]:
                here = results[ranks][stage]
                rows.append({
                    "benchmark": f"{benchmark} ({kind})",
                    "case": f"{stage}: {strong_lines:,} lines" if kind == "strong" else f"{stage}: {per_rank:,} lines per rank",
                    "ranks": ranks, "mpiseg_s": round(here[0], 3), "spread_s": "",
                    "per_rank": f"{'speedup' if kind == 'strong' else 'efficiency'} {one[0] / here[0]:.2f} vs 1 rank "
                                f"({one[0]:.3f} s); collectives {100 * here[1] / here[0] if here[0] else 0:.0f}% of the stage; "
                                f"{here[2]:.1f} MB sent",
                    "reference": "the same stage on 1 rank", "reference_s": round(one[0], 3), "ratio": round(here[0] / one[0], 3),
                    "timing": f"stage wall time (slowest rank), from the model's /run/stages; {where}"
                              + ("" if kind == "strong" else "; weak: different inputs, so K-means iteration counts differ"),
                })
    return rows


def bench_scaling(mode):
    """Scaling from 1 to 2 ranks on this machine."""
    per_rank = 2_000_000 if mode == "quick" else 10_000_000
    return scaling_rows(mode, [1, 2], per_rank, 2 * per_rank, "scaling", "2 ranks on 2 cores")


def bench_scaling_wide(mode):
    """Scaling over 1, 2, 4, ... ranks up to the cores of this machine (one rank per core, no
    oversubscription). Needs at least 4 cores; on a smaller machine it reports nothing."""
    cores = os.cpu_count() or 1
    if cores < 4:
        print(f"scaling_wide: skipped, this machine has {cores} cores (needs at least 4)", flush=True)
        return []
    rank_counts = [1]
    while rank_counts[-1] * 2 <= min(cores, 64):
        rank_counts.append(rank_counts[-1] * 2)
    per_rank = 500_000 if mode == "quick" else 2_000_000
    return scaling_rows(mode, rank_counts, per_rank, 8 * per_rank, f"scaling to {rank_counts[-1]} ranks",
                        f"one rank per core on {cores} cores")


def bench_exchange(mode):
    """Bytes exchanged at 1 to 64 ranks (oversubscribed: volumes do not depend on timing), as
    ratios to the 4-rank figures: FP-growth's basket prefixes per basket (what grows with the
    rank count by design) beside the stage's other bytes (allreduces of the item counts and the
    work estimate, whose payload is a fixed vector per rank, and the rules' support lookups), on
    a generated file (with the customer shuffle of ingest per line item) and on retail.dat, each
    with whole prefixes, with prefixes filtered by frequent pairs (whose counts are reported
    apart) and as configured by default."""
    lines = 200_000 if mode == "quick" else 1_000_000
    model = WORK / "exchange_model.h5"
    cases = [(f"generated, {lines:,} lines", ["run", "--set", f"input.path={generated_csv(lines, f'exchange_{lines}')}",
                                              "--set", 'run.stages=["fpgrowth"]', "--set", "output.assignments_csv=",
                                              "--set", "ingest.store="])]
    retail = shared_file("fimi", "retail.dat")
    if retail:
        cases.append(("retail.dat", ["fpgrowth", "--set", "input.format=baskets", "--set", f"input.path={retail}"]))
    else:
        print("note: ../shared/data/fimi/retail.dat is absent: the exchange volume is measured on the generated file only")
    # Each case three ways: whole prefixes (the design before the filter), filtered by frequent pairs
    # (forced), and as configured by default ("auto" filters where the pair counts cost less than
    # they save, which on these small inputs depends on the rank count).
    variants = [(", whole prefixes", "none"), (", prefixes filtered by frequent pairs", "pairs"), (", default (prefix_filter auto)", "auto")]
    cases = [(case + label, arguments + ["--set", f"fpgrowth.prefix_filter={value}"])
             for case, arguments in cases for label, value in variants]
    rows = []
    for case, arguments in cases:
        measured = {}
        for ranks in (1, 2, 4, 8, 16, 32, 64):
            seconds, _ = run(mpirun(ranks, *arguments, "--set", f"output.model={model}", "--set", "fpgrowth.min_support=0.002",
                                    "--log-level", "warn"))
            with open_model(model) as f:
                costs = f.stage_costs()
                baskets = max(int(f["fpgrowth"].attrs["baskets"]), 1)
                accepted = max(f.accounting()["accepted"], 1)
            figures = costs["fpgrowth"].figures
            prefix, pairs = figures["prefix_bytes"] / baskets, figures.get("pair_count_bytes", 0) / baskets
            other = costs["fpgrowth"].bytes_sent / baskets - prefix - pairs
            filtered = figures.get("frequent_pairs", 0) > 0
            measured[ranks] = (prefix, pairs, filtered, other, costs["ingest"].bytes_sent / accepted, seconds)
        prefix_4, _, _, other_4, line_4, _ = measured[4]
        for ranks, (prefix, pairs, filtered, other, per_line, seconds) in measured.items():
            shuffle = (f"; ingest shuffle {per_line:.1f} B per line item (ratio {per_line / line_4:.2f})"
                       if case.startswith("generated") and line_4 > 0 else "")
            pair_counts = "" if "whole" in case else (
                f"; pair counts {pairs:.1f} B per basket" + ("" if "filtered" in case else
                                                              " (filtered)" if filtered else " (not filtered)"))
            rows.append({
                "benchmark": "exchange volume (oversubscribed)", "case": case, "ranks": ranks,
                "mpiseg_s": round(seconds, 2), "spread_s": 0.0,
                "per_rank": f"fpgrowth prefixes {prefix:.1f} B per basket{pair_counts}; other fpgrowth bytes {other:.1f} B per basket "
                            f"(ratio {other / other_4 if other_4 > 0 else 0:.2f}){shuffle} (all ranks' bytes sent)",
                "reference": "the same at 4 ranks", "reference_s": round(prefix_4, 1),
                "ratio": round(prefix / prefix_4, 3) if prefix_4 > 0 else 0.0,
                "timing": "bytes, not time; ratio = prefix bytes per basket / those at 4 ranks (target at 64 ranks: <= 2)",
            })
    model.unlink(missing_ok=True)
    return rows


PANDAS_SKLEARN_PIPELINE = """
import sys, time
start = time.perf_counter()
import numpy as np, pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
df = pd.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}, parse_dates=["InvoiceDate"])
df = df.dropna(subset=["CustomerID"])
df["value"] = df.Quantity * df.UnitPrice
purchases = df[~df.InvoiceNo.str.startswith("C") & (df.Quantity > 0)]
reference = purchases.InvoiceDate.max().normalize() + pd.Timedelta(days=1)
g = purchases.groupby("CustomerID")
rfm = pd.DataFrame({"recency_days": (reference - g.InvoiceDate.max()).dt.days, "frequency": g.InvoiceNo.nunique(),
                    "monetary": df.groupby("CustomerID").value.sum().reindex(g.size().index)})
X = StandardScaler().fit_transform(np.column_stack([rfm.recency_days, np.log1p(rfm.frequency), np.log1p(rfm.monetary.clip(lower=0))]))
labels = KMeans(n_clusters=int(sys.argv[2]), n_init=int(sys.argv[3]), random_state=0).fit_predict(X)
pd.DataFrame({"customer": rfm.index.astype(float).astype(int), "segment": labels}).to_csv(sys.argv[4], index=False)
print(time.perf_counter() - start, len(rfm))
"""

def adjusted_rand(model, reference_csv):
    """Agreement of a model's segments with the reference's (customer, segment) CSV."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score
    theirs = pd.read_csv(reference_csv).set_index("customer").segment
    with open_model(model) as f:
        assigned = f.assignments()
    ours = pd.Series(assigned["segment"], index=assigned["customer"])
    common = ours.index.intersection(theirs.index)
    return adjusted_rand_score(ours[common], theirs[common])


def bench_end_to_end(mode):
    """`mpiseg run` (ingest, RFM features, K-means) on Online Retail against the pandas +
    scikit-learn script practitioners write, same k, same number of restarts."""
    path = shared_file("online_retail", "online_retail.csv")
    if not path:
        return []
    repeats = 3 if mode == "quick" else 5
    k, restarts = 4, 5
    rows = []
    for ranks in (1, 2):
        ours, theirs, agreement = [], [], ""
        for _ in range(repeats):
            seconds, _ = run(mpirun(ranks, "run", str(ROOT / "jobs" / "online_retail.toml"), "--set", f"input.path={path}",
                                    "--set", f"output.model={WORK / 'e2e.h5'}", "--set", "output.assignments_csv=",
                                    "--set", 'features.include=["recency_days", "frequency", "monetary"]',
                                    "--set", 'run.stages=["features", "kmeans"]', "--set", f"kmeans.k=[{k}]",
                                    "--set", f"kmeans.n_init={restarts}"))
            ours.append(seconds)
            _, out = run([PYTHON, "-c", PANDAS_SKLEARN_PIPELINE, str(path), str(k), str(restarts), str(WORK / "e2e.csv")],
                         env=dict(os.environ, OMP_NUM_THREADS=str(ranks), OPENBLAS_NUM_THREADS=str(ranks)))
            theirs.append(float(out.split()[0]))
        agreement = adjusted_rand(WORK / "e2e.h5", WORK / "e2e.csv")
        rows.append(comparison_row(
            "end to end", f"Online Retail RFM, k={k}, {restarts} restarts", ranks, ours, theirs, f"pandas + scikit-learn script, {ranks} thread(s)",
            "whole process: mpiseg run (mpiexec, ingest, features, K-means, model file) vs the script (imports, read_csv, groupby, KMeans, CSV)",
            per_rank=f"segments agree with the reference's: ARI {agreement:.2f}"))
    return rows


def bench_scale(mode):
    """jobs/large.toml end to end: 1e8 generated line items (full; 1e7 in quick mode) on 2 ranks:
    wall time, peak memory per rank, bytes per line item, planted truth recovered."""
    return scale_run(mode, 2)


def bench_scale_wide(mode):
    """The scale run with one rank per core, on a machine with at least 4 cores."""
    cores = os.cpu_count() or 1
    if cores < 4:
        print(f"scale_wide: skipped, this machine has {cores} cores (needs at least 4)", flush=True)
        return []
    return scale_run(mode, min(cores, 64))


def scale_run(mode, ranks):
    lines = 105_500_000 if mode == "full" else 10_550_000
    customers = 590_000 if mode == "full" else 59_000
    out = WORK / f"scale_{lines}"
    out.mkdir(parents=True, exist_ok=True)
    sets = ["--set", f"generate.line_items={lines}", "--set", f"generate.customers={customers}",
            "--set", f"generate.output={out / 'line_items.csv'}", "--set", f"generate.truth={out / 'truth.h5'}",
            "--set", f"input.path={out / 'line_items.csv'}", "--set", f"ingest.store={out / 'store.h5'}",
            "--set", f"output.model={out / 'model.h5'}"]
    job = str(ROOT / "jobs" / "large.toml")
    if not (out / "line_items.csv").exists():
        run(mpirun(max(2, min(os.cpu_count() or 2, 16)), "generate", "--config", job, *sets))
    seconds, _ = run(mpirun(ranks, "run", job, *sets))
    _, check = run([PYTHON, str(ROOT / "scripts" / "bench" / "check_planted.py"), str(out / "model.h5"), str(out / "truth.h5")])
    with open_model(out / "model.h5") as model:
        read = model.accounting()["lines_read"]
        ingest = model.stage_costs()["ingest"].figures
    stages = stage_costs(out / "model.h5")
    megabytes = (out / "line_items.csv").stat().st_size / 1e6
    row = {
        "benchmark": "scale run", "case": f"jobs/large.toml: {read:,} lines, {megabytes / 1e3:.1f} GB CSV", "ranks": ranks,
        "mpiseg_s": round(seconds, 1), "spread_s": "",
        "per_rank": f"peak {peak_megabytes(out / 'model.h5')} MB per rank; {ingest['bytes_per_line_item']:.1f} bytes per line item; "
                    f"parse {ingest['parsed_bytes'] / 1e6 / ingest['parse_seconds'] / ranks:.0f} MB/s per rank; per stage (s, MB sent "
                    f"between ranks): "
                    + ", ".join(f"{name} {cost[0]:.1f} s {cost[2]:.0f} MB" for name, cost in stages.items()) + f"; {check.strip()}",
        "reference": "target: under 10 minutes", "reference_s": 600, "ratio": round(seconds / 600, 3),
        "timing": "whole process (mpiexec ... run); generation not included",
    }
    if mode == "full":
        shutil.rmtree(out, ignore_errors=True)  # 15 GB of disk
    return [row]


SKLEARN_LOGISTIC = """
import sys, time, numpy
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info
sys.path.insert(0, sys.argv[2])
import mpiseg_model
with mpiseg_model.open_model(sys.argv[1]) as f:
    X = f["propensity/training/matrix"][:]
    y = f["propensity/churn/training_label"][:]
    ours = numpy.concatenate([f["propensity/churn/coefficients"][:], [f["propensity/churn"].attrs["intercept"]]])
    l2 = float(f["propensity"].attrs["l2"])
print("shape", X.shape[0], X.shape[1], 0, "-")
for solver, tol in (("newton-cholesky", 1e-8), ("lbfgs", 1e-10)):
    model = LogisticRegression(C=1.0 / l2, solver=solver, tol=tol, max_iter=10000)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    theirs = numpy.concatenate([model.coef_[0], model.intercept_])
    difference = float(numpy.max(numpy.abs(ours - theirs)) / numpy.max(numpy.abs(theirs)))
    blas = ";".join(f"{i['internal_api']}:{i['num_threads']}" for i in threadpool_info())
    print(solver, seconds, int(numpy.max(model.n_iter_)), difference, blas)
"""


def bench_propensity(mode):
    """Fitting the churn model (L2 logistic regression, IRLS with exact reductions) on every
    customer against scikit-learn's LogisticRegression on the same scaled matrix (stored by
    mpiseg with store_training_data), same cores; the coefficients must agree to 1e-6."""
    customers = 200_000 if mode == "quick" else 1_000_000
    repeats = 3 if mode == "quick" else 5
    path = WORK / f"propensity_{customers}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        run(mpirun(max(2, min(os.cpu_count() or 2, 16)), "generate", "--set", f"generate.customers={customers}",
                   "--set", f"generate.line_items={customers * 20}", "--set", f"generate.output={path}", "--set", "generate.truth="))
    model = WORK / "bench_propensity.h5"
    rows = []
    for ranks in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(ranks), OPENBLAS_NUM_THREADS=str(ranks))
        ours, reference, solvers = [], {}, {}
        for _ in range(repeats):
            run(mpirun(ranks, "propensity", "--set", f"input.path={path}", "--set", "ingest.missing_customer=drop",
                       "--set", f"output.model={model}", "--set", "propensity.validate=false",
                       "--set", "propensity.store_training_data=true", "--set", 'propensity.targets=["churn"]'))
            fit = stage_figures(model)["propensity"]
            ours.append(fit["churn:fit_seconds"])
            _, out = run([PYTHON, "-c", SKLEARN_LOGISTIC, str(model), str(ROOT / "scripts")], env=env)
            for line in out.strip().splitlines():
                solver, seconds, iterations, difference, blas = line.split()
                if solver == "shape":
                    shape = (int(seconds), int(iterations))
                    continue
                reference.setdefault(solver, []).append(float(seconds))
                solvers[solver] = (int(iterations), max(float(difference), solvers.get(solver, (0, 0.0))[1]), blas)
        with open_model(model) as f:
            convergence = f["propensity/churn"].attrs["convergence"]
        # The reference is the fastest solver whose coefficients equal mpiseg's to 1e-6 (lbfgs
        # often stops short of that whatever its tol); the others are listed with their difference.
        equal = [solver for solver in reference if solvers[solver][1] <= 1e-6]
        agree = bool(equal)
        best = min(equal or list(reference), key=lambda solver: median_spread(reference[solver])[0])
        others = ", ".join(f"{solver} {median_spread(times)[0]:.3f} s ({solvers[solver][0]} iterations, coefficients within "
                           f"{solvers[solver][1]:.0e})" for solver, times in reference.items())
        rows.append(comparison_row(
            "propensity (logistic fit)", f"churn at 90 days: {shape[0]:,} customers x {shape[1]} features ({customers * 20:,} generated lines)",
            ranks, ours, reference[best], f"scikit-learn LogisticRegression {best}, {ranks} thread(s) [{solvers[best][2]}]",
            f"fit only, same scaled matrix; coefficients equal to 1e-6: {'yes' if agree else 'NO'}",
            per_rank=f"{int(fit['churn:iterations'])} Newton iterations ({convergence}); scikit-learn: {others}", digits=4))
    return rows


def bench_recommend(mode):
    """item_cf (similarity, pruning, top-n) and one ALS sweep against numpy/scipy.sparse
    implementations of the same definitions and updates (scripts/bench/scipy_recommend.py), same
    CSV, same threads as ranks; item_cf lists and ALS item factors are checked against mpiseg's
    model in the same run. mpiseg's times come from its model's /run/stages (the method's own time, ingest
    excluded); the reference's exclude reading the CSV."""
    import numpy
    inputs = []
    retail = shared_file("online_retail", "online_retail.csv")
    if retail:
        inputs.append(("Online Retail", retail))
    lines = 2_000_000 if mode == "quick" else 10_000_000
    generated = WORK / f"recommend_{lines}.csv"
    if not generated.exists():  # no malformed lines: the reference reads the CSV with pandas, without mpiseg's validation
        WORK.mkdir(parents=True, exist_ok=True)
        run(mpirun(max(2, min(os.cpu_count() or 2, 16)), "generate", "--set", f"generate.customers={lines // 50}", "--set",
                   f"generate.line_items={lines}", "--set", f"generate.output={generated}", "--set", "generate.truth=",
                   "--set", "generate.malformed_rate=0"))
    inputs.append((f"generated, {lines:,} lines", generated))
    repeats = 3 if mode == "quick" else 5
    neighbours, n, factors, sweeps = 50, 10, 16, 3
    model = WORK / "bench_recommend.h5"
    reference = WORK / "bench_recommend.npz"
    script = str(ROOT / "scripts" / "bench" / "scipy_recommend.py")
    common = ["--set", "ingest.missing_customer=drop", "--set", "ingest.store=", "--set", f"output.model={model}",
              "--set", "recommend.validate=false", "--set", "recommend.max_items_per_customer=1000000", "--set", f"recommend.n={n}"]
    rows = []
    for name, path in inputs:
        for ranks in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(ranks), OPENBLAS_NUM_THREADS=str(ranks))
            # item_cf
            ours, theirs, out = [], [], ""
            for _ in range(repeats):
                run(mpirun(ranks, "recommend", "--set", f"input.path={path}", *common, "--set", 'recommend.methods=["item_cf"]',
                           "--set", f"recommend.neighbours={neighbours}"))
                item_cf = stage_figures(model)["recommend"]
                ours.append(item_cf["item_cf:seconds"])
                _, out = run([PYTHON, script, str(path), "item_cf", str(neighbours), str(n), str(reference)], env=env)
                theirs.append(float(re.search(r"seconds ([0-9.]+)", out).group(1)))
            sent = item_cf["item_cf:bytes_sent"] / 1e6
            with open_model(model) as f, numpy.load(reference) as ref:
                offsets, items, _ = f.recommendations("item_cf")
                lengths = numpy.diff(offsets)
                same = numpy.array_equal(lengths, ref["lengths"]) and numpy.array_equal(items, ref["items"])
                share = numpy.mean([set(items[offsets[c]:offsets[c + 1]]) == set(ref["items"][numpy.sum(ref["lengths"][:c]):numpy.sum(ref["lengths"][:c + 1])])
                                    for c in range(min(len(lengths), 2000))]) if not same else 1.0
            rows.append(comparison_row(
                "recommend item_cf", f"{name}: {len(lengths):,} customers, {neighbours} neighbours, top {n}", ranks, ours, theirs,
                f"numpy/scipy.sparse cosine (V^T V), {ranks} thread(s)",
                f"method only (ingest and CSV reading excluded); lists identical: {'yes' if same else f'{share:.1%} of customers'}",
                per_rank=f"{sent:.1f} MB of pair weights sent (all ranks); peak {peak_megabytes(model)} MB per rank"))
            # ALS: seconds per sweep (customers then items), the same start
            ours, theirs = [], []
            for _ in range(repeats):
                run(mpirun(ranks, "recommend", "--set", f"input.path={path}", *common, "--set", 'recommend.methods=["als"]',
                           "--set", f"recommend.factors={factors}", "--set", f"recommend.iterations={sweeps}"))
                als = stage_figures(model)["recommend"]
                ours += [als[f"als:iteration_{i}_seconds"] for i in range(1, sweeps + 1)]
                _, out = run([PYTHON, script, str(path), "als", str(factors), str(sweeps), "0.1", "10.0", "1", str(reference)], env=env)
                theirs += [float(x) for x in re.findall(r"iteration ([0-9.]+)", out)]
            with open_model(model) as f, numpy.load(reference) as ref:
                difference = float(numpy.max(numpy.abs(f["recommend/als/item_factors"][:] - ref["item_factors"])) /
                                   numpy.max(numpy.abs(ref["item_factors"])))
            rows.append(comparison_row(
                "recommend als", f"{name}: {factors} factors, one sweep (customers, then items)", ranks, ours, theirs,
                f"numpy batched solves (same updates), {ranks} thread(s)",
                f"per sweep, median of {len(ours)}; item factors after {sweeps} sweeps within {difference:.0e} of the reference",
                per_rank=f"peak {peak_megabytes(model)} MB per rank", digits=4))
    return rows


BENCHMARKS = {"generate": bench_generate, "ingest": bench_ingest, "compressed": bench_compressed, "store": bench_store, "features": bench_features,
              "kmeans": bench_kmeans, "fpgrowth": bench_fpgrowth, "propensity": bench_propensity, "recommend": bench_recommend,
              "scaling": bench_scaling, "scaling_wide": bench_scaling_wide, "exchange": bench_exchange,
              "end_to_end": bench_end_to_end, "scale": bench_scale, "scale_wide": bench_scale_wide}


def write_readme_table(rows, header):
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN BENCHMARKS -->\n", "<!-- END BENCHMARKS -->"
    if begin not in text:
        return
    table = [header, "", "| benchmark | case | ranks | mpiseg [s] | spread [s] | throughput and notes | reference | reference [s] | ratio | timing |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        table.append(f"| {row['benchmark']} | {row['case']} | {row['ranks']} | {row['mpiseg_s']} | {row['spread_s']} | "
                     f"{row.get('per_rank', '')} | {row['reference']} | {row['reference_s']} | {row['ratio']} | {row['timing']} |")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + "\n".join(table) + "\n" + end + tail, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="quick", choices=["quick", "full", "table"],
                        help="table: only regenerate the README table from results/bench.json")
    parser.add_argument("benchmarks", nargs="*", default=list(BENCHMARKS))
    args = parser.parse_args()
    if not MPISEG.exists():
        sys.exit(f"{MPISEG} not found: run scripts/setup.sh first")
    unknown = set(args.benchmarks) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(BENCHMARKS)}")
    stamp = datetime.date.today().isoformat()
    rows = []
    if args.mode == "table":
        args.benchmarks = []
    produced = set()
    for name in args.benchmarks:
        print(f"== {name} ({args.mode})", flush=True)
        for row in BENCHMARKS[name](args.mode):
            row.update({"suite": name, "mode": args.mode, "date": stamp, "commit": commit(), "machine": machine()})
            print(json.dumps(row), flush=True)
            rows.append(row)
            produced.add(name)
    # Results of benchmarks not run now, or unable to run on this machine (scaling_wide needs 4
    # cores), are kept from the last run: each row says its mode, date, commit and machine, so
    # that e.g. `run.sh full scale` adds the 1e8 run to a quick table.
    RESULTS.mkdir(exist_ok=True)
    results = RESULTS / "bench.json"
    kept = []
    if results.exists():
        previous = json.loads(results.read_text())
        for row in previous.get("rows", []):
            if row.get("suite") in BENCHMARKS and row["suite"] not in produced:
                row.setdefault("machine", previous.get("machine", "unknown machine"))
                kept.append(row)
    order = list(BENCHMARKS)
    merged = sorted(kept + rows, key=lambda row: order.index(row["suite"]) if row.get("suite") in order else len(order))
    results.write_text(json.dumps({"date": stamp, "rows": merged}, indent=2))
    suites_on = {}
    for row in merged:
        suites = suites_on.setdefault(row["machine"], [])
        if row["suite"] not in suites:
            suites.append(row["suite"])
    machines = "; ".join(f"{name} ({', '.join(suites)})" if len(suites_on) > 1 else name for name, suites in suites_on.items())
    modes = sorted({f"{row.get('suite')}: {row.get('mode')} ({row.get('date')}, {row.get('commit')})" for row in merged})
    header = (f"Measured on {machines}. Per benchmark: mode (date, commit) — {'; '.join(modes)}. Regenerated by "
              f"`scripts/bench/run.sh` (`quick` for everything in under 15 minutes; `full scale` for the 1e8 run; "
              f"`scaling_wide` and `scale_wide` on a machine with at least 4 cores).")
    write_readme_table(merged, header)
    print(f"results: {results}")


if __name__ == "__main__":
    main()
