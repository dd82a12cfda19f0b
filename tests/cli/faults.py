"""Killed jobs: `mpiseg run` at 2 ranks over a path that holds a good model, sent SIGKILL in each
stage (ingest, K-means, FP-growth, the model write) by each victim (one rank, every rank, the
launcher). Afterwards:

 - the job has ended, every process of it, within BOUND seconds of the kill (a rank that dies
   never leaves the others waiting in a collective);
 - the previous model is byte-identical and still opens;
 - a rerun of the same job succeeds and leaves no temporary behind.

    faults.py MPISEG MPIEXEC
"""
import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time


from cli_harness import Harness, RUN_TIME, differences, model_contents, open_model

BOUND = 30  # seconds from the kill until no process of the job is left (measured: 0.1-3 s)
test = Harness("faults")
job = test.path("job.toml")
model = test.path("model.h5")
with open(job, "w") as f:
    f.write(f"""
[generate]
customers = 6000
items = 900
line_items = 600000
seed = 11
output = "{test.path('items.csv')}"
truth = ""
[input]
path = "{test.path('items.csv')}"
[kmeans]
k = [3, 4, 5, 6, 7, 8]
n_init = 3
[fpgrowth]
min_support = 0.01
max_len = 3
[run]
checkpoint_interval = 0
[output]
model = "{model}"
""")
test.run(2, "generate", "--config", job)
test.run(2, "run", job)
good = hashlib.sha256(open(model, "rb").read()).hexdigest()
good_copy = test.path("good.h5")
shutil.copy(model, good_copy)
good_contents = model_contents(model, ignore=RUN_TIME)


def descendants(pid):
    """Every process below `pid` (mpiexec's daemons and the ranks)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
        found += [int(child) for child in children]
        frontier += [int(child) for child in children]
    return found


def ranks_of(pid):
    return [p for p in descendants(pid) if os.path.exists(f"/proc/{p}/cmdline") and
            b"mpiseg" in open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[0]]


def alive(pids):
    return [p for p in pids if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]


# When each stage is under way: ingest has logged its parse (the shuffle and sort follow), a
# stage's line is printed when it ends, and the write has created MODEL.tmp.
STAGES = {"ingest": ("ingest:", 0.0), "kmeans": ("stage features", 0.15), "fpgrowth": ("stage kmeans", 0.1), "write": (None, 0.0)}
durations = []
for stage, (after, pause) in STAGES.items():
    for victim in ("one rank", "every rank", "launcher"):
        if os.path.exists(model + ".tmp"):
            os.remove(model + ".tmp")
        process = subprocess.Popen([test.mpiexec, "-n", "2", "--oversubscribe", test.mpiseg, "run", job], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        seen = []
        reader = threading.Thread(target=lambda: [seen.append(line) for line in process.stdout], daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        if after is None:
            while not os.path.exists(model + ".tmp") and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0002)
        else:
            while not any(line.startswith(after) for line in seen) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
        time.sleep(pause)
        label = f"SIGKILL to {victim} in {stage}"
        everything = [process.pid] + descendants(process.pid)
        ranks = ranks_of(process.pid)
        if process.poll() is not None or not ranks:
            test.check(False, f"{label}: the job ended before the kill (log: {''.join(seen)[-300:]})")
            continue
        targets = {"one rank": ranks[-1:], "every rank": ranks, "launcher": [process.pid]}[victim]
        killed_at = time.monotonic()
        for pid in targets:
            os.kill(pid, signal.SIGKILL)
        while alive(everything) and time.monotonic() - killed_at < BOUND + 5:
            time.sleep(0.05)
        ended = time.monotonic() - killed_at
        left = alive(everything)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        process.wait()
        durations.append(ended)
        test.check(not left and ended <= BOUND, f"{label}: the whole job ended {ended:.1f} s after the kill")
        if hashlib.sha256(open(model, "rb").read()).hexdigest() != good:
            # The rename is atomic: a changed model means the run committed just before the kill
            # landed (the write stage is short). It must then be the complete new model.
            test.check(not differences(good_contents, model_contents(model, ignore=RUN_TIME)),
                       f"{label}: the run had committed before the kill; the model is the complete new one")
            shutil.copy(good_copy, model)
            continue
        test.check(True, f"{label}: the previous model is byte-identical")

with open_model(model) as f:
    test.check("kmeans/centroids" in f and "fpgrowth/rules" in f, "the previous model still opens")
result = test.run(2, "run", job, check=False)
test.check(result.returncode == 0 and not os.path.exists(model + ".tmp"), f"a rerun after the kills succeeds (exit {result.returncode}) "
           "and leaves no temporary")
if durations:
    print(f"end of the job after a kill: {min(durations):.1f} .. {max(durations):.1f} s (bound {BOUND} s)")
test.finish()
