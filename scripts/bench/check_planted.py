"""How well a model recovers the generator's planted truth: the adjusted Rand index of the
segments against the planted ones, and how many planted itemsets were found (over all baskets,
or in the segment that most of the planted segment's customers landed in).

    /usr/bin/python3 scripts/bench/check_planted.py MODEL.h5 TRUTH.h5
"""
import sys, h5py, numpy as np
from collections import Counter
from sklearn.metrics import adjusted_rand_score
m = h5py.File(sys.argv[1], "r"); t = h5py.File(sys.argv[2], "r")
found = dict(zip(m["assignments/customer"][:], m["assignments/segment"][:]))
pairs = [(int(s), int(found[k])) for k, s in zip(t["customers/customer"][:], t["customers/segment"][:]) if k in found]
ari = adjusted_rand_score([p for p, _ in pairs], [f for _, f in pairs])
majority = {}
for planted, counts in ((p, Counter(f for q, f in pairs if q == p)) for p in set(p for p, _ in pairs)):
    majority[planted] = counts.most_common(1)[0][0]
codes = [c.decode() for c in m["fpgrowth/items/code"][:]]
def itemsets(group):
    off, items = group["itemsets/offsets"][:], group["itemsets/items"][:]
    return {frozenset(codes[i] for i in items[off[j]:off[j + 1]]) for j in range(len(off) - 1)}
overall = itemsets(m["fpgrowth"])
per_segment = {s: itemsets(m[f"fpgrowth/segment_{s}"]) for s in range(int(m["fpgrowth"].attrs["segments"]))}
off, item_codes, home = t["itemsets/offsets"][:], [c.decode() for c in t["itemsets/item_codes"][:]], t["itemsets/home_segment"][:]
hits = 0
for j in range(len(home)):
    planted = frozenset(item_codes[off[j]:off[j + 1]])
    segment = majority.get(int(home[j]))
    ok = planted in overall or (segment is not None and planted in per_segment.get(segment, set()))
    hits += ok
print(f"ARI {ari:.4f} over {len(pairs)} customers; planted itemsets found {hits}/{len(home)}")
