"""Compressed inputs (.gz, .zst) give exactly what their decompressed files give: the store
(every column, dictionary and accounting count, and for basket files the row order) and the
sample rejects (file, line number, byte offset, content), at 1 to 3 ranks, for one large file
dealt out in chunks, for several files read whole by different ranks beside plain files, for
concatenated gzip members, a gzip file without the suffix, and quoted newlines with a broken
quote. Corrupt and truncated files fail with a message that names the file.

    compressed_inputs.py MPISEG MPIEXEC
"""
import csv
import gzip
import os
import random
import shutil
import subprocess

import h5py
import numpy as np

from cli_harness import Harness, differences, model_contents

test = Harness("compressed")
source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
demo = os.path.join(source, "jobs", "demo.toml")

# What legitimately differs between stores of the same rows: when and from which paths.
PROVENANCE = ("/inputs", "@created", "@git_revision", "@rank_count", "@settings")


def gzip_file(path, target=None):
    target = target or path + ".gz"
    with open(path, "rb") as plain, gzip.open(target, "wb") as packed:
        shutil.copyfileobj(plain, packed)
    return target


def zstd_file(path):
    subprocess.run(["zstd", "-q", "-f", path, "-o", path + ".zst"], check=True)
    return path + ".zst"


def ingest(name, pattern, ranks, sets=()):
    """Ingests the files `pattern` names into store NAME.h5; returns (store contents, rejects with
    the file names cut to their stem, so that a.csv and a.csv.gz compare equal)."""
    store = test.path(f"{name}.h5")
    test.run(ranks, "ingest", demo, sets=[f"input.path={pattern}", f"ingest.store={store}", "ingest.chunk_bytes=65536", *sets])
    rejects = []
    if os.path.exists(store + ".rejects.csv"):
        with open(store + ".rejects.csv", newline="", errors="surrogateescape") as f:
            for row in csv.DictReader(f):
                row["file"] = os.path.basename(row["file"]).split(".")[0]
                rejects.append(row)
    return model_contents(store, ignore=PROVENANCE), rejects


def same_as(label, reference, candidate):
    differing = differences(reference[0], candidate[0])
    test.check(not differing, f"{label}: store identical ({len(reference[0])} entries"
                              f"{'; differ: ' + ', '.join(differing[:6]) if differing else ''})")
    first = next((i for i, (a, b) in enumerate(zip(reference[1], candidate[1])) if a != b), None)
    test.check(reference[1] == candidate[1], f"{label}: the same {len(reference[1])} sample rejects (file, line, offset, content)"
                                             f"{'' if first is None else f'; first difference: {reference[1][first]} vs {candidate[1][first]}'}")


# Line items: a generated file with malformed lines, as one file and as three.
items = test.path("items.csv")
test.run(1, "generate", demo, sets=[f"generate.output={items}", "generate.truth=", "generate.line_items=60000",
                                   "generate.customers=800", "generate.malformed_rate=0.003"])
with open(items, "rb") as f:
    header, *lines = f.read().split(b"\n")
parts = []
os.makedirs(test.path("plain"))
os.makedirs(test.path("mixed"))
for p in range(3):
    part = test.path(f"plain/part{p}.csv")
    with open(part, "wb") as f:
        f.write(b"\n".join([header, *lines[p::3]]))
    parts.append(part)

reference = ingest("plain", items, 1)
test.check(len(reference[1]) > 0, "the generated file has rejected lines to compare")
os.makedirs(test.path("members"))
os.makedirs(test.path("no_suffix"))
members = test.path("members/items.csv.gz")  # three gzip members back to back, as pigz or cat a.gz b.gz write
with open(members, "wb") as out:
    for p in range(3):
        chunk = b"\n".join(([header] if p == 0 else []) + lines[p * len(lines) // 3:(p + 1) * len(lines) // 3]) + (b"\n" if p < 2 else b"")
        out.write(gzip.compress(chunk))
no_suffix = gzip_file(items, test.path("no_suffix/items"))
for label, path in [("gzip", gzip_file(items)), ("zstd", zstd_file(items)), ("gzip members", members),
                    ("gzip without .gz", no_suffix)]:
    for ranks in (1, 3):
        same_as(f"{label} at {ranks} rank(s)", reference, ingest(f"{label}_{ranks}".replace(" ", "_"), path, ranks))

reference_parts = ingest("parts", test.path("plain/part*"), 1)
gzip_file(parts[0], test.path("mixed/part0.csv.gz"))
shutil.copy(parts[1], test.path("mixed/part1.csv"))
shutil.move(zstd_file(parts[2]), test.path("mixed/part2.csv.zst"))
for ranks in (1, 2, 3):
    same_as(f"gzip + plain + zstd files at {ranks} rank(s)", reference_parts, ingest(f"mixed_{ranks}", test.path("mixed/part*"), ranks))

# Quoted newlines, with a quote that never closes: record boundaries as in the plain file.
quoted = test.path("quoted.csv")
with open(quoted, "w") as f:
    f.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
    for i in range(3000):
        description = f'"TWO\nLINES {i}"' if i % 7 == 0 else ('"BROKEN QUOTE' if i == 1500 else f"ITEM {i}")
        f.write(f"{500000 + i // 3},{20000 + i % 50},{description},{1 + i % 4},2011-0{1 + i % 9}-1{i % 10} 10:00,1.25,{12000 + i % 97},UK\n")
quoted_sets = ["input.quoted_newlines=true", "ingest.max_reject_fraction=1"]
reference_quoted = ingest("quoted", quoted, 1, quoted_sets)
for ranks in (1, 3):
    same_as(f"quoted newlines, gzip, at {ranks} rank(s)", reference_quoted,
            ingest(f"quoted_{ranks}", gzip_file(quoted), ranks, quoted_sets))

# Basket files: rows stay in file order, so the store's row order is compared too.
random.seed(7)
baskets = test.path("baskets.dat")
with open(baskets, "w") as f:
    for b in range(20000):
        f.write(" ".join(str(random.randint(1, 400)) for _ in range(random.randint(1, 12))) + ("\n" if b != 900 else " 12x\n"))
basket_sets = ["input.format=baskets"]
reference_baskets = ingest("baskets", baskets, 1, basket_sets)
for ranks in (1, 2, 3):
    same_as(f"basket file, zstd, at {ranks} rank(s)", reference_baskets,
            ingest(f"baskets_zst_{ranks}", zstd_file(baskets), ranks, basket_sets))

# A basket file's store holds its baskets and items only (schema version 2). A version-1 store
# also held constant customer, time, quantity, price and flags columns: it still reads, into the
# same itemsets.
basket_store = test.path("baskets.h5")
with h5py.File(basket_store, "r") as f:
    test.check(sorted(f["lineitems"]) == ["basket", "item"] and f.attrs["schema_version"] == 2,
               f"a basket store holds basket and item only, version 2 (has {sorted(f['lineitems'])})")
    occurrences = f["lineitems/item"].shape[0]
old_store = test.path("baskets_v1.h5")
shutil.copy(basket_store, old_store)
with h5py.File(old_store, "r+") as f:
    f.attrs["schema_version"] = 1
    for name, dtype, value in (("customer", "u8", 2**64 - 1), ("time", "u4", 0), ("quantity", "i4", 1), ("price", "f8", 0.0),
                               ("flags", "u1", 0)):
        f["lineitems"].create_dataset(name, data=np.full(occurrences, value, dtype=dtype))
itemsets = {}
for label, store in (("version 2", basket_store), ("version 1", old_store)):
    model = test.path(f"itemsets_{label[-1]}.h5")
    test.run(2, "fpgrowth", demo, sets=["input.format=store", f"input.path={store}", f"output.model={model}",
                                         "fpgrowth.min_support=0.002"])
    itemsets[label] = model_contents(model, ignore=("/run", "/provenance"))
differing = differences(itemsets["version 2"], itemsets["version 1"])
test.check(not differing and any(name.startswith("/fpgrowth") for name in itemsets["version 1"]),
           f"a version-1 basket store gives the same itemsets model{'; differ: ' + ', '.join(differing[:6]) if differing else ''}")

# A file that decompresses to nothing reads as an empty plain file: no line, no error.
os.makedirs(test.path("empty"))
open(test.path("empty/items.csv"), "wb").close()
with open(test.path("empty/items.csv.gz"), "wb") as f:
    f.write(gzip.compress(b""))
same_as("empty gzip file at 2 ranks", ingest("empty_plain", test.path("empty/items.csv"), 1),
        ingest("empty_gzip", test.path("empty/items.csv.gz"), 2))

# Damaged files: a clear error naming the file, never a partial store.
packed = gzip_file(items)
with open(packed, "rb") as f:
    data = f.read()
damaged = {"truncated.csv.gz": data[: len(data) // 2],
           "corrupt.csv.gz": data[:2000] + bytes(b ^ 0x5A for b in data[2000:2400]) + data[2400:]}
with open(zstd_file(items), "rb") as f:
    damaged["truncated.csv.zst"] = f.read()[:-100]
for name, content in damaged.items():
    path = test.path(name)
    with open(path, "wb") as f:
        f.write(content)
    store = test.path(f"damaged_{name}.h5")
    result = test.run(2, "ingest", demo, sets=[f"input.path={path}", f"ingest.store={store}"], check=False)
    message = result.stdout + result.stderr
    test.check(result.returncode != 0 and name in message and ("truncated" in message or "corrupt" in message)
               and not os.path.exists(store),
               f"{name}: fails with a message naming the file ({next((l for l in message.splitlines() if 'error' in l), 'no message')[:200]})")
# A compressed matrix (kmeans input) is refused by name, not parsed as text.
matrix = test.path("matrix.csv.gz")
with open(matrix, "wb") as f:
    f.write(gzip.compress(b"1,2\n3,4\n5,6\n"))
result = test.run(1, "kmeans", sets=["input.format=matrix", f"input.path={matrix}", "kmeans.k=2", f"output.model={test.path('m.h5')}"],
                  check=False)
test.check(result.returncode != 0 and "gzip-compressed matrix is not read" in result.stdout + result.stderr,
           f"a gzip-compressed matrix is refused with a message (exit {result.returncode})")
test.finish()
