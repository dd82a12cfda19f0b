"""What the Python command-line tests share: running mpiseg under mpiexec, recording checks,
the shared data folder, and comparing model files dataset by dataset.

Every test script is called as `SCRIPT.py MPISEG MPIEXEC` by CTest (tests/CMakeLists.txt).
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

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


def same_array(a, b):
    """Bit-identical arrays (NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


# Run-time provenance: the only model entries allowed to differ between runs of the same job.
RUN_TIME = ("/run@started", "/run@finished", "/run@wall_seconds", "/run@rank_count", "/run/stages")


def model_contents(path, ignore=()):
    """Every dataset and attribute of an HDF5 file as {"/path" or "/path@attribute": value},
    without the objects under (or attributes named by) the prefixes in `ignore`."""
    contents = {}

    def ignored(name):
        return any(name == prefix or name.startswith(prefix + "/") or name.startswith(prefix + "@") for prefix in ignore)

    def add_attributes(name, item):
        for key, value in item.attrs.items():
            if not ignored(f"{name}@{key}"):
                contents[f"{name}@{key}"] = value

    def visit(name, item):
        name = "/" + name
        if ignored(name):
            return
        if isinstance(item, h5py.Dataset):
            contents[name] = item[()]
        add_attributes(name, item)

    with h5py.File(path, "r") as model:
        add_attributes("", model)
        model.visititems(visit)
    return contents


def differences(a, b):
    """Names of the entries that differ between two model_contents()."""
    names = sorted(set(a) | set(b))
    return [name for name in names if name not in a or name not in b or not same_array(a[name], b[name])]
