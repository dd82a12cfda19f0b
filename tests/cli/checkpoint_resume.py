"""Checkpoint, resume and periodic resegmentation of `mpiseg run`:

 1. A run stopped by SIGUSR1 in K-means (exit status 75, checkpoint left) and resumed at another
    rank count ends with the model of an uninterrupted run (every dataset and attribute but the
    run-time provenance); the same after a stop between FP-growth tasks and after SIGKILL.
 2. The checkpoint directory is removed after success; a checkpoint of other settings is ignored
    with a warning; --resume without a checkpoint is a clear error.
 3. `run` with [run] previous_model: on the same data the segments, ids and assignments are the
    previous ones (ARI 1, drift 0); on the next month's data ids stay matched (Hungarian), /compare
    holds drift and migration, and the model is identical at 1 and 3 ranks.

    checkpoint_resume.py MPISEG MPIEXEC
"""
import os
import shutil
import signal
import subprocess
import time

import numpy as np

from cli_harness import Harness, RUN_TIME, differences, model_contents, open_model

test = Harness("checkpoint")
model = test.path("model.h5")
directory = model + ".checkpoint"
job = test.path("job.toml")
with open(job, "w") as f:
    f.write(f"""
[generate]
customers = 3000
items = 1500
segments = 5
line_items = 500000
seed = 11
output = "{test.path('month1.csv')}"
truth = ""
[input]
path = "{test.path('month1.csv')}"
[features]
include = ["recency_days", "frequency", "monetary", "avg_basket_value", "avg_items_per_basket", "tenure_days"]
[kmeans]
k = [3, 4, 5, 6]
n_init = 3
seed = 5
tol = 0
accelerate = false
[fpgrowth]
min_support = 0.02
min_confidence = 0.4
segment_min_support = 0.05
segment_max_len = 3
[run]
checkpoint_interval = 0.0005
[output]
model = "{model}"
""")
test.run(2, "generate", "--config", job)
# Next month: the same customers and behaviour, one more month of line items.
test.run(2, "generate", "--config", job, sets=["generate.months=13", "generate.line_items=541667",
                                               f"generate.output={test.path('month2.csv')}"])

straight = test.path("straight.h5")
test.run(2, "run", job)
shutil.move(model, straight)
test.check(not os.path.exists(directory), "a completed run leaves no checkpoint directory")
reference = model_contents(straight, ignore=RUN_TIME)


def interrupted_run(ranks, wait_for, stop, sets=()):
    """Starts a run, waits until the checkpoint file `wait_for` exists, then sends `stop`;
    returns the exit status."""
    process = subprocess.Popen(test.command(ranks, "run", job, sets=sets), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    target = os.path.join(directory, wait_for)
    while process.poll() is None and not os.path.exists(target):
        time.sleep(0.0005)
    if process.poll() is None:
        if stop == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.send_signal(stop)  # mpiexec forwards SIGUSR1 to every rank
    _, errors = process.communicate()
    return process.returncode, errors


def resumed_model_matches(label, resume_ranks, extra=()):
    """Runs the job again (it resumes from the checkpoint) and compares with the straight model."""
    test.run(resume_ranks, "run", job, *extra)
    differing = differences(reference, model_contents(model, ignore=RUN_TIME))
    test.check(not differing, f"{label}: the resumed model equals the uninterrupted one"
                              f"{' (differ: ' + ', '.join(differing[:6]) + ')' if differing else ''}")
    test.check(not os.path.exists(directory), f"{label}: the checkpoint directory is removed after the resumed run")
    os.remove(model)


# ---------------------------------------------------------------- 1. stop and resume
for label, wait_for, stop, ranks, resume_ranks in [
        ("SIGUSR1 in K-means", "kmeans.h5", signal.SIGUSR1, 2, 3),
        ("SIGUSR1 between FP-growth tasks", "fpgrowth_all.h5", signal.SIGUSR1, 3, 1),
        ("SIGKILL in K-means", "kmeans.h5", signal.SIGKILL, 2, 4)]:
    for attempt in range(3):
        status, errors = interrupted_run(ranks, wait_for, stop)
        if status != 0:
            break
        os.remove(model)  # finished before the stop arrived: try again
    expected = 75 if stop == signal.SIGUSR1 else -signal.SIGKILL
    test.check(status == expected and os.path.isdir(directory) and not os.path.exists(model),
               f"{label}: exit status {status} (expected {expected}), checkpoint kept, no model written")
    if stop == signal.SIGUSR1:
        test.check("checkpoint requested: stopped" in errors, f"{label}: the run says where it stopped")
    with open_model(os.path.join(directory, "kmeans.h5")) as f:
        test.check(f.attrs["kind"] in (b"mpiseg-checkpoint", "mpiseg-checkpoint") and "finished" in f,
                   f"{label}: kmeans.h5 is a readable checkpoint ({len(f['finished'])} finished runs"
                   f"{', one in progress' if 'progress' in f else ''})")
    resumed_model_matches(f"{label}, {ranks} -> {resume_ranks} ranks", resume_ranks)

# ---------------------------------------------------------------- 2. stale checkpoints, --resume
status, _ = interrupted_run(2, "kmeans.h5", signal.SIGUSR1)
changed = test.run(2, "run", job, sets=["kmeans.seed=6"], check=False)
test.check(changed.returncode == 0 and "starting afresh" in changed.stderr,
           "a checkpoint of other settings is ignored with a warning ('starting afresh')")
os.remove(model)
missing = test.run(1, "run", job, "--resume", check=False)
test.check(missing.returncode != 0 and "--resume: no checkpoint" in missing.stderr, "--resume without a checkpoint: a clear error")

# ---------------------------------------------------------------- 3. periodic resegmentation
same = test.path("same_data.h5")
test.run(2, "run", job, sets=[f"run.previous_model={straight}", f"output.model={same}"])
with open_model(straight) as old, open_model(same) as new:
    k = old["kmeans"].attrs["k"]
    test.check(new["kmeans"].attrs["k"] == k and "compare" in new, f"previous model: k = {k} taken over, /compare written")
    test.check(np.array_equal(old["assignments/segment"][:], new["assignments/segment"][:]) and
               float(new["compare"].attrs["adjusted_rand"]) == 1.0 and np.all(new["compare/drift"][:] == 0) and
               np.array_equal(new["compare/previous_segment"][:], np.arange(k)),
               "same data: the same assignments and ids, ARI 1, drift 0")

next_month = []
for ranks in (1, 3):
    next_month.append(test.path(f"month2_{ranks}.h5"))
    test.run(ranks, "run", job, sets=[f"run.previous_model={straight}", f"input.path={test.path('month2.csv')}",
                                      f"output.model={model}"])
    shutil.move(model, next_month[-1])
differing = differences(model_contents(next_month[0], ignore=RUN_TIME), model_contents(next_month[1], ignore=RUN_TIME))
test.check(not differing, f"next month with a previous model: identical at 1 and 3 ranks {differing[:5]}")
with open_model(next_month[0]) as new:
    ari = float(new["compare"].attrs["adjusted_rand"])
    migration = new["compare/migration"][:]
    diagonal = np.trace(migration) / migration.sum()
    test.check(np.array_equal(new["compare/previous_segment"][:], np.arange(k)) and diagonal > 0.9 and ari > 0.9,
               f"next month: ids matched one to one, {100 * diagonal:.1f}% of customers keep their segment, ARI {ari:.3f}")
    order = new["kmeans"].attrs["segment_order"]
    test.check("previous model" in order,
               "/kmeans segment_order says ids follow the previous model")
shown = test.run(1, "compare", straight, next_month[0]).stdout
test.check("migration" in shown, "mpiseg compare shows the month-to-month migration")

test.finish()
