#!/usr/bin/env python3
"""mknb.py OUT.ipynb CELLS.txt : cells separated by lines '#### md' or '#### go'."""
import json, sys
out, src = sys.argv[1], open(sys.argv[2]).read()
cells = []
kind, buf = None, []
def flush():
    if kind is None: return
    text = "\n".join(buf).strip("\n")
    lines = [l + "\n" for l in text.split("\n")]
    if lines: lines[-1] = lines[-1].rstrip("\n")
    if kind == "md":
        cells.append({"cell_type": "markdown", "metadata": {}, "source": lines})
    else:
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": lines})
for line in src.split("\n"):
    if line.startswith("#### "):
        flush(); kind = line[5:].strip(); buf = []
    else:
        buf.append(line)
flush()
nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Go (gonb)", "language": "go", "name": "gonb"},
      "language_info": {"codemirror_mode": "", "file_extension": ".go", "mimetype": "", "name": "go", "nbconvert_exporter": "", "pygments_lexer": "", "version": "go1.26"}},
      "nbformat": 4, "nbformat_minor": 5}
json.dump(nb, open(out, "w"), indent=1)
