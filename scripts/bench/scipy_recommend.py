"""The reference for the recommend benchmark: item-based cosine CF and implicit ALS written with
numpy and scipy.sparse, the same definitions and updates as mpiseg's recommend stage, on the same
CSV (purchase lines: quantity > 0, not a cancellation, with a customer).

    scipy_recommend.py CSV item_cf NEIGHBOURS N OUT.npz
    scipy_recommend.py CSV als FACTORS ITERATIONS REGULARIZATION ALPHA SEED OUT.npz

Prints "seconds S" for item_cf (similarity, pruning and top-n, after the matrix is built) and
"iteration S" for each ALS sweep; saves what the benchmark checks against mpiseg's model.
"""
import math
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

M64 = (1 << 64) - 1


def purchases(path):
    frame = pd.read_csv(path, usecols=["InvoiceNo", "StockCode", "Quantity", "CustomerID"], dtype={"InvoiceNo": str, "StockCode": str})
    frame = frame[frame["CustomerID"].notna()]  # [ingest] missing_customer = "drop"
    codes = np.array(sorted(frame["StockCode"].astype(str).unique()))  # every accepted line's item: mpiseg's dictionary
    frame = frame[(frame["Quantity"] > 0) & ~frame["InvoiceNo"].str.startswith("C")]
    customers, customer_index = np.unique(frame["CustomerID"].to_numpy(), return_inverse=True)
    item_index = np.searchsorted(codes, frame["StockCode"].astype(str).to_numpy())
    binary = sp.csr_matrix((np.ones(len(frame)), (customer_index, item_index)), shape=(len(customers), len(codes)))
    binary.sum_duplicates()
    binary.data[:] = 1.0
    return customers, codes, binary


def item_cf(binary, neighbours, n, block=4096):
    """Cosine from V^T V (a sparse product), the top `neighbours` per item by (similarity
    descending, item ascending; a stable sort of each dense row), scores B K for blocks of
    customers, and each customer's top n unbought reachable items (argpartition, then sorted)."""
    start = time.perf_counter()
    co = (binary.T @ binary).toarray()  # exact integer counts in float64
    norms = np.diag(co).copy()
    np.fill_diagonal(co, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(co > 0, co / np.sqrt(np.outer(norms, norms)), 0.0)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :neighbours]
    rows = np.repeat(np.arange(co.shape[0]), order.shape[1])
    values = similarity[rows, order.ravel()]
    kept = sp.csr_matrix((values, (rows, order.ravel())), shape=co.shape)
    kept.eliminate_zeros()
    top = []
    for first in range(0, binary.shape[0], block):
        chunk = binary[first:first + block]
        scores = (chunk @ kept).toarray()  # > 0 exactly where an item is reachable (similarities are > 0)
        scores[scores <= 0] = -np.inf
        scores[np.repeat(np.arange(chunk.shape[0]), np.diff(chunk.indptr)), chunk.indices] = -np.inf  # bought
        count = min(n, scores.shape[1])
        best = np.argpartition(-scores, count - 1, axis=1)[:, :count]
        values = np.take_along_axis(scores, best, axis=1)
        ranked = np.lexsort((best, -values), axis=1)
        best, values = np.take_along_axis(best, ranked, axis=1), np.take_along_axis(values, ranked, axis=1)
        top += [row[np.isfinite(value)] for row, value in zip(best, values)]
    return time.perf_counter() - start, top


def mix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def initial_factor(seed, item, f, factors):
    """core/random.hpp's CounterRng(seed, item, stream).normal() with stream = 0x616c73 + f, scaled
    as mpiseg's ALS starts its item factors (the CLI test uses it too)."""
    base = mix64((mix64(mix64(seed ^ 0x6A09E667F3BCC909) ^ item) + (0x616C73 + f) * 0x9E3779B97F4A7C15) & M64)
    draws = [mix64((base + n * 0x9E3779B97F4A7C15) & M64) for n in (1, 2)]
    normal = math.sqrt(-2.0 * math.log(1.0 - (draws[0] >> 11) * 2.0 ** -53)) * math.cos(2.0 * math.pi * (draws[1] >> 11) * 2.0 ** -53)
    return normal * 0.1 / math.sqrt(factors)


def half_step(matrix, fixed, regularization, alpha):
    """Solves every row's factors against the fixed side: A_u = F^T F + alpha F_u^T F_u + lambda I,
    b_u = (1 + alpha) sum_i f_i over the row's nonzeros (binary values). Rows with the same number
    of nonzeros are stacked, so F_u^T F_u is one batched matrix product (BLAS) per group and the
    solves are batched too."""
    k = fixed.shape[1]
    base = fixed.T @ fixed + regularization * np.eye(k)
    solved = np.zeros((matrix.shape[0], k))
    counts = np.diff(matrix.indptr)
    order = np.argsort(counts, kind="stable")
    sizes, starts = np.unique(counts[order], return_index=True)
    bounds = list(starts) + [len(order)]
    for g, size in enumerate(sizes):
        if size == 0:
            continue
        rows = order[bounds[g]:bounds[g + 1]]
        F = fixed[matrix.indices[matrix.indptr[rows][:, None] + np.arange(size)]]  # rows x size x k
        A = base + alpha * np.matmul(F.transpose(0, 2, 1), F)
        b = (1.0 + alpha) * F.sum(axis=1)
        solved[rows] = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    return solved


def als(binary, factors, iterations, regularization, alpha, seed):
    Y = np.array([[initial_factor(seed, i, f, factors) for f in range(factors)] for i in range(binary.shape[1])])
    by_item = binary.T.tocsr()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        X = half_step(binary, Y, regularization, alpha)
        Y = half_step(by_item, X, regularization, alpha)
        times.append(time.perf_counter() - start)
    return times, X, Y


def main():
    path, method = sys.argv[1], sys.argv[2]
    customers, codes, binary = purchases(path)
    if method == "item_cf":
        neighbours, n, out = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        seconds, top = item_cf(binary, neighbours, n)
        print("seconds", seconds)
        lengths = np.array([len(t) for t in top])
        np.savez(out, customers=customers, codes=codes, lengths=lengths, items=np.concatenate(top) if top else np.array([]))
    else:
        factors, iterations, regularization, alpha, seed, out = (int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
                                                                 float(sys.argv[6]), int(sys.argv[7]), sys.argv[8])
        times, X, Y = als(binary, factors, iterations, regularization, alpha, seed)
        for seconds in times:
            print("iteration", seconds)
        np.savez(out, customers=customers, item_factors=Y)


if __name__ == "__main__":
    main()
