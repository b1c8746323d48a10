#!/usr/bin/env python3
"""Execute a notebook headless with nbclient: python notebooks/run.py NOTEBOOK OUTDIR.

The notebook runs in its own directory (so its default input paths, ../out/..., resolve as in
Jupyter) with the environment of this process (MONEYTRAIL_TOTALS_DIR, MONEYTRAIL_TRACE_DIR).
The executed copy, outputs included, is written to OUTDIR/<notebook name> even when a cell
fails. Everything the cells print goes to standard output. Exit status: 0 when every cell ran,
1 on a cell error or timeout, 2 on bad usage.
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument(
        "--timeout", type=int, default=120, help="seconds per cell (default 120)"
    )
    a = ap.parse_args()
    if not a.notebook.is_file():
        print(f"run.py: {a.notebook}: no such notebook", file=sys.stderr)
        return 2
    out = a.outdir / a.notebook.name
    if out.resolve() == a.notebook.resolve():
        # the committed notebooks carry no outputs: never execute one in place
        print("run.py: OUTDIR must not be the notebook's own folder", file=sys.stderr)
        return 2
    nb = nbformat.read(a.notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=a.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(a.notebook.resolve().parent)}},
    )
    status = 0
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as e:
        print(f"run.py: {a.notebook.name}: {e}", file=sys.stderr)
        status = 1
    a.outdir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                sys.stdout.write(o.get("text", ""))
    print(f"run.py: executed copy written to {out}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
