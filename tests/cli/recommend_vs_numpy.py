"""The recommend stage against independent computations:

 1. A hand-checked case (six customers, four items): popularity lists and scores, the rules
    method (best rule per item whose antecedent the customer holds) and the exclusion of bought
    items.
 2. item_cf equals a dense numpy computation (co-occurrence V^T V, cosine, top neighbours per
    item, score = sum over bought items of similarity) to 1e-12 relative, for binary and count
    values, with and without neighbour pruning.
 3. als equals a dense numpy implementation of the same updates (Hu, Koren and Volinsky 2008;
    initial item factors from the same counter-based generator) to 1e-9, and its loss decreases
    every iteration.
 4. `mpiseg score` with a stored model, on the lines it was trained on, recommends exactly the
    stored item_cf lists; for new customers its als scores are x . y_i with x solved from the
    stored item factors (numpy, 1e-9).
 5. /recommend is bit-identical at 1, 2, 3 and 4 ranks, evaluation included.
 6. Generated data with planted itemsets: for customers who bought all but one item of a planted
    itemset before the cutoff, rules and item_cf recommend the missing item where popularity does
    not, at well above chance (the rates printed are those the README states).
 7. Online Retail (when ../shared/data is present), the last 30 days held out: item_cf and als
    beat popularity on recall@10; the figures printed are those the README states.

    recommend_vs_numpy.py MPISEG MPIEXEC
"""
import os
import sys

import numpy as np
import pandas as pd

from cli_harness import Harness, differences, model_contents, open_model, shared_data

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "bench"))
from scipy_recommend import initial_factor  # noqa: E402 (core/random.hpp's draws, shared with the benchmark's reference)

test = Harness("recommend")
check = test.check


# ---------------------------------------------------------------- 1. hand-checked case
rows = [  # invoice, item, customer, date
    ("1", "A", 1, "2011-01-03"), ("1", "B", 1, "2011-01-03"), ("2", "C", 1, "2011-01-10"),
    ("3", "A", 2, "2011-01-04"), ("3", "B", 2, "2011-01-04"),
    ("4", "A", 3, "2011-01-05"), ("4", "B", 3, "2011-01-05"), ("4", "C", 3, "2011-01-05"),
    ("5", "A", 4, "2011-01-06"),
    ("6", "B", 5, "2011-01-07"), ("6", "C", 5, "2011-01-07"),
    ("7", "D", 6, "2011-01-08"),
]
tiny = test.path("tiny.csv")
with open(tiny, "w") as f:
    f.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
    for invoice, item, customer, date in rows:
        f.write(f"{invoice},{item},item {item},1,{date} 10:00:00,1.0,{customer},UK\n")
tiny_model = test.path("tiny.h5")
test.run(2, "recommend", sets=[f"input.path={tiny}", "ingest.store=", f"output.model={tiny_model}", "recommend.validate=false",
                               'recommend.methods=["popularity", "rules"]', "recommend.n=3", "recommend.history_days=365",
                               "fpgrowth.min_support=2", "fpgrowth.min_confidence=0.5", "fpgrowth.min_lift=0"])
with open_model(tiny_model) as f:
    g = f["recommend"]
    codes = f.item_codes("recommend")
    customers = list(g["customer"][:])
    check(customers == [1, 2, 3, 4, 5, 6], f"every customer with a purchase, in key order: {customers}")

    def lists(name):
        offsets, items, scores = f.recommendations(name)
        return {int(customers[c]): [(codes[items[e]], round(float(scores[e]), 12)) for e in range(offsets[c], offsets[c + 1])]
                for c in range(len(customers))}

    popularity = lists("popularity")
    # Buyers: A 4, B 4, C 3, D 1 of 6 customers; ties by item id; bought items never recommended.
    check(popularity[4] == [("B", round(4 / 6, 12)), ("C", 0.5), ("D", round(1 / 6, 12))], f"popularity of customer 4: {popularity[4]}")
    check(popularity[6] == [("A", round(4 / 6, 12)), ("B", round(4 / 6, 12)), ("C", 0.5)], f"popularity of customer 6: {popularity[6]}")
    check(popularity[1] == [("D", round(1 / 6, 12))], f"customer 1 bought A, B, C: only D is left: {popularity[1]}")
    rules = lists("rules")
    # Baskets {A,B} {C} {A,B} {A,B,C} {A} {B,C} {D}: A->B 3/4, B->A 3/4, C->B 2/3, B->C 2/4.
    check(rules[4] == [("B", 0.75)], f"rules for customer 4 (holds A): A -> B at confidence 0.75: {rules[4]}")
    check(rules[5] == [("A", 0.75)], f"rules for customer 5 (holds B, C): B -> A at 0.75: {rules[5]}")
    check(rules[6] == [] and rules[1] == [], "no rule applies to customer 6 (D) or has anything left for customer 1")

# ---------------------------------------------------------------- data for item_cf and als
items_csv = test.path("items.csv")
test.run(2, "generate", sets=[f"generate.output={items_csv}", "generate.truth=", "generate.customers=160", "generate.items=70",
                              "generate.line_items=12000", "generate.segments=3", "generate.seed=5", "generate.months=6",
                              "generate.malformed_rate=0"])
frame = pd.read_csv(items_csv, dtype={"StockCode": str, "InvoiceNo": str})
frame = frame[frame["CustomerID"].notna()]
purchases = frame[(frame["Quantity"] > 0) & ~frame["InvoiceNo"].str.startswith("C")]
base = [f"input.path={items_csv}", "ingest.store=", "ingest.missing_customer=drop", "recommend.validate=false",
        "recommend.n=1000", "recommend.neighbours=1000", "recommend.max_items_per_customer=100000"]


def interaction_matrix(model_file):
    """Purchase lines per (customer, item) in the model's customer and item order."""
    with open_model(model_file) as f:
        codes = f.item_codes("recommend")
        customers = f["recommend/customer"][:]
    item_index = {code: i for i, code in enumerate(codes)}
    customer_index = {int(c): i for i, c in enumerate(customers)}
    counts = np.zeros((len(customers), len(codes)))
    for (customer, code), lines in purchases.groupby(["CustomerID", "StockCode"]).size().items():
        counts[customer_index[int(customer)], item_index[code]] = lines
    return counts


def neighbour_similarity(values, keep):
    weights = values.T @ values  # exact: integer products of at most a few hundred
    norms = np.diag(weights).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = weights / np.sqrt(np.outer(norms, norms))
    np.fill_diagonal(similarity, 0.0)
    similarity[weights == 0] = 0.0
    kept = np.zeros_like(similarity)
    for i in range(similarity.shape[0]):
        candidates = [j for j in range(similarity.shape[1]) if weights[i, j] > 0 and j != i]
        candidates.sort(key=lambda j: (-similarity[i, j], j))
        for j in candidates[:keep]:
            kept[i, j] = similarity[i, j]
    return kept, weights


def compare_item_cf(model_file, counts, values, keep):
    v = (counts > 0).astype(float) if values == "binary" else np.minimum(counts, 65535)
    kept, weights = neighbour_similarity(v, keep)
    bought = counts > 0
    reference = bought.astype(float) @ kept
    is_neighbour = (bought.astype(float) @ (kept != 0).astype(float)) > 0
    worst, lists_equal, ordered = 0.0, True, True
    with open_model(model_file) as f:
        offsets, items, scores = f.recommendations("item_cf")
        stored_neighbours = f["recommend/item_cf/neighbour_items"][:]
        neighbour_offsets = f["recommend/item_cf/neighbour_offsets"][:]
    for c in range(counts.shape[0]):
        ours = items[offsets[c]:offsets[c + 1]]
        theirs = sorted(np.flatnonzero(is_neighbour[c] & ~bought[c]))
        lists_equal &= sorted(ours.tolist()) == theirs
        ordered &= bool(np.all(np.diff(scores[offsets[c]:offsets[c + 1]]) <= 0))
        for e in range(offsets[c], offsets[c + 1]):
            expected = reference[c, items[e]]
            worst = max(worst, abs(scores[e] - expected) / abs(expected))
    kept_counts = np.diff(neighbour_offsets)
    check(lists_equal, f"item_cf ({values}, {keep} neighbours): every customer gets exactly the unbought items some bought item "
                       "has as a neighbour")
    check(ordered, f"item_cf ({values}, {keep} neighbours): lists are best first")
    check(worst <= 1e-12, f"item_cf ({values}, {keep} neighbours): scores equal numpy's dense computation (max relative "
                          f"difference {worst:.2e})")
    check(bool(np.all(kept_counts == np.minimum((weights > 0).sum(axis=1) - (np.diag(weights) > 0), keep))),
          f"item_cf ({values}, {keep} neighbours): each item keeps min({keep}, its co-occurring items) neighbours")
    del stored_neighbours


for values, keep, ranks in (("binary", 1000, 2), ("counts", 1000, 3), ("binary", 5, 2)):
    model_file = test.path(f"cf-{values}-{keep}.h5")
    test.run(ranks, "recommend", sets=base + [f"output.model={model_file}", 'recommend.methods=["item_cf"]',
                                              f"recommend.values={values}", f"recommend.neighbours={keep}"])
    compare_item_cf(model_file, interaction_matrix(model_file), values, keep)


# ---------------------------------------------------------------- als against numpy
def als_numpy(counts, factors, regularization, alpha, iterations, seed):
    n_customers, n_items = counts.shape
    preference = (counts > 0).astype(float)
    confidence = 1.0 + alpha * preference  # binary values
    Y = np.array([[initial_factor(seed, i, f, factors) for f in range(factors)] for i in range(n_items)])
    X = np.zeros((n_customers, factors))
    ridge = regularization * np.eye(factors)
    losses = []
    for _ in range(iterations):
        gram = Y.T @ Y
        for c in range(n_customers):
            bought = np.flatnonzero(preference[c])
            if len(bought) == 0:
                X[c] = 0
                continue
            Yb = Y[bought]
            A = gram + Yb.T @ ((confidence[c, bought] - 1.0)[:, None] * Yb) + ridge
            X[c] = np.linalg.solve(A, Yb.T @ confidence[c, bought])
        gram = X.T @ X
        for i in range(n_items):
            buyers = np.flatnonzero(preference[:, i])
            if len(buyers) == 0:
                Y[i] = 0
                continue
            Xb = X[buyers]
            A = gram + Xb.T @ ((confidence[buyers, i] - 1.0)[:, None] * Xb) + ridge
            Y[i] = np.linalg.solve(A, Xb.T @ confidence[buyers, i])
        predicted = X @ Y.T
        loss = np.sum(confidence * (preference - predicted) ** 2) + regularization * (np.sum(X * X) + np.sum(Y * Y))
        losses.append(loss)
    return X, Y, np.array(losses)


als_model = test.path("als.h5")
settings = dict(factors=6, regularization=0.5, alpha=8.0, iterations=6, seed=3)
test.run(3, "recommend", sets=base + [f"output.model={als_model}", 'recommend.methods=["als"]'] +
         [f"recommend.{key}={value}" for key, value in settings.items()])
counts = interaction_matrix(als_model)
X, Y, losses = als_numpy(counts, **settings)
with open_model(als_model) as f:
    g = f["recommend/als"]
    ours_X, ours_Y, ours_loss = g["customer_factors"][:], g["item_factors"][:], g["loss"][:]
    offsets, items, scores = f.recommendations("als")


def relative(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


check(relative(ours_Y, Y) <= 1e-9, f"als item factors equal numpy's (max relative difference {relative(ours_Y, Y):.2e})")
check(relative(ours_X, X) <= 1e-9, f"als customer factors equal numpy's (max relative difference {relative(ours_X, X):.2e})")
check(relative(ours_loss, losses) <= 1e-9, f"als loss per iteration equals numpy's: {ours_loss.round(3).tolist()}")
check(bool(np.all(np.diff(ours_loss) < 0)), "als loss decreases every iteration")
predicted = X @ Y.T
score_error = max(abs(scores[e] - predicted[c, items[e]]) / max(abs(predicted[c, items[e]]), 1e-12)
                  for c in range(len(offsets) - 1) for e in range(offsets[c], offsets[c + 1]))
check(score_error <= 1e-9, f"als scores are x_c . y_i (max relative difference {score_error:.2e})")

# ---------------------------------------------------------------- score with a stored model
cf_model = test.path("cf-binary-1000.h5")
scored = test.path("scored-cf.h5")
test.run(2, "score", "--model", cf_model, "--out", scored, sets=[f"input.path={items_csv}", "ingest.store=", "ingest.missing_customer=drop"])
with open_model(cf_model) as f, open_model(scored) as g:
    stored_offsets, stored_items, stored_scores = f.recommendations("item_cf")
    check(np.array_equal(np.diff(stored_offsets), g["recommend/item_cf/counts"][:]) and
          np.array_equal(stored_items, g["recommend/item_cf/items"][:]) and np.array_equal(stored_scores, g["recommend/item_cf/scores"][:]),
          "score on the training lines recommends exactly the stored item_cf lists")
# New customers for the als model: the first half of every customer's lines.
half = frame.groupby("CustomerID", group_keys=False).apply(lambda rows: rows.iloc[: max(1, len(rows) // 2)])
half_csv = test.path("half.csv")
half.to_csv(half_csv, index=False)
scored = test.path("scored-als.h5")
test.run(3, "score", "--model", als_model, "--out", scored, sets=[f"input.path={half_csv}", "ingest.store=", "ingest.missing_customer=drop"])
with open_model(scored) as g:
    customers = g["assignments/customer"][:]
    counts_scored = g["recommend/als/counts"][:].astype(np.int64)
    items_scored, scores_scored = g["recommend/als/items"][:], g["recommend/als/scores"][:]
half_purchases = half[(half["Quantity"] > 0) & ~half["InvoiceNo"].str.startswith("C")]
with open_model(als_model) as f:
    codes = f.item_codes("recommend")
item_index = {code: i for i, code in enumerate(codes)}
alpha, ridge = settings["alpha"], settings["regularization"] * np.eye(settings["factors"])
worst, offset = 0.0, 0
for c, customer in enumerate(customers):
    bought = sorted({item_index[code] for code in half_purchases[half_purchases["CustomerID"] == customer]["StockCode"]})
    Yb = ours_Y[bought]
    x = np.linalg.solve(ours_Y.T @ ours_Y + alpha * Yb.T @ Yb + ridge, (1 + alpha) * Yb.sum(axis=0))
    for e in range(offset, offset + counts_scored[c]):
        expected = x @ ours_Y[items_scored[e]]
        worst = max(worst, abs(scores_scored[e] - expected) / max(abs(expected), 1e-12))
    offset += counts_scored[c]
check(worst <= 1e-9, f"score: als for new customers is x . y_i with x solved from the stored item factors (max relative difference {worst:.2e})")

# ---------------------------------------------------------------- identical at any rank count
segmented = [f"input.path={items_csv}", "ingest.store=", "ingest.missing_customer=drop", "kmeans.k=3", "kmeans.seed=4",
             'run.stages=["features", "kmeans", "recommend"]', "recommend.test_days=40", "fpgrowth.min_support=0.1", "fpgrowth.max_len=3",
             "fpgrowth.segment_max_len=3",
             'recommend.methods=["popularity", "segment_popularity", "rules", "item_cf", "als"]', "recommend.factors=4",
             "recommend.iterations=3", "recommend.neighbours=8"]
contents = {}
for ranks in (1, 2, 3, 4):
    path = test.path(f"ranks-{ranks}.h5")
    test.run(ranks, "run", sets=segmented + [f"output.model={path}"])
    contents[ranks] = model_contents(path, ignore=("/run",))  # provenance names each run's own output path
for ranks in (2, 3, 4):
    differing = differences(contents[1], contents[ranks])
    check(not differing, f"the model at {ranks} ranks is bit-identical to 1 rank ({len(contents[1])} entries): {differing[:5]}")
check(any(name.startswith("/recommend/evaluation/") for name in contents[1]), "the rank comparison covers /recommend/evaluation")

# ---------------------------------------------------------------- planted itemsets
planted_csv, truth = test.path("planted.csv"), test.path("truth.h5")
test.run(2, "generate", sets=[f"generate.output={planted_csv}", f"generate.truth={truth}", "generate.customers=1500", "generate.items=800",
                              "generate.line_items=250000", "generate.segments=4", "generate.planted_itemsets=8", "generate.seed=21",
                              "generate.months=12", "generate.malformed_rate=0"])
planted_model = test.path("planted.h5")
test.run(2, "run", sets=[f"input.path={planted_csv}", "ingest.store=", "ingest.missing_customer=drop", "kmeans.k=4", "kmeans.seed=3",
                         'run.stages=["features", "kmeans", "fpgrowth", "recommend"]', "fpgrowth.min_support=0.01",
                         "fpgrowth.max_len=4", "fpgrowth.segment_min_support=0.02", "fpgrowth.segment_max_len=4",
                         'recommend.methods=["popularity", "segment_popularity", "rules", "item_cf", "als"]', "recommend.refit=false",
                         f"output.model={planted_model}"])
with open_model(truth) as t, open_model(planted_model) as f:
    offsets = t["itemsets/offsets"][:]
    planted_codes = list(t["itemsets/item_codes"])
    planted = [set(planted_codes[offsets[j]:offsets[j + 1]]) for j in range(len(offsets) - 1)]
    g = f["recommend"]
    cutoff = pd.Timestamp(g.attrs["cutoff_date"])
    codes = f.item_codes("recommend")
    customers = list(g["customer"][:])
    lists = {}
    for name in list(g["methods"]):
        o, items, _ = f.recommendations(name)
        lists[name] = [{codes[i] for i in items[o[c]:o[c + 1]]} for c in range(len(customers))]
lines = pd.read_csv(planted_csv, dtype={"StockCode": str, "InvoiceNo": str}, parse_dates=["InvoiceDate"])
lines = lines[lines["CustomerID"].notna() & (lines["Quantity"] > 0) & ~lines["InvoiceNo"].str.startswith("C") & (lines["InvoiceDate"] < cutoff)]
history = lines.groupby("CustomerID")["StockCode"].agg(set)
cases, hits, beyond = 0, {name: 0 for name in lists}, {name: 0 for name in lists}
popularity_misses, chance = 0, 0.0
catalogue = len(codes)
for c, customer in enumerate(customers):
    held = history.get(float(customer), set())
    for itemset in planted:
        missing = itemset - held
        if len(missing) == 1 and len(itemset) > 1:
            item = next(iter(missing))
            cases += 1
            chance += 10 / max(catalogue - len(held), 1)
            popular = item in lists["popularity"][c]
            popularity_misses += not popular
            for name in lists:
                hits[name] += item in lists[name][c]
                beyond[name] += (not popular) and item in lists[name][c]
rates = {name: hits[name] / max(cases, 1) for name in hits}
beyond_rates = {name: beyond[name] / max(popularity_misses, 1) for name in beyond}
chance /= max(cases, 1)
print(f"planted itemsets: {cases} (customer, itemset) pairs one item short before the cutoff; share whose top-10 holds the missing "
      "item: " + ", ".join(f"{name} {rate:.3f}" for name, rate in rates.items()) + f" (chance {chance:.3f}); of the "
      f"{popularity_misses} that popularity misses: " + ", ".join(f"{name} {rate:.3f}" for name, rate in beyond_rates.items()))
check(cases > 50, f"the planted data has customers one item short of a planted itemset ({cases})")
for name in ("rules", "item_cf"):
    check(beyond_rates[name] > 2 * chance, f"{name} recommends the missing item where popularity does not, well above chance "
                                           f"({beyond_rates[name]:.3f} > 2 x {chance:.3f})")

# ---------------------------------------------------------------- Online Retail
retail = shared_data("online_retail", "online_retail.csv")
if retail is None:
    print("skip: ../shared/data/online_retail is absent: the Online Retail figures are not checked")
else:
    model_file = test.path("online_retail.h5")
    test.run(2, "recommend", sets=[f"input.path={retail}", "input.customer=CustomerID", "input.timestamp_format=iso",
                                   "ingest.missing_customer=drop", "ingest.store=", f"output.model={model_file}",
                                   "fpgrowth.min_support=0.01", "fpgrowth.min_confidence=0.5", "fpgrowth.min_lift=2.0"])
    with open_model(model_file) as f:
        g = f["recommend"]
        methods = list(g["methods"])
        evaluation = {name: {key: g[f"evaluation/{key}"][m, 0] for key in ("customers", "precision", "recall", "map", "ndcg", "coverage")}
                      for m, name in enumerate(methods)}
        print(f"Online Retail, cutoff {g.attrs['cutoff_date']}: {evaluation['popularity']['customers']} customers judged")
        for name, row in evaluation.items():
            print(f"  {name:<12} precision@10 {row['precision']:.4f} recall@10 {row['recall']:.4f} MAP@10 {row['map']:.4f} "
                  f"NDCG@10 {row['ndcg']:.4f} coverage {row['coverage']:.3f}")
    for name in ("item_cf", "als"):
        check(evaluation[name]["recall"] > evaluation["popularity"]["recall"],
              f"Online Retail: {name} beats popularity on recall@10 ({evaluation[name]['recall']:.4f} > "
              f"{evaluation['popularity']['recall']:.4f})")

test.finish()
