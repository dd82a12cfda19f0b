"""The real data files (../shared/data) read into the same stores and sample rejects as the
reference parser wrote, at 2 and 3 ranks: Online Retail (CSV), retail.dat (FIMI integers) and
groceries.csv (basket names). The reference digests (cli_harness.store_digest) come from commit
706cfbb, whose stores had been compared entry by entry with those of bb1a908, before the parser
speed work of 2026-12-03; so a faster parser must still give every row, dictionary entry, count
and sample reject of the old one. Skipped when the data folder is absent.

    store_digests.py MPISEG MPIEXEC [--print]    (--print: the digests, to record new ones)
"""
import os
import sys

from cli_harness import SKIP, Harness, shared_data, store_digest

REFERENCE = {
    "online_retail": "a12a649ebd34b94df6dbc255e2b5ed931c4b9d0beb24fdd84b432f70de275e8e",
    "retail": "fead88c496a112fbd2a4ee8dab8fed081a26fbe1d0383d44d0c6af5916f16021",
    "groceries": "438cb61cece95f9f467753257bdbe7c8e50d6981eea1f04046564bffe5719b82",
}
CASES = {
    "online_retail": (("online_retail", "online_retail.csv"), []),
    "retail": (("fimi", "retail.dat"), ["input.format=baskets"]),
    "groceries": (("groceries", "groceries.csv"), ["input.format=baskets", "input.basket_items=name"]),
}

test = Harness("store-digests")
demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "jobs", "demo.toml")
printing = "--print" in sys.argv
present = {name: shared_data(*parts) for name, (parts, _) in CASES.items()}
if not any(present.values()):
    print("skip: ../shared/data is absent (set MPISEG_SHARED_DATA): no real data to compare stores on")
    sys.exit(SKIP)
for name, (_, sets) in CASES.items():
    if not present[name]:
        print(f"skip: {name}: not in the shared data folder")
        continue
    for ranks in ((2,) if printing else (2, 3)):
        store = test.path(f"{name}_{ranks}.h5")
        test.run(ranks, "ingest", demo, sets=[f"input.path={present[name]}", f"ingest.store={store}", *sets])
        digest = store_digest(store, store + ".rejects.csv")
        if printing:
            print(f"{name} {digest}")
            continue
        test.check(digest == REFERENCE[name], f"{name} at {ranks} ranks: the store and rejects are the reference parser's "
                                              f"(digest {digest[:12]}, expected {REFERENCE[name][:12]})")
test.finish()
