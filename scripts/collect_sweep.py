"""Summarises a sweep run as a Slurm job array (slurm/sweep.sh): every OUT/task_N.h5 model's
per-k metrics into OUT/summary.csv, and the best (task, k) by the jobs' [kmeans] selection criterion
(as `mpiseg run` chooses within one sweep: silhouette or Calinski-Harabasz highest, Davies-Bouldin
lowest; ties go to the smaller k, then the lower task).

    /usr/bin/python3 scripts/collect_sweep.py OUT
"""
import csv
import glob
import math
import os
import re
import sys

import mpiseg_model


def main():
    out = sys.argv[1]
    models = sorted(glob.glob(os.path.join(out, "task_*.h5")), key=lambda p: int(re.search(r"task_(\d+)\.h5$", p).group(1)))
    if not models:
        sys.exit(f"collect_sweep: no task_*.h5 in {out}")
    rows, selections = [], set()
    for path in models:
        with mpiseg_model.open_model(path) as model:
            sweep = model["kmeans/sweep"]
            selections.add(model["kmeans"].attrs["selection"])
            job = model["run"].attrs["job_file"] if "run" in model else ""
            for i, k in enumerate(sweep["k"][:]):
                rows.append({"task": int(re.search(r"task_(\d+)", path).group(1)), "job": job, "k": int(k),
                             "inertia": float(sweep["inertia"][i]), "silhouette": float(sweep["silhouette"][i]),
                             "calinski_harabasz": float(sweep["calinski_harabasz"][i]),
                             "davies_bouldin": float(sweep["davies_bouldin"][i]), "iterations": int(sweep["iterations"][i])})
    summary = os.path.join(out, "summary.csv")
    with open(summary, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if len(selections) != 1:
        sys.exit(f"collect_sweep: the tasks chose k by different criteria ({', '.join(sorted(selections))}): no common best")
    selection = selections.pop()
    if selection not in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        sys.exit(f"collect_sweep: unknown [kmeans] selection '{selection}' in the models")
    sign = -1.0 if selection == "davies_bouldin" else 1.0  # lower is better for Davies-Bouldin
    scored = [r for r in rows if not math.isnan(r[selection])]
    best = max(scored, key=lambda r: (sign * r[selection], -r["k"], -r["task"])) if scored else None
    print(f"sweep: {len(models)} task(s), {len(rows)} fit(s); summary {summary}")
    if best:
        print(f"best by {selection}: task {best['task']} k = {best['k']} ({selection} {best[selection]:.4f}, {best['job']})")
    else:
        print(f"no fit has a {selection} value: no best k")

if __name__ == "__main__":
    main()
