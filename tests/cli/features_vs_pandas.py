"""Every feature of every Online Retail customer, the RFM scores and the scaler parameters, from
`mpiseg features` at 1, 2, 3 and 4 ranks, against an independent pandas computation of the
definitions in the README; and the datasets must be bit-identical across rank counts.

    features_vs_pandas.py MPISEG MPIEXEC   (exit 77 = skipped: ../shared/data absent)
"""
import math  # fsum: the exact sum of the line values, which mpiseg's money sums reproduce
import sys

import numpy as np
import pandas as pd

from cli_harness import Harness, SKIP, open_model, shared_data

csv = shared_data("online_retail", "online_retail.csv")
if not csv:
    print("SKIPPED: online_retail.csv not found (../shared/data absent)")
    sys.exit(SKIP)

test = Harness("features")
models = {}
for ranks in (1, 2, 3, 4):
    model = test.path(f"model_{ranks}.h5")
    test.run(ranks, "features", sets=[f"input.path={csv}", f"output.model={model}",
                                      "features.transforms=[\"frequency=log1p+zscore\", \"monetary=log1p+zscore\", \"tenure_days=robust\"]"])
    models[ranks] = open_model(model)

# ---------------------------------------------------------------- the reference computation
df = pd.read_csv(csv, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}, parse_dates=["InvoiceDate"])
d = df.dropna(subset=["CustomerID"]).copy()
d["customer"] = d.CustomerID.astype(float).astype(np.int64)
d["cancel"] = d.InvoiceNo.str.startswith("C")
d["value"] = d.Quantity * d.UnitPrice
d["purchase"] = (~d.cancel) & (d.Quantity > 0)
d["is_return"] = d.cancel | (d.Quantity < 0)
ref = pd.Timestamp("2011-12-10")
day = 86400.0
p = d[d.purchase]
g = p.groupby("customer")
first, last = g.InvoiceDate.min(), g.InvoiceDate.max()
freq = g.InvoiceNo.nunique()
expected = pd.DataFrame({
    "recency_days": ((ref - last).dt.total_seconds() // day),
    "frequency": freq.astype(float),
    "monetary": d.groupby("customer").value.apply(math.fsum)[freq.index],
    "avg_basket_value": g.value.apply(math.fsum) / freq,
    "avg_items_per_basket": p.drop_duplicates(["customer", "InvoiceNo", "StockCode"]).groupby("customer").size() / freq,
    "tenure_days": ((last - first).dt.total_seconds() // day),
    "distinct_items": g.StockCode.nunique().astype(float),
    "return_rate": d.groupby("customer").is_return.mean()[freq.index],
})
gap = (last - first).dt.total_seconds() / day / (freq - 1)
single = (ref - first).dt.total_seconds() / day
expected["mean_days_between_purchases"] = np.where(freq > 1, gap, single)
expected = expected.sort_index()


def check(condition, message):
    if not condition:  # only failures are printed: there are thousands of checks
        test.check(False, message)


f = models[1]["features"]
names = list(f["names"])
customers = f["customer"][:]
raw = f["raw"][:]
check(list(customers) == list(expected.index), "customers (4,339 with a purchase, ascending)")
check(len(customers) == 4339, f"4339 customers, got {len(customers)}")
for j, name in enumerate(names):
    ours, theirs = raw[:, j], expected[name].to_numpy()
    worst = np.max(np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs)))
    check(worst <= 1e-12, f"{name}: largest relative difference {worst:.3g}")
check(expected.recency_days.sum() == 399368, "sum of recency 399,368")
check(expected.frequency.sum() == 18536, "sum of frequency 18,536")
check(round(raw[:, names.index("monetary")].sum(), 2) == 8310477.05, "sum of monetary 8,310,477.05")
spot = {17850: (372, 34, 5288.63), 14911: (1, 201, 132572.62), 12346: (325, 1, 0.0)}
for customer, (r, fr, m) in spot.items():
    row = raw[list(customers).index(customer)]
    check((row[0], row[1], round(row[2], 2)) == (r, fr, m), f"customer {customer}: R, F, M = {row[:3]}")

# RFM: the j-th cut is the value of 1-based rank ceil(j n / 5); score = 1 + cuts strictly below.
n = len(expected)
def scores(values):
    ordered = np.sort(values)
    cuts = [ordered[math.ceil(j * n / 5) - 1] for j in range(1, 5)]
    return 1 + sum((values > c).astype(int) for c in cuts)
expected_scores = np.stack([scores(-expected.recency_days.to_numpy()), scores(expected.frequency.to_numpy()),
                            scores(expected.monetary.to_numpy())], axis=1)
check(np.array_equal(f["rfm_score"][:], expected_scores), "RFM scores")
check(np.array_equal(f["rfm_code"][:], expected_scores @ np.array([100, 10, 1])), "RFM codes")

# Scaler parameters: population z-score, log1p after clipping, robust = median and IQR (type 7).
scaler = f["scaler"]
specs = list(scaler["transform"])
for j, name in enumerate(names):
    x = expected[name].to_numpy()
    if specs[j].startswith("log1p"):
        x = np.log1p(np.maximum(x, 0))
    if specs[j].endswith("zscore"):
        center, scale = x.mean(), x.std()
    elif specs[j].endswith("robust"):
        center, scale = np.quantile(x, 0.5), np.quantile(x, 0.75) - np.quantile(x, 0.25)
    else:
        center, scale = 0.0, 1.0
    check(abs(scaler["center"][j] - center) <= 1e-12 * max(1, abs(center)), f"{name}: center {scaler['center'][j]} vs {center}")
    check(abs(scaler["scale"][j] - scale) <= 1e-12 * max(1, abs(scale)), f"{name}: scale {scaler['scale'][j]} vs {scale}")
    matrix = (x - center) / scale
    check(np.max(np.abs(f["matrix"][:, j] - matrix)) <= 1e-9, f"{name}: transformed column")
check(int(scaler["clipped"][names.index("monetary")]) == int((expected.monetary < 0).sum()), "negative monetary values clipped")
check(int(f.attrs["excluded_no_purchase"]) == 33, "33 customers without a purchase excluded")

# Bit-identical at every rank count.
for ranks in (2, 3, 4):
    other = models[ranks]["features"]
    for dataset in ("customer", "raw", "matrix", "rfm_score", "rfm_code", "scaler/center", "scaler/scale"):
        check(np.array_equal(f[dataset][:], other[dataset][:]) and f[dataset].dtype == other[dataset].dtype,
              f"{dataset} identical at {ranks} ranks")

for handle in models.values():
    handle.close()
if not test.failures:
    print("features, scores and scalers match pandas; identical at 1..4 ranks")
test.finish()
