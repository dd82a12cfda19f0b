"""K-means exactness and reproducibility:

 1. From the same initial centroids and the same number of iterations, mpiseg's inertia equals
    scikit-learn's KMeans(algorithm="lloyd") to 1e-9 relative, with the same partition (only points
    equidistant to two centroids within 1e-12 relative may differ), on generated Gaussian blobs and
    (when ../shared/data is present) on Online Retail RFM features; plain Lloyd and Hamerly.
 2. Centroids, assignments, inertia and iteration count are bit-identical at 1, 2, 3 and 4 ranks,
    with and without bound acceleration, for k-means|| seeding and a warm start from a file.

    kmeans_vs_sklearn.py MPISEG MPIEXEC
"""
import os

import numpy as np
from sklearn.cluster import KMeans

from cli_harness import Harness, open_model, same_array, shared_data

test = Harness("kmeans")
work = test.work
check = test.check


def mpiseg_run(ranks, command, *sets, environment=None):
    test.run(ranks, command, sets=sets, environment=environment)


def read_model(path):
    with open_model(path) as f:
        return {name: f[name][:] for name in ("kmeans/centroids_scaled", "kmeans/sizes", "kmeans/inertia_history",
                                              "assignments/customer", "assignments/segment", "assignments/distance",
                                              "kmeans/sweep/inertia", "kmeans/sweep/silhouette",
                                              "kmeans/sweep/calinski_harabasz", "kmeans/sweep/davies_bouldin")} | {
            "inertia": f["kmeans"].attrs["inertia"], "iterations": f["kmeans"].attrs["iterations"]}


def compare_with_sklearn(name, X, keys, matrix_sets, k, iterations):
    rng = np.random.default_rng(7)
    init = X[rng.choice(len(X), size=k, replace=False)]
    init_path = os.path.join(work, f"{name}_init.csv")
    np.savetxt(init_path, init, delimiter=",", fmt="%.17g")
    reference = KMeans(n_clusters=k, init=init, n_init=1, max_iter=iterations, tol=0.0, algorithm="lloyd").fit(X)
    for accelerate in ("false", "true"):
        model = os.path.join(work, f"{name}_{accelerate}.h5")
        mpiseg_run(2, "kmeans", *matrix_sets, f"output.model={model}", f"kmeans.k={k}", "kmeans.init=file",
                   f"kmeans.init_file={init_path}", f"kmeans.max_iter={iterations}", "kmeans.tol=0",
                   f"kmeans.accelerate={accelerate}", "kmeans.silhouette_sample=0")
        ours = read_model(model)
        relative = abs(ours["inertia"] - reference.inertia_) / reference.inertia_
        check(relative <= 1e-9, f"{name} (accelerate={accelerate}): inertia {ours['inertia']:.12g} vs scikit-learn "
                                f"{reference.inertia_:.12g} (relative {relative:.2e}, {ours['iterations']} vs {reference.n_iter_} iterations)")
        # Same partition: our segments are renumbered by size, so map them through the centroids.
        order = np.argsort(ours["assignments/customer"])
        labels = ours["assignments/segment"][order]
        row_of_key = {key: i for i, key in enumerate(keys)}
        ref_labels = reference.labels_[[row_of_key[key] for key in ours["assignments/customer"][order]]]
        mapping = {}
        for ours_label, ref_label in zip(labels, ref_labels):
            mapping.setdefault(ours_label, {}).setdefault(ref_label, 0)
            mapping[ours_label][ref_label] += 1
        to_reference = {label: max(counts, key=counts.get) for label, counts in mapping.items()}
        mapped = np.array([to_reference[label] for label in labels])
        points = X[[row_of_key[key] for key in ours["assignments/customer"][order]]]
        disagree = np.nonzero(mapped != ref_labels)[0]
        ties = 0
        for i in disagree:
            d = ((reference.cluster_centers_ - points[i]) ** 2).sum(axis=1)
            a, b = d[mapped[i]], d[ref_labels[i]]
            ties += abs(a - b) <= 1e-12 * max(a, b)
        check(len(disagree) == ties, f"{name} (accelerate={accelerate}): same partition ({len(disagree)} differing points, "
                                     f"{ties} of them near ties)")
        centers = ours["kmeans/centroids_scaled"]
        worst = max(np.min(np.abs(reference.cluster_centers_ - c).max(axis=1)) for c in centers)
        check(worst <= 1e-9 * max(1.0, np.abs(X).max()), f"{name} (accelerate={accelerate}): centroids agree (worst {worst:.2e})")


# ---------------------------------------------------------------- Gaussian blobs
rng = np.random.default_rng(11)
centers = rng.normal(scale=6.0, size=(6, 8))
blob_labels = rng.integers(0, 6, size=30000)
X = centers[blob_labels] + rng.normal(size=(30000, 8))
keys = np.arange(len(X), dtype=np.uint64) * 7 + 3
blob_csv = os.path.join(work, "blobs.csv")
np.savetxt(blob_csv, np.column_stack([keys, X]), delimiter=",", fmt=["%d"] + ["%.17g"] * 8)
blob_sets = ["input.format=matrix", f"input.path={blob_csv}", "input.key_column=point"]
compare_with_sklearn("blobs", X, keys, blob_sets, k=6, iterations=15)

# Planted truth on well-separated blobs: ARI >= 0.95.
from sklearn.metrics import adjusted_rand_score
model = os.path.join(work, "blobs_auto.h5")
mpiseg_run(2, "kmeans", *blob_sets, f"output.model={model}", "kmeans.k=6", "kmeans.n_init=3")
ours = read_model(model)
order = np.argsort(ours["assignments/customer"])
truth = blob_labels[((ours["assignments/customer"][order] - 3) // 7).astype(int)]
ari = adjusted_rand_score(truth, ours["assignments/segment"][order])
check(ari >= 0.95, f"blobs: adjusted Rand index vs the planted labels {ari:.4f} >= 0.95")

# ---------------------------------------------------------------- Online Retail RFM features
csv = shared_data("online_retail", "online_retail.csv")
if csv:
    features = os.path.join(work, "retail_features.h5")
    mpiseg_run(2, "features", f"input.path={csv}", f"output.model={features}",
               "features.include=[\"recency_days\", \"frequency\", \"monetary\"]")
    with open_model(features) as f:
        R = f["features/matrix"][:]
        retail_keys = f["features/customer"][:]
    compare_with_sklearn("online_retail_rfm", R, retail_keys, ["input.format=features", f"input.path={features}"], k=5,
                         iterations=30)
else:
    print("SKIPPED: Online Retail comparison (../shared/data absent)")

# ---------------------------------------------------------------- bit-identical at 1..4 ranks
for label, sets in [("kmeans|| + Hamerly", ["kmeans.init=kmeans||", "kmeans.accelerate=true"]),
                    ("kmeans|| plain", ["kmeans.init=kmeans||", "kmeans.accelerate=false"]),
                    ("kmeans++", ["kmeans.init=kmeans++"]),
                    ("random", ["kmeans.init=random"]),
                    ("warm start", ["kmeans.init=file", f"kmeans.init_file={os.path.join(work, 'blobs_init.csv')}"])]:
    results = []
    for ranks in (1, 2, 3, 4):
        model = os.path.join(work, f"identity_{ranks}.h5")
        k = "6" if label == "warm start" else "[5, 6, 7]"
        mpiseg_run(ranks, "kmeans", *blob_sets, f"output.model={model}", f"kmeans.k={k}", "kmeans.n_init=2",
                   "kmeans.silhouette_sample=2000", *sets)
        results.append(read_model(model))
    identical = all(same_array(np.asarray(results[0][key]), np.asarray(other[key])) for other in results[1:] for key in results[0])
    check(identical, f"{label}: centroids, assignments, distances, inertia, iterations and sweep metrics bit-identical at 1..4 ranks")

# The portable kernel (Eigen products) and the AVX2/FMA one (chosen at run time) round the
# expanded distances differently; the models must still be bit-identical.
for accelerate in ("false", "true"):
    portable = os.path.join(work, f"portable_{accelerate}.h5")
    mpiseg_run(3, "kmeans", *blob_sets, f"output.model={portable}", "kmeans.k=6", "kmeans.init=file",
               f"kmeans.init_file={os.path.join(work, 'blobs_init.csv')}", "kmeans.max_iter=15", "kmeans.tol=0",
               f"kmeans.accelerate={accelerate}", "kmeans.silhouette_sample=0",
               environment=dict(os.environ, MPISEG_KERNEL="generic"))
    a, b = read_model(portable), read_model(os.path.join(work, f"blobs_{accelerate}.h5"))
    check(all(same_array(np.asarray(a[key]), np.asarray(b[key])) for key in a),
          f"portable and AVX2 kernels give bit-identical models (accelerate={accelerate})")

plain, fast = (read_model(os.path.join(work, f"blobs_{a}.h5")) for a in ("false", "true"))
check(all(same_array(np.asarray(plain[key]), np.asarray(fast[key])) for key in plain), "Hamerly and plain Lloyd give bit-identical models")

test.finish()
