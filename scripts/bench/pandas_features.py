"""The single-machine pipeline practitioners write for customer features: pandas reads the CSV
and computes the same nine features as `mpiseg features` (README definitions). Used as the
reference of the features benchmark.

    pandas_features.py LINE_ITEMS.csv OUT.csv   # prints the seconds spent and the customer count
"""
import sys
import time

import numpy as np
import pandas as pd

start = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "CustomerID": str,
                                     "Country": str}, parse_dates=["InvoiceDate"], on_bad_lines="skip",
                 encoding_errors="replace")
d = df.dropna(subset=["CustomerID"]).copy()
d["cancel"] = d.InvoiceNo.str.startswith("C")
d["value"] = d.Quantity * d.UnitPrice
d["purchase"] = (~d.cancel) & (d.Quantity > 0)
d["is_return"] = d.cancel | (d.Quantity < 0)
reference = d.InvoiceDate.max().normalize() + pd.Timedelta(days=1)
p = d[d.purchase]
g = p.groupby("CustomerID")
first, last = g.InvoiceDate.min(), g.InvoiceDate.max()
frequency = g.InvoiceNo.nunique()
features = pd.DataFrame({
    "recency_days": (reference - last).dt.days,
    "frequency": frequency,
    "monetary": d.groupby("CustomerID").value.sum()[frequency.index],
    "avg_basket_value": g.value.sum() / frequency,
    "avg_items_per_basket": p.drop_duplicates(["CustomerID", "InvoiceNo", "StockCode"]).groupby("CustomerID").size() / frequency,
    "tenure_days": (last - first).dt.days,
    "distinct_items": g.StockCode.nunique(),
    "return_rate": d.groupby("CustomerID").is_return.mean()[frequency.index],
})
features["mean_days_between_purchases"] = np.where(
    frequency > 1, (last - first).dt.total_seconds() / 86400 / (frequency - 1), (reference - first).dt.total_seconds() / 86400)
features.to_csv(sys.argv[2])
print(time.perf_counter() - start, len(features))
