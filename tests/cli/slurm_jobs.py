"""The scripts in slurm/ against a real Slurm (scripts/slurm-local.sh start; SLURM_CONF set):

 1. segment.sbatch at 4 ranks (srun --mpi=pmix) completes; its model equals a direct mpiexec run.
 2. pipeline.sh: ingest -> segment -> report as afterok-dependent jobs; all complete, the report
    exists, the segment job read the store.
 3. sweep.sh: a job array over k and the collect job; summary.csv has one row per k.
 4. A segment job that gets Slurm's warning signal (scancel --signal=USR1 --batch, what
    --signal=B:USR1@S sends) checkpoints, requeues itself and finishes with the model of an
    uninterrupted run.
 5. monthly.sbatch resubmits itself (--begin, afterany); the second run uses the first's model
    as previous_model (/compare) and current.h5 points at the newest model.

    slurm_jobs.py MPISEG MPIEXEC     (exit 77: skipped, no Slurm cluster)
"""
import glob
import os
import re
import subprocess
import sys
import time


from cli_harness import Harness, RUN_TIME, SKIP, differences, model_contents, open_model

if not os.environ.get("SLURM_CONF") or subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
    print("SKIPPED: no Slurm cluster (scripts/slurm-local.sh start, then export SLURM_CONF=...)")
    sys.exit(SKIP)

test = Harness("slurm")
source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
environment = dict(os.environ, MPISEG_BIN=os.path.abspath(test.mpiseg), MPISEG_ROOT=source)
logs = test.path("logs")
os.makedirs(logs)
output = f"--output={logs}/%x-%j.out"


def submit(*arguments):
    """sbatch from the checkout (as users do); returns the job id."""
    result = subprocess.run(["sbatch", "--parsable", output, *arguments], cwd=source, env=environment, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"FAIL: sbatch {' '.join(arguments)}: {result.stderr}")
    return result.stdout.strip().split(";")[0]


def job_field(job, field):
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    match = re.search(rf"\b{field}=(\S*)", shown)
    return match.group(1) if match else None


def wait(jobs, limit=240):
    """Waits until every job (array tasks included) has ended; returns {job: final state}."""
    states = {}
    deadline = time.time() + limit
    while time.time() < deadline:
        states = {}
        for job in jobs:
            shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
            found = re.findall(r"JobState=(\S+)", shown)
            states[job] = "COMPLETED" if found and all(s == "COMPLETED" for s in found) else (
                next((s for s in found if s not in ("COMPLETED", "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED")), None)
                or "RUNNING")
        if all(state != "RUNNING" for state in states.values()):
            return states
        time.sleep(0.5)
    return states


def log_of(job):
    files = glob.glob(os.path.join(logs, f"*-{job}.out"))
    return open(files[0]).read() if files else ""


def write_job(name, **overrides):
    values = {"customers": 1500, "line_items": 200000, "store": "", "k": "[3, 4, 5]", "n_init": 2, "interval": 600,
              "model": test.path(f"{name}.h5")} | overrides
    path = test.path(f"{name}.toml")
    with open(path, "w") as f:
        f.write(f"""
[input]
path = "{test.path('items.csv')}"
[ingest]
store = "{values['store']}"
[features]
include = ["recency_days", "frequency", "monetary", "avg_basket_value", "avg_items_per_basket", "tenure_days"]
[kmeans]
k = {values['k']}
n_init = {values['n_init']}
tol = 0
accelerate = false
[fpgrowth]
min_support = 0.02
segment_min_support = 0.05
segment_max_len = 3
[run]
checkpoint_interval = {values['interval']}
[output]
model = "{values['model']}"
""")
    return path


before = set(os.listdir(source))
test.run(2, "generate", sets=["generate.customers=1500", "generate.line_items=200000", f"generate.output={test.path('items.csv')}",
                              "generate.truth="])

# ---------------------------------------------------------------- 1. one segment job, 4 ranks
job = write_job("segment")
direct = test.path("direct.h5")
test.run(2, "run", job)
os.rename(test.path("segment.h5"), direct)
segment = submit(os.path.join(source, "slurm", "segment.sbatch"), job)
state = wait([segment])[segment]
test.check(state == "COMPLETED", f"segment.sbatch job {segment}: {state}")
log = log_of(segment)
test.check("on 4 rank(s)" in log and "run: done" in log, "the segment job ran `mpiseg run` on 4 ranks (srun --mpi=pmix)")
if os.path.exists(test.path("segment.h5")):
    differing = differences(model_contents(direct, ignore=RUN_TIME), model_contents(test.path("segment.h5"), ignore=RUN_TIME))
    test.check(not differing, f"the Slurm job's model equals a direct 2-rank run {differing[:5]}")
    with open_model(test.path("segment.h5")) as f:
        test.check(int(f["run"].attrs["rank_count"]) == 4, "the model records 4 ranks")
else:
    test.check(False, "the segment job wrote its model")

# ---------------------------------------------------------------- 2. the dependent pipeline
job = write_job("pipeline", store=test.path("store.h5"))
started = subprocess.run([os.path.join(source, "slurm", "pipeline.sh"), job, output], cwd=source, env=environment,
                         capture_output=True, text=True)
ids = dict(re.findall(r"^(ingest|segment|report) (\d+)$", started.stdout, re.MULTILINE))
test.check(started.returncode == 0 and len(ids) == 3, f"pipeline.sh printed three job ids {ids} {started.stderr[-300:]}")
if len(ids) == 3:
    dependency = job_field(ids["segment"], "Dependency")
    test.check(dependency is not None and f"afterok:{ids['ingest']}" in dependency,
               f"segment depends on ingest (afterok): {dependency}")
    dependency = job_field(ids["report"], "Dependency")
    test.check(dependency is not None and f"afterok:{ids['segment']}" in dependency, f"report depends on segment (afterok): {dependency}")
    states = wait(list(ids.values()))
    test.check(all(s == "COMPLETED" for s in states.values()), f"ingest, segment and report completed: {states}")
    test.check(os.path.exists(test.path("pipeline_report/index.html")), "the report job wrote pipeline_report/index.html")
    with open_model(test.path("pipeline.h5")) as f:
        settings = f["run"].attrs["effective_settings"]
    test.check("format = 'store'" in settings and test.path("store.h5") in settings, "the segment job read the ingest store")

# ---------------------------------------------------------------- 3. a sweep over k as a job array
job = write_job("sweep")
swept = subprocess.run([os.path.join(source, "slurm", "sweep.sh"), "k", job, "3", "4", "5"], cwd=source,
                       env=environment | {"MPISEG_SBATCH_OPTIONS": f"--ntasks-per-node=2 {output}"}, capture_output=True, text=True)
ids = dict(re.findall(r"^(array|collect) (\d+)$", swept.stdout, re.MULTILINE))
test.check(swept.returncode == 0 and len(ids) == 2, f"sweep.sh printed the array and collect ids {ids} {swept.stderr[-300:]}")
if len(ids) == 2:
    states = wait(list(ids.values()))
    test.check(all(s == "COMPLETED" for s in states.values()), f"array tasks and collect completed: {states}")
    summary = test.path("sweep_sweep/summary.csv")
    rows = open(summary).read().splitlines() if os.path.exists(summary) else []
    test.check(len(rows) == 4 and [r.split(",")[2] for r in rows[1:]] == ["3", "4", "5"], f"summary.csv: one row per k ({rows[1:]})")
    test.check("best by silhouette" in log_of(ids["collect"]), "the collect job names the best k")

# ---------------------------------------------------------------- 4. warning signal -> checkpoint -> requeue
job = write_job("requeue", k="[3, 4, 5, 6, 7]", n_init=4, interval=0.0005)
straight = test.path("requeue_straight.h5")
test.run(2, "run", job)
os.rename(test.path("requeue.h5"), straight)
checkpoint = test.path("requeue.h5.checkpoint")
for attempt in range(3):
    requeued = submit(os.path.join(source, "slurm", "segment.sbatch"), job)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(os.path.join(checkpoint, "kmeans.h5")) and \
            job_field(requeued, "JobState") in ("PENDING", "RUNNING", "CONFIGURING"):
        time.sleep(0.02)
    subprocess.run(["scancel", "--signal=USR1", "--batch", requeued], capture_output=True)
    state = wait([requeued])[requeued]
    if job_field(requeued, "Restarts") not in (None, "0"):
        break
    print(f"note: attempt {attempt}: the job finished before the signal")
    os.remove(test.path("requeue.h5"))
restarts = job_field(requeued, "Restarts")
log = log_of(requeued)
test.check(state == "COMPLETED" and restarts == "1", f"signalled job {requeued}: {state} after {restarts} restart(s)")
test.check("checkpoint written; requeueing" in log and "resuming from" in log,
           "the log shows the checkpoint, the requeue and the resume")
if os.path.exists(test.path("requeue.h5")):
    differing = differences(model_contents(straight, ignore=RUN_TIME), model_contents(test.path("requeue.h5"), ignore=RUN_TIME))
    test.check(not differing, f"the requeued job's model equals an uninterrupted run {differing[:5]}")

# ---------------------------------------------------------------- 5. monthly self-resubmission
job = write_job("monthly", k="[4]", n_init=1)
models = test.path("models")
first = subprocess.run(["sbatch", "--parsable", output, os.path.join(source, "slurm", "monthly.sbatch"), job, models], cwd=source,
                       env=environment | {"MPISEG_MONTHLY_NEXT": "now", "MPISEG_MONTHLY_RUNS": "1"}, capture_output=True,
                       text=True).stdout.strip()
states = wait([first])
following = re.search(r"next run is job (\d+)", log_of(first))
test.check(states[first] == "COMPLETED" and following is not None, f"monthly job {first}: {states[first]}, resubmitted itself")
if following:
    second = following.group(1)
    states = wait([second])
    test.check(states[second] == "COMPLETED" and "next run is job" not in log_of(second),
               f"the second run {second} completed and did not resubmit (MPISEG_MONTHLY_RUNS)")
    newest = os.path.realpath(os.path.join(models, "current.h5"))
    produced = sorted(glob.glob(os.path.join(models, "segments-*.h5")))
    test.check(len(produced) == 2 and newest.endswith(f"-{second}.h5"), f"two monthly models; current.h5 -> {os.path.basename(newest)}")
    with open_model(newest) as f:
        test.check("compare" in f and float(f["compare"].attrs["adjusted_rand"]) == 1.0,
                   "the second run used the first as previous_model (/compare, same data: ARI 1)")

stray = sorted(set(os.listdir(source)) - before)
test.check(not stray, f"the jobs wrote nothing into the checkout (new: {stray})")

test.finish()
