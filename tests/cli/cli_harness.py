"""What the Python command-line tests share: running mpiseg under mpiexec, recording checks,
the shared data folder, and comparing model files dataset by dataset.

Every test script is called as `SCRIPT.py MPISEG MPIEXEC` by CTest (tests/CMakeLists.txt).
"""
import atexit
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mpiseg_model  # noqa: E402

SKIP = 77  # CTest SKIP_RETURN_CODE


class Harness:
    def __init__(self, name):
        if len(sys.argv) < 3:
            sys.exit(f"usage: {sys.argv[0]} MPISEG MPIEXEC")
        self.mpiseg, self.mpiexec = sys.argv[1], sys.argv[2]
        self.work = tempfile.mkdtemp(prefix=f"mpiseg-{name}-")
        self.failures = []
        atexit.register(shutil.rmtree, self.work, True)

    def path(self, name):
        return os.path.join(self.work, name)

    def check(self, condition, message):
        print(("ok:   " if condition else "FAIL: ") + message, flush=True)
        if not condition:
            self.failures.append(message)
        return condition

    def command(self, ranks, command, *arguments, sets=()):
        """The argument vector of `mpiexec -n RANKS mpiseg COMMAND ARGUMENTS --set ...`; ranks None:
        mpiseg started directly (one rank, as a user runs the model tools)."""
        launcher = [] if ranks is None else [self.mpiexec, "-n", str(ranks), "--oversubscribe"]
        line = launcher + [self.mpiseg, command, *arguments, "--log-level", "warn"]
        for setting in sets:
            line += ["--set", setting]
        return line

    def run(self, ranks, command, *arguments, sets=(), environment=None, check=True):
        """Runs mpiseg; returns the completed process (stdout and stderr captured as text)."""
        result = subprocess.run(self.command(ranks, command, *arguments, sets=sets), capture_output=True, text=True,
                                env=environment)
        if check and result.returncode != 0:
            sys.stdout.write(result.stdout + result.stderr)
            raise SystemExit(f"FAIL: mpiseg {command} exited with {result.returncode}")
        return result

    def finish(self):
        print(f"{len(self.failures)} failure(s)" if self.failures else "OK")
        sys.exit(1 if self.failures else 0)


def shared_data(*parts):
    """A file under ../shared/data (MPISEG_SHARED_DATA), or None when the folder is absent."""
    root = os.environ.get("MPISEG_SHARED_DATA", "")
    path = os.path.join(root, *parts)
    return path if root and os.path.exists(path) else None


# Models are read through the project's one Python model reader (scripts/mpiseg_model.py).
model_contents, differences, open_model, same_array = (mpiseg_model.contents, mpiseg_model.differences, mpiseg_model.open_model,
                                                       mpiseg_model.same_array)
RUN_TIME = mpiseg_model.RUN_TIME


# What a store holds that depends on the input alone: the rows, the dictionaries, the customer
# names and the accounting. Provenance (/inputs, when and by what it was written, the settings and
# the schema version) is left out, and so are the constant columns version-1 stores wrote for
# basket files (a basket file's rows are its basket and item columns).
STORE_CONTENT = ("/lineitems", "/items", "/countries", "/customers", "/accounting")


def store_digest(store, rejects=None):
    """SHA-256 of a store's content (STORE_CONTENT: every dataset's name, type, shape and bytes,
    every attribute's name and value, in name order) and of its rejects file (with each file named
    by its base name), so that a parser change can be checked against the stores of the code before
    it: the same digest means the same rows, dictionaries, accounting and sample rejects."""
    found = mpiseg_model.contents(store)
    baskets_only = mpiseg_model.text(found.get("@source_format", "")) == "baskets"
    kept = ("/lineitems/basket", "/lineitems/item")
    entries = {name: value for name, value in found.items() if name.startswith(STORE_CONTENT)
               and not (baskets_only and name.startswith("/lineitems/") and not name.startswith(kept))}
    digest = hashlib.sha256()
    for name in sorted(entries):
        value = np.asarray(entries[name])
        digest.update(name.encode())
        if value.dtype.kind == "O":
            flat = [v if isinstance(v, bytes) else str(v).encode() for v in value.ravel()]
            digest.update(repr(value.shape).encode() + b"".join(len(v).to_bytes(4, "little") + v for v in flat))
        else:
            digest.update(value.dtype.str.encode() + repr(value.shape).encode() + np.ascontiguousarray(value).tobytes())
    if rejects is not None and os.path.exists(rejects):
        with open(rejects, newline="", errors="surrogateescape") as f:
            for row in csv.reader(f):
                if len(row) > 1:
                    row[1] = os.path.basename(row[1])
                digest.update(repr(row).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
