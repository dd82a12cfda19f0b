"""Summarises a sweep run as a Slurm job array (slurm/sweep.sh): every OUT/task_N.h5 model's
per-k metrics into OUT/summary.csv, and the best (task, k) by silhouette.

    /usr/bin/python3 scripts/collect_sweep.py OUT
"""
import csv
import glob
import math
import os
import re
import sys

import h5py


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    out = sys.argv[1]
    models = sorted(glob.glob(os.path.join(out, "task_*.h5")), key=lambda p: int(re.search(r"task_(\d+)\.h5$", p).group(1)))
    if not models:
        sys.exit(f"collect_sweep: no task_*.h5 in {out}")
    rows = []
    for path in models:
        with h5py.File(path, "r") as model:
            sweep = model["kmeans/sweep"]
            job = text(model["run"].attrs["job_file"]) if "run" in model else ""
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
    scored = [r for r in rows if not math.isnan(r["silhouette"])]
    best = max(scored, key=lambda r: (r["silhouette"], -r["k"])) if scored else None
    print(f"sweep: {len(models)} task(s), {len(rows)} fit(s); summary {summary}")
    if best:
        print(f"best by silhouette: task {best['task']} k = {best['k']} (silhouette {best['silhouette']:.4f}, {best['job']})")


if __name__ == "__main__":
    main()
