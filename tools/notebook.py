"""Keep the book's lab notebooks clean: no outputs, stable cell ids.

    python tools/notebook.py from-py lab.py -o docs/labs/lab.ipynb   # jupytext percent script -> .ipynb
    python tools/notebook.py normalize docs/labs/*.ipynb              # strip outputs, renumber ids
    python tools/notebook.py check docs/labs/*.ipynb                  # exit 1 if any is not normalized

The ``.ipynb`` files in ``docs/labs`` are the source of truth. They are stored
without outputs (the build executes them) and with cell ids ``c01``, ``c02``, ...
by position, so the same notebook always serializes to the same bytes and the
English and Chinese versions of a lab have matching ids.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` without outputs or execution counts, with ids ``c01, c02, ...``."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells, start=1):
        cell.id = f"c{i:02d}"
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("from-py")
    a.add_argument("script", type=Path)
    a.add_argument("-o", "--output", type=Path, required=True)
    for name in ("normalize", "check"):
        b = sub.add_parser(name)
        b.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args(argv)

    if args.cmd == "from-py":
        import jupytext

        nb = normalize(jupytext.read(args.script, fmt="py:percent"))
        args.output.write_text(dumps(nb), encoding="utf-8")
        return 0
    bad = 0
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        clean = dumps(normalize(nbformat.reads(text, as_version=4)))
        if args.cmd == "normalize":
            path.write_text(clean, encoding="utf-8")
        elif text != clean:
            print(f"{path}: not normalized (run tools/notebook.py normalize)", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
