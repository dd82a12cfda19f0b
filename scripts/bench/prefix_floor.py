#!/usr/bin/env python3
"""How many prefix items and prefixes per basket FP-growth's exchange needs at each rank count,
before any coding: the floor the wire format can approach. For the contiguous F-list ranges
mpiseg uses (balanced by the same work estimate) and for a greedy grouping of items by
co-occurrence (each item, heaviest first, joins the group it is bought with most, within 10% of
the average work), as PFP's G-list suggests; and for the contiguous ranges with the prefix
filter ([fpgrowth] prefix_filter: a prefix keeps the owner's items and the items that form a
frequent pair with one of them). The README's exchange-volume section quotes it.

    prefix_floor.py FILE [--support 0.002] [--ranks 4 16 64]

FILE is a FIMI basket file (one basket per line, items separated by spaces) or a line-item CSV
with the Online Retail columns (InvoiceNo, StockCode, Quantity; cancellations and returns left
out, as mpiseg's baskets do).
"""
import argparse
import collections
import csv
import math

import numpy as np


def read_baskets(path):
    with open(path, newline="") as f:
        first = f.readline()
        if not first.startswith("InvoiceNo"):
            f.seek(0)
            return [set(line.split()) for line in f if line.strip()]
        baskets = collections.OrderedDict()
        for row in csv.DictReader(f, fieldnames=first.strip().split(",")):
            invoice, code = row["InvoiceNo"], row["StockCode"]
            try:
                purchase = int(row["Quantity"]) > 0
            except (TypeError, ValueError):
                continue
            if code and purchase and not invoice.startswith("C"):
                baskets.setdefault(invoice, set()).add(code)
        return list(baskets.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--support", type=float, default=0.002)
    parser.add_argument("--ranks", type=int, nargs="+", default=[4, 16, 64])
    options = parser.parse_args()

    baskets = read_baskets(options.file)
    min_count = math.ceil(options.support * len(baskets))
    counts = collections.Counter(item for basket in baskets for item in basket)
    flist = sorted((item for item, c in counts.items() if c >= min_count), key=lambda item: (-counts[item], item))
    position = {item: p for p, item in enumerate(flist)}
    f = len(flist)
    transactions = [sorted(position[i] for i in basket if i in position) for basket in baskets]
    transactions = [t for t in transactions if t]
    work = np.zeros(f)
    together = np.zeros((f, f))
    for t in transactions:
        for depth, p in enumerate(t):
            work[p] += depth + 1
        together[np.ix_(t, t)] += 1
    np.fill_diagonal(together, 0)
    print(f"{options.file}: {len(transactions)} baskets with a frequent item, {f} frequent items "
          f"(min count {min_count}), {np.mean([len(t) for t in transactions]):.1f} frequent items per basket")

    def contiguous(ranks):
        total, owner, cumulative, p = work.sum(), np.zeros(f, dtype=int), 0.0, 0
        begin = [0]
        for r in range(1, ranks):
            while p < f and cumulative + work[p] / 2 < total * r / ranks:
                cumulative += work[p]
                p += 1
            begin.append(p)
        begin.append(f)
        for r in range(ranks):
            owner[begin[r]:begin[r + 1]] = r
        return owner

    def by_cooccurrence(ranks):
        owner, load, affinity = np.zeros(f, dtype=int), np.zeros(ranks), np.zeros((ranks, f))
        capacity = work.sum() / ranks * 1.1
        for p in np.argsort(-work, kind="stable"):
            fits = load + work[p] <= capacity
            if not fits.any():
                group = int(np.argmin(load))
            else:
                score = np.where(fits, affinity[:, p], -np.inf)
                group = int(np.argmax(score)) if score.max() > 0 else int(np.flatnonzero(fits)[np.argmin(load[fits])])
            owner[p] = group
            load[group] += work[p]
            affinity[group] += together[p]
        return owner

    frequent_pair = together >= min_count

    def needed(owner):
        items = prefixes = 0
        for t in transactions:
            last = {}
            for index, p in enumerate(t):
                last[owner[p]] = index
            items += sum(index + 1 for index in last.values())
            prefixes += len(last)
        return items / len(transactions), prefixes / len(transactions)

    def needed_filtered(owner):
        items = 0
        for t in transactions:
            last = {}
            for index, p in enumerate(t):
                last[owner[p]] = index
            for group, end in last.items():
                mine = [q for q in t[:end + 1] if owner[q] == group]
                items += sum(1 for a in t[:end + 1] if owner[a] == group or frequent_pair[a, mine].any())
        return items / len(transactions)

    for ranks in options.ranks:
        (ci, cp), (gi, gp) = needed(contiguous(ranks)), needed(by_cooccurrence(ranks))
        fi = needed_filtered(contiguous(ranks))
        print(f"{ranks:4d} ranks: contiguous ranges {ci:6.1f} items in {cp:5.2f} prefixes per basket "
              f"({fi:6.1f} items with the pair filter); co-occurrence groups {gi:6.1f} items in {gp:5.2f} prefixes")


if __name__ == "__main__":
    main()
