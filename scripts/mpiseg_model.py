"""Reading mpiseg model files (and column stores) from Python: the one place that knows how the
C++ writers encode things that HDF5 has no type for. scripts/report.py, scripts/bench and the
command-line tests read models through it.

    import mpiseg_model
    with mpiseg_model.open_model("model.h5") as model:
        k = model["kmeans"].attrs["k"]
        for rule in model.rules():
            ...

What it does for every reader:
- text comes back as str: attributes, and string datasets as numpy arrays of str (h5py gives
  bytes or str depending on how the string type was written);
- a dataset is read whole when it is indexed (`model["kmeans/sizes"]` is a numpy array);
- the ragged lists (itemsets, rules, recommendation lists) come back as Python lists, the
  accounting and the stage costs as dicts, and every dataset and attribute of a file as one
  dict for comparing two runs (`contents`, `differences`).

Only h5py and numpy are needed (Debian: python3-h5py python3-numpy).
"""
from collections import namedtuple

import h5py
import numpy as np

# The entries of /run that differ between two runs of the same job: when and where it ran.
RUN_TIME = ("/run@started", "/run@finished", "/run@wall_seconds", "/run@rank_count", "/run/stages")

Rule = namedtuple("Rule", "antecedent consequent support confidence lift")
StageCost = namedtuple("StageCost", "seconds collective_max_seconds collective_mean_seconds bytes_sent peak_memory_bytes figures")


def text(value):
    """Text as str, whether HDF5 stored it as bytes or as str; other values as they are."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO":
        return np.array([text(v) for v in value.ravel()], dtype=object).reshape(value.shape)
    return value


class Attributes:
    """An object's attributes, read-only, text decoded."""

    def __init__(self, h5_attributes):
        self._attributes = h5_attributes

    def __getitem__(self, name):
        return text(self._attributes[name])

    def __contains__(self, name):
        return name in self._attributes

    def get(self, name, default=None):
        return self[name] if name in self else default

    def keys(self):
        return list(self._attributes.keys())

    def items(self):
        return [(name, self[name]) for name in self.keys()]


class Group:
    """A group of a model: `group["path"]` is a subgroup or a dataset's whole value."""

    def __init__(self, h5_group):
        self._group = h5_group
        self.attrs = Attributes(h5_group.attrs)

    def __getitem__(self, path):
        item = self._group[path]
        if isinstance(item, h5py.Group):
            return Group(item)
        return text(item[()])

    def __contains__(self, path):
        return path in self._group

    def keys(self):
        return list(self._group.keys())

    def __len__(self):
        return len(self._group)

    def ragged(self, offsets, values):
        """The lists stored as a values dataset cut by an offsets dataset (n + 1 offsets)."""
        cuts, flat = self[offsets].astype(np.int64), self[values]
        return [flat[cuts[i]:cuts[i + 1]] for i in range(len(cuts) - 1)]


class Model(Group):
    """An open model (or store) file; use it in a `with` statement or call close()."""

    def __init__(self, path):
        self.path = str(path)
        self._file = h5py.File(self.path, "r")
        super().__init__(self._file)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def is_model(self):
        return self.attrs.get("schema") == "mpiseg-model"

    # ------------------------------------------------------------------ /run
    def accounting(self):
        """The line accounting of /run/accounting (a model) or /accounting (a store): the totals,
        plus "reasons": {reason: count} of the rejected lines."""
        group = self["run/accounting"] if "run/accounting" in self else self["accounting"]
        totals = {name: int(value) for name, value in group.attrs.items() if np.ndim(value) == 0 and not isinstance(value, str)}
        totals["reasons"] = {reason: int(count) for reason, count in zip(group["reason"], group["count"])}
        return totals

    def stage_costs(self):
        """/run/stages as {stage: StageCost}; `figures` holds what the stage measured about its own
        work (/run/stages/figures), by name."""
        stages = self["run/stages"]
        figures = {name: {} for name in stages["name"]}
        if "figures" in stages:
            table = stages["figures"]
            for stage, name, value in zip(table["stage"], table["name"], table["value"]):
                figures[stage][name] = float(value)
        return {name: StageCost(float(stages["seconds"][i]), float(stages["collective_max_seconds"][i]),
                                float(stages["collective_mean_seconds"][i]), int(stages["bytes_sent"][i]),
                                int(stages["peak_memory_bytes"][i]), figures[name])
                for i, name in enumerate(stages["name"])}

    # ------------------------------------------------------------------ segments
    def assignments(self):
        """/assignments as {"customer", "segment", "distance"} arrays, in customer order."""
        group = self["assignments"]
        return {name: group[name] for name in ("customer", "segment", "distance") if name in group}

    # ------------------------------------------------------------------ baskets
    def item_codes(self, stage="fpgrowth"):
        """The item codes of a stage's item table (fpgrowth or recommend), by item id."""
        return list(self[f"{stage}/items/code"])

    def _fpgrowth_group(self, segment):
        return self["fpgrowth"] if segment is None else self[f"fpgrowth/segment_{segment}"]

    def itemsets(self, segment=None):
        """The frequent itemsets as [(item ids, support count)], of all baskets or one segment."""
        group = self._fpgrowth_group(segment)
        return list(zip((tuple(int(i) for i in items) for items in group.ragged("itemsets/offsets", "itemsets/items")),
                        (int(s) for s in group["itemsets/support"])))

    def rules(self, segment=None):
        """The association rules as [Rule], in stored order, of all baskets or one segment."""
        group = self._fpgrowth_group(segment)
        antecedents = group.ragged("rules/antecedent_offsets", "rules/antecedent")
        consequents = group.ragged("rules/consequent_offsets", "rules/consequent")
        rules = group["rules"]
        return [Rule(tuple(int(i) for i in a), tuple(int(i) for i in c), float(s), float(f), float(l))
                for a, c, s, f, l in zip(antecedents, consequents, rules["support"], rules["confidence"], rules["lift"])]

    # ------------------------------------------------------------------ recommendations
    def recommendations(self, method):
        """One method's stored lists: (offsets, items, scores) with offsets as int64 (customer c's
        list is items[offsets[c]:offsets[c + 1]], in /recommend/customer order)."""
        group = self[f"recommend/{method}"]
        return group["offsets"].astype(np.int64), group["items"], group["scores"]


def open_model(path):
    return Model(path)


def contents(path, ignore=()):
    """Every dataset and attribute of an HDF5 file as {"/path" or "/path@attribute": value},
    without the objects under (or attributes named by) the prefixes in `ignore`."""
    found = {}

    def ignored(name):
        return any(name == prefix or name.startswith(prefix + "/") or name.startswith(prefix + "@") for prefix in ignore)

    def add_attributes(name, item):
        for key, value in item.attrs.items():
            if not ignored(f"{name}@{key}"):
                found[f"{name}@{key}"] = value

    def visit(name, item):
        name = "/" + name
        if ignored(name):
            return
        if isinstance(item, h5py.Dataset):
            found[name] = item[()]
        add_attributes(name, item)

    with h5py.File(path, "r") as model:
        add_attributes("", model)
        model.visititems(visit)
    return found


def same_array(a, b):
    """Bit-identical arrays (NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def differences(a, b):
    """Names of the entries that differ between two contents()."""
    names = sorted(set(a) | set(b))
    return [name for name in names if name not in a or name not in b or not same_array(a[name], b[name])]
