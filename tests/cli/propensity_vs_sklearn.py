"""Propensity models against scikit-learn and against the data:

 1. Coefficients (global and per segment, class_weight none and balanced) equal scikit-learn's
    LogisticRegression(C = 1 / l2, newton-cholesky) on the same training matrix (stored with
    [propensity] store_training_data) to 1e-6 relative; churn, a category and an item target.
 2. AUC, log loss and Brier equal sklearn.metrics on the stored scores to 1e-12; the top decile
    is the first ceil(n / 10) customers by score.
 3. No look-ahead: the training snapshot's frequency counts only baskets before its date, and the
    labels are exactly "bought (in the category, one of the items) in [date, date + horizon)",
    recomputed here with pandas from the CSV.
 4. The stored scores are the stored models applied to /features with the stored scaler.
 5. Online Retail (when ../shared/data is present): churn at a 90-day horizon: coefficients and
    AUC against scikit-learn as above; the validation figures printed are those the README states.

    propensity_vs_sklearn.py MPISEG MPIEXEC
"""
import json
import warnings
import os
import re

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from cli_harness import Harness, open_model, shared_data

test = Harness("propensity")
# scikit-learn's convergence warnings at a tight tol are not failures: the comparison judges the result.
warnings.filterwarnings("ignore")
check = test.check

# ---------------------------------------------------------------- data with categories
items = test.path("items.csv")
generate = [f"generate.output={items}", "generate.truth=", "generate.customers=2500", "generate.items=600",
            "generate.line_items=250000", "generate.segments=4", "generate.seed=11", "generate.months=12",
            "generate.malformed_rate=0"]
test.run(2, "generate", sets=generate)
frame = pd.read_csv(items, dtype={"StockCode": str, "InvoiceNo": str})
# A category per item (about five), so that category targets and category-share features exist.
codes = sorted(frame["StockCode"].unique())
category_of = {code: f"C{int(re.sub('[^0-9]', '', code) or 0) % 5}" for code in codes}
frame["Category"] = frame["StockCode"].map(category_of)
frame.to_csv(items, index=False)
popular = frame[frame["Quantity"] > 0]["StockCode"].value_counts().index[:2].tolist()
targets = ["churn", "category:C2", f"items:{popular[0]},{popular[1]}"]

base = [f"input.path={items}", "input.category=Category", "ingest.missing_customer=drop", "ingest.store=",
        "features.top_categories=3", "kmeans.k=3", "kmeans.seed=2", 'run.stages=["features", "kmeans", "propensity"]',
        f"propensity.targets={json.dumps(targets)}", "propensity.store_training_data=true", "propensity.l2=0.5",
        "propensity.tol=1e-12"]


def fitted(group):
    return "coefficients" in group


def sklearn_fit(X, y, l2, class_weight):
    model = LogisticRegression(C=1.0 / l2, solver="newton-cholesky", tol=1e-10, max_iter=1000,
                               class_weight="balanced" if class_weight == "balanced" else None)
    model.fit(X, y)
    return np.concatenate([model.coef_[0], model.intercept_])


def relative_difference(ours, theirs):
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


for class_weight, ranks in (("none", 2), ("balanced", 3)):
    model = test.path(f"model-{class_weight}.h5")
    test.run(ranks, "run", sets=base + [f"output.model={model}", f"propensity.class_weight={class_weight}"])
    with open_model(model) as f:
        group = f["propensity"]
        X = group["training/matrix"][:]
        segment = group["training/segment"][:]
        customers = group["training/customer"][:]
        l2 = float(group.attrs["l2"])
        trained_at = pd.Timestamp(group.attrs["trained_at_date"])
        horizon = int(group.attrs["horizon_days"])
        for name in list(group["targets"]):
            target = group[name]
            y = target["training_label"][:]
            # 1. coefficients, global and per segment
            if check(fitted(target), f"{class_weight}: {name}: a global model"):
                ours = np.concatenate([target["coefficients"][:], [target.attrs["intercept"]]])
                difference = relative_difference(ours, sklearn_fit(X, y, l2, class_weight))
                check(difference <= 1e-6, f"{class_weight}: {name}: coefficients equal scikit-learn's (relative {difference:.1e}, "
                                          f"{target.attrs['iterations']} Newton iterations, {target.attrs['convergence']})")
            for s in range(int(group.attrs["segments"])):
                segment_group = target[f"segment_{s}"]
                rows = segment == s
                if not fitted(segment_group):
                    print(f"note: {class_weight}: {name}: segment {s} skipped: {segment_group.attrs['skipped']}")
                    continue
                ours = np.concatenate([segment_group["coefficients"][:], [segment_group.attrs["intercept"]]])
                difference = relative_difference(ours, sklearn_fit(X[rows], y[rows], l2, class_weight))
                check(difference <= 1e-6, f"{class_weight}: {name}: segment {s} ({rows.sum()} customers) equals scikit-learn "
                                          f"(relative {difference:.1e})")
            # 2. metrics on the stored scores
            if class_weight == "none":
                p = target["training_score"][:]
                training = target["training"].attrs
                auc = roc_auc_score(y, p)
                check(abs(training["auc"] - auc) <= 1e-12, f"{name}: training AUC {training['auc']:.15f} = roc_auc_score {auc:.15f}")
                loss = log_loss(y, p)
                check(abs(training["log_loss"] - loss) <= 1e-12 * loss, f"{name}: log loss {training['log_loss']:.15f} = sklearn {loss:.15f}")
                brier = brier_score_loss(y, p)
                check(abs(training["brier"] - brier) <= 1e-12 * brier, f"{name}: Brier {training['brier']:.15f} = sklearn {brier:.15f}")
                order = np.lexsort((customers, -p))
                top = (len(p) + 9) // 10
                check(int(target["training/decile_customers"][0]) == top and
                      int(target["training/decile_positives"][0]) == int(y[order[:top]].sum()),
                      f"{name}: the top decile is the first {top} customers by score ({int(y[order[:top]].sum())} positives)")
                # 3. labels recomputed from the CSV: purchases in [trained_at, trained_at + horizon)
                lines = frame.dropna(subset=["CustomerID"]).copy()
                lines["time"] = pd.to_datetime(lines["InvoiceDate"])
                window = lines[(lines["time"] >= trained_at) & (lines["time"] < trained_at + pd.Timedelta(days=horizon)) &
                               (lines["Quantity"] > 0) & ~lines["InvoiceNo"].str.startswith("C")]
                if name == "churn":
                    positive = set(window["CustomerID"].astype(np.int64))
                    expected = np.array([0 if c in positive else 1 for c in customers], dtype=np.uint8)
                elif name.startswith("category:"):
                    positive = set(window[window["Category"] == name.split(":")[1]]["CustomerID"].astype(np.int64))
                    expected = np.array([1 if c in positive else 0 for c in customers], dtype=np.uint8)
                else:
                    wanted = name.split(":")[1].split(",")
                    positive = set(window[window["StockCode"].isin(wanted)]["CustomerID"].astype(np.int64))
                    expected = np.array([1 if c in positive else 0 for c in customers], dtype=np.uint8)
                check(np.array_equal(expected, y), f"{name}: labels equal purchases in [{trained_at.date()}, +{horizon} days) "
                                                   f"from the CSV ({int(y.sum())} positives of {len(y)})")
                if name == "churn":
                    before = lines[lines["time"] < trained_at]
                    history = before[(before["Quantity"] > 0) & ~before["InvoiceNo"].str.startswith("C")]
                    check(set(history["CustomerID"].astype(np.int64)) == set(customers.tolist()),
                          f"the training snapshot holds exactly the customers who bought before {trained_at.date()} ({len(customers)})")
                    names = list(group["feature_names"])
                    column = names.index("frequency")
                    center, scale = group["scaler/center"][column], group["scaler/scale"][column]
                    transform = group["scaler/transform"][column]
                    raw = X[:, column] * scale + center
                    raw = np.expm1(raw) if transform.startswith("log1p") else raw
                    frequency = history.groupby("CustomerID")["InvoiceNo"].nunique()
                    expected_frequency = frequency.reindex(customers.astype(float)).to_numpy()
                    check(np.allclose(raw, expected_frequency, rtol=1e-9), "no look-ahead: the snapshot's frequency counts only "
                                                                           "baskets before its date")
        # 4. stored scores = stored models on /features with the stored scaler
        if class_weight == "none":
            raw = f["features/raw"][:]
            names = list(group["scaler/transform"])
            center, scale, zero = group["scaler/center"][:], group["scaler/scale"][:], group["scaler/zero_variance"][:]
            transformed = np.where([t.startswith("log1p") for t in names], np.log1p(np.maximum(raw, 0)), raw)
            scaled = np.where(zero.astype(bool), 0.0, (transformed - center) / scale)
            assigned = f["assignments/segment"][:]
            for name in list(group["targets"]):
                target = group[name]
                by = target["scored_by"][:]
                expected = np.empty(len(raw))
                for i in range(len(raw)):
                    model_group = target if by[i] < 0 else target[f"segment_{by[i]}"]
                    check_segment = by[i] < 0 or by[i] == assigned[i]
                    if not check_segment:
                        break
                    z = model_group.attrs["intercept"] + scaled[i] @ model_group["coefficients"][:]
                    expected[i] = 1 / (1 + np.exp(-z))
                check(len(by) == len(f["assignments/customer"]) and np.allclose(target["scores"][:], expected, rtol=1e-12, atol=0),
                      f"{name}: /scores are the stored models (segment model where fitted) on /features, aligned with /assignments")

# ---------------------------------------------------------------- Online Retail churn
retail = shared_data("online_retail", "online_retail.csv")
if retail:
    model = test.path("retail.h5")
    source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    test.run(2, "run", os.path.join(source, "jobs", "online_retail.toml"),
             sets=[f"input.path={retail}", f"output.model={model}", "output.assignments_csv=", "ingest.store=",
                   'run.stages=["features", "kmeans", "propensity"]', 'propensity.targets=["churn"]', "propensity.store_training_data=true"])
    with open_model(model) as f:
        churn = f["propensity/churn"]
        X, y = f["propensity/training/matrix"][:], churn["training_label"][:]
        ours = np.concatenate([churn["coefficients"][:], [churn.attrs["intercept"]]])
        difference = relative_difference(ours, sklearn_fit(X, y, float(f["propensity"].attrs["l2"]), "none"))
        check(difference <= 1e-6, f"Online Retail churn: coefficients equal scikit-learn's (relative {difference:.1e})")
        auc = roc_auc_score(y, churn["training_score"][:])
        check(abs(churn["training"].attrs["auc"] - auc) <= 1e-12, f"Online Retail churn: training AUC equals roc_auc_score ({auc:.6f})")
        validation = churn["validation"].attrs
        check(0.5 < validation["auc"] <= 1 and 0 < validation["base_rate"] < 1,
              f"Online Retail churn (90 days): validation AUC {validation['auc']:.4f}, base rate {validation['base_rate']:.4f}, "
              f"top-decile lift {validation['top_decile_lift']:.2f}, {validation['customers']} customers")
        for s in range(int(f["propensity"].attrs["segments"])):
            group = churn[f"segment_{s}"]
            if "validation" in group:
                v = group["validation"].attrs
                print(f"      segment {s}: base rate {v['base_rate']:.4f}, validation AUC {v['auc']:.4f}, "
                      f"top-decile lift {v['top_decile_lift']:.2f}, {v['customers']} customers")
            else:
                print(f"      segment {s}: {group.attrs.get('skipped', 'no validation')}")
else:
    print("SKIPPED: Online Retail churn (../shared/data absent)")

test.finish()
