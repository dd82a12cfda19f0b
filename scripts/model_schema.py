"""The model-file schema as Markdown, read from a real model file with h5py (no mpiseg code):
every group, dataset (type, rank) and attribute, with the units/meaning the file itself carries.
The README's "Model file schema" section is this script's output for a full model; a test
regenerates it and fails when the README is out of date.

    /usr/bin/python3 scripts/model_schema.py build/demo/model.h5            # print
    /usr/bin/python3 scripts/model_schema.py build/demo/model.h5 --readme README.md   # rewrite the section
"""
import re
import sys

import h5py

BEGIN, END = "<!-- BEGIN MODEL SCHEMA -->\n", "<!-- END MODEL SCHEMA -->"


def kind(dataset):
    dtype = dataset.dtype
    if dtype.kind == "S":
        text = "string"
    else:
        text = {"u": "uint", "i": "int", "f": "float"}.get(dtype.kind, dtype.kind) + str(8 * dtype.itemsize)
    return f"{text}, {dataset.ndim}-D" if dataset.ndim != 1 else text


def text_of(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def describe(path):
    rows = []
    seen = set()

    def visit(name, item):
        general = "/" + re.sub(r"segment_\d+", "segment_N", name)
        if general in seen:
            return
        seen.add(general)
        attributes = sorted(item.attrs.keys())
        if isinstance(item, h5py.Group):
            documented = [a for a in attributes if a in ("meaning", "formula", "order", "definitions", "description", "segment_order")]
            note = "; ".join(text_of(item.attrs[a]) for a in documented)
            shown = ", ".join(a for a in attributes if a not in documented)
            rows.append(f"| `{general}/` | group | {shown} | {note} |")
        else:
            note = "; ".join(f"{a}: {text_of(item.attrs[a])}" for a in attributes)
            rows.append(f"| `{general}` | {kind(item)} |  | {note} |")

    with h5py.File(path, "r") as model:
        root = ", ".join(sorted(model.attrs.keys()))
        rows.append(f"| `/` | group | {root} | |")
        model.visititems(visit)
    header = ["| path | type | attributes | meaning |", "|---|---|---|---|"]
    return "\n".join(header + [row.replace("\n", " ") for row in rows]) + "\n"


def main():
    table = describe(sys.argv[1])
    if len(sys.argv) == 4 and sys.argv[2] == "--readme":
        text = open(sys.argv[3], encoding="utf-8").read()
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        open(sys.argv[3], "w", encoding="utf-8").write(head + BEGIN + table + END + tail)
    else:
        sys.stdout.write(table)


if __name__ == "__main__":
    main()
