"""Dump every glued value of the book, and compare two dumps.

A refactor of ``lessons_src`` must not change a number the book shows. Take a dump before the
change and one after, then compare them:

    python book/_ext/glue_values.py dump before.json              # from the last build's _build
    python book/_ext/glue_values.py dump after.json --execute book/ch06_nesterov.ipynb
    python book/_ext/glue_values.py compare before.json after.json

``dump`` reads the values that the last ``jupyter-book build`` stored next to its executed
notebooks (``_build/jupyter_execute/**/*.glue.json``); with ``--execute`` it runs the given
notebooks afresh instead (as the build does, sliders in their static mode), which is quicker when
one chapter changed. A dump maps each page to ``{glue name: the value's text}``; the text is the
full-precision ``repr`` of the value, so ``compare`` finds a change in the last digit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "_build" / "jupyter_execute"


def _text(output: dict) -> str:
    data = output.get("data", {})
    return data.get("text/plain", data.get("application/papermill.record/text/plain", ""))


def from_build(executed: Path = EXECUTED) -> dict[str, dict[str, str]]:
    """Glued values of every page the last build executed, by page (path without suffix)."""
    dump: dict[str, dict[str, str]] = {}
    for path in sorted(executed.rglob("*.glue.json")):
        page = path.relative_to(executed).as_posix().removesuffix(".glue.json")
        dump[page] = {name: _text(out) for name, out in json.loads(path.read_text()).items()}
    if not dump:
        raise SystemExit(f"no glued values under {executed}: build the book first (make book)")
    return dump


def from_execution(notebooks: list[Path]) -> dict[str, dict[str, str]]:
    """Execute ``notebooks`` in fresh kernels, as the build does, and collect their glued values."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["DESCENT_SLIDERS"] = "static"
    dump: dict[str, dict[str, str]] = {}
    from nbclient.exceptions import CellExecutionError

    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        try:
            NotebookClient(notebook, timeout=300,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as error:
            raise SystemExit(f"{path} failed:\n{str(error)[-3000:]}") from None
        values = {}
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                if name is not None:
                    values[name] = _text(output)
        dump[path.resolve().relative_to(ROOT).with_suffix("").as_posix()] = values
    return dump


def compare(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """Every difference between two dumps, one line each (empty when they agree)."""
    lines = []
    for page in sorted(set(before) | set(after)):
        if page not in after:
            lines.append(f"{page}: missing after")
            continue
        if page not in before:
            lines.append(f"{page}: new page")
            continue
        old, new = before[page], after[page]
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                lines.append(f"{page} {name}: {old.get(name, '(absent)')} -> {new.get(name, '(absent)')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="write the glued values to a JSON file")
    dump.add_argument("output", type=Path)
    dump.add_argument("--execute", nargs="+", type=Path, metavar="NOTEBOOK",
                      help="execute these notebooks instead of reading the last build")
    check = commands.add_parser("compare", help="list the differences between two dumps")
    check.add_argument("before", type=Path)
    check.add_argument("after", type=Path)
    args = parser.parse_args(argv)

    if args.command == "dump":
        values = from_execution(args.execute) if args.execute else from_build()
        args.output.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
        print(f"{sum(map(len, values.values()))} values from {len(values)} pages -> {args.output}")
        return 0
    before, after = (json.loads(p.read_text()) for p in (args.before, args.after))
    if args.command == "compare" and set(after) < set(before):  # a partial dump: its pages only
        before = {page: before[page] for page in after}
    differences = compare(before, after)
    for line in differences:
        print(line)
    total = sum(map(len, after.values()))
    print(f"{len(differences)} differences in {total} values" if differences
          else f"identical: {total} values on {len(after)} pages")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
