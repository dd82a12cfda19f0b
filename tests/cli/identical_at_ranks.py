"""`mpiseg run` (the demo job on generated data) and `mpiseg fpgrowth` (retail.dat, when
../shared/data is present) write bit-identical models at every rank count given, compared with
1 rank. CTest covers 1..4 ranks (model_tools.py, fpgrowth_identical.sh); this is for wider
machines, through scripts/test_wide.sh.

    identical_at_ranks.py MPISEG MPIEXEC RANKS...
"""
import os
import shutil
import sys
import time

from cli_harness import RUN_TIME, Harness, differences, model_contents, shared_data

source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
test = Harness("identical-at-ranks")
ranks_to_check = sorted({int(r) for r in sys.argv[3:]} - {1})
if not ranks_to_check:
    sys.exit("usage: identical_at_ranks.py MPISEG MPIEXEC RANKS... (rank counts other than 1)")

demo = os.path.join(source, "jobs", "demo.toml")
generated = [f"generate.output={test.path('items.csv')}", "generate.truth=", f"input.path={test.path('items.csv')}",
             f"ingest.store={test.path('store.h5')}", "output.assignments_csv="]
test.run(max(ranks_to_check), "generate", demo, sets=generated)
cases = [("demo job", "run", [demo], generated)]
retail = shared_data("fimi", "retail.dat")
if retail:
    cases.append(("retail.dat", "fpgrowth", [], ["input.format=baskets", f"input.path={retail}", "fpgrowth.min_support=20",
                                                 "fpgrowth.min_confidence=0.3", "fpgrowth.top_rules_per_consequent=5"]))
else:
    print("SKIPPED: retail.dat part (../shared/data absent)")

for label, command, arguments, sets in cases:
    models = {}
    for ranks in [1, *ranks_to_check]:
        models[ranks] = test.path(f"{command}_{ranks}.h5")
        start = time.perf_counter()
        # One output path for every run, so that the effective settings recorded in /run agree.
        test.run(ranks, command, *arguments, sets=[*sets, f"output.model={test.path('model.h5')}"])
        shutil.move(test.path("model.h5"), models[ranks])
        print(f"{label}: {ranks} rank(s) {time.perf_counter() - start:.1f} s", flush=True)
    reference = model_contents(models[1], ignore=RUN_TIME)
    for ranks in ranks_to_check:
        differing = differences(reference, model_contents(models[ranks], ignore=RUN_TIME))
        test.check(not differing, f"{label}: model at {ranks} ranks identical to 1 rank ({len(reference)} datasets and "
                                  f"attributes{'; differ: ' + ', '.join(differing[:8]) if differing else ''})")
test.finish()
