"""How well a model recovers the generator's planted truth: the adjusted Rand index of the
segments against the planted ones, and how many planted itemsets were found (over all baskets,
or in the segment that most of the planted segment's customers landed in).

    /usr/bin/python3 scripts/bench/check_planted.py MODEL.h5 TRUTH.h5
"""
import os, sys
from collections import Counter
from sklearn.metrics import adjusted_rand_score
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import mpiseg_model
m, t = mpiseg_model.open_model(sys.argv[1]), mpiseg_model.open_model(sys.argv[2])
found = dict(zip(m["assignments/customer"][:], m["assignments/segment"][:]))
pairs = [(int(s), int(found[k])) for k, s in zip(t["customers/customer"][:], t["customers/segment"][:]) if k in found]
ari = adjusted_rand_score([p for p, _ in pairs], [f for _, f in pairs])
majority = {}
for planted, counts in ((p, Counter(f for q, f in pairs if q == p)) for p in set(p for p, _ in pairs)):
    majority[planted] = counts.most_common(1)[0][0]
codes = m.item_codes()
def itemsets(segment=None):
    return {frozenset(codes[i] for i in items) for items, _ in m.itemsets(segment)}
overall = itemsets()
per_segment = {s: itemsets(s) for s in range(int(m["fpgrowth"].attrs["segments"]))}
off, item_codes, home = t["itemsets/offsets"], list(t["itemsets/item_codes"]), t["itemsets/home_segment"]
hits = 0
for j in range(len(home)):
    planted = frozenset(item_codes[off[j]:off[j + 1]])
    segment = majority.get(int(home[j]))
    ok = planted in overall or (segment is not None and planted in per_segment.get(segment, set()))
    hits += ok
print(f"ARI {ari:.4f} over {len(pairs)} customers; planted itemsets found {hits}/{len(home)}")
