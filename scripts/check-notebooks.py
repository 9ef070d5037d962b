#!/usr/bin/env python3
"""Fails when an executed GoNB notebook shows an error in any cell output.

GoNB prints compilation errors, runtime panics and non-zero exit statuses as stream or
display text, and nbconvert exits 0 regardless; this script looks for those markers.
"""
import json
import re
import sys

MARKERS = [
    re.compile(r"panic: "),
    re.compile(r"exit status \d+"),
    re.compile(r"goroutine \d+ \[running\]"),
    re.compile(r"^\s*\S+\.go:\d+:\d+: ", re.M),  # compiler error lines
    re.compile(r"failed to run", re.I),
    re.compile(r"\bERROR\b"),
]


def texts(output):
    if output.get("output_type") == "error":
        yield "error: " + output.get("ename", "") + " " + output.get("evalue", "")
    t = output.get("text")
    if t:
        yield "".join(t) if isinstance(t, list) else t
    for mime, v in (output.get("data") or {}).items():
        if mime.startswith("text/"):
            yield "".join(v) if isinstance(v, list) else v


def main(paths):
    bad = 0
    for p in paths:
        nb = json.load(open(p))
        for i, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            for out in cell.get("outputs", []):
                for t in texts(out):
                    if out.get("output_type") == "error" or any(m.search(t) for m in MARKERS):
                        print(f"{p}: cell {i}: {t.strip()[:2000]}")
                        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
