"""The student's side of the grader: runs inside the sandbox, in the student's own process.

    python in_sandbox.py REQUEST_FD REPLY_FD NOTEBOOK SKIP_JSON

It runs the notebook's code cells in order in one IPython shell (skipping the cells listed in
SKIP_JSON, which an earlier attempt found to hang or to end the process), reporting the start
and end of each cell, then answers the grader's requests until the pipe closes:

- ``{"op": "lookup", "name": n}``: is ``n`` defined, and is it callable? A value that is not
  callable is sent back as plain data (``wire.encode``).
- ``{"op": "call", "name": n, "args": <dill, base64>}``: call ``n(*args, **kwargs)`` and send
  back its result as plain data, or the exception's type name and message.

Nothing here is trusted: the student's code runs in this process and may replace any of it. The
grader relies only on what it can check from outside: the pipe carries plain data, and the
process cannot reach anything but its own sandbox.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import traceback
from typing import Any

import wire

# the public checks and the export cell: the grader runs the checks itself, and needs no zip
GRADER_CELL = re.compile(r'^\s*grader\.(check\(\s*"[^"]+"\s*\)|export\([\w=, ]*\))\s*$')


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 300 else text[:297] + "..."


def _reply(fd: int, message: dict[str, Any]) -> None:
    try:
        wire.write_frame(fd, message)
    except wire.UnsendableError as error:
        wire.write_frame(fd, {"kind": "unsendable", "what": str(error)})


def _value(value: Any) -> dict[str, Any]:
    try:
        return {"kind": "value", "value": wire.encode(value)}
    except wire.UnsendableError as error:
        return {"kind": "unsendable", "what": str(error)}
    except RecursionError:
        return {"kind": "unsendable", "what": "a value nested too deeply"}


def run_cells(shell: Any, cells: list[Any], skip: set[int], report: int) -> None:
    """Run every code cell not in ``skip``, reporting each one's start and end."""
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or index in skip:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if GRADER_CELL.match(source):
            continue
        wire.write_frame(report, {"event": "start", "cell": index})
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        wire.write_frame(
            report, {"event": "end", "cell": index, "error": _describe(error) if error is not None else None}
        )


def serve(namespace: dict[str, Any], requests: int, replies: int) -> None:
    """Answer the grader's lookups and calls until it closes the pipe."""
    import dill

    reader = wire.FrameReader(requests)
    while True:
        try:
            request = reader.read()
        except EOFError:
            return
        name = request.get("name")
        if request.get("op") == "lookup":
            if name not in namespace:
                _reply(replies, {"kind": "missing"})
            elif callable(namespace[name]):
                _reply(replies, {"kind": "callable"})
            else:
                _reply(replies, _value(namespace[name]))
            continue
        try:
            args, kwargs = dill.loads(base64.b64decode(request["args"]))
            result = namespace[name](*args, **kwargs)
        except BaseException as error:  # the student's exception is the answer
            _reply(
                replies,
                {
                    "kind": "error",
                    "type": type(error).__name__,
                    "message": str(error)[:1000],
                    "where": traceback.format_exc(limit=-3)[-2000:],
                },
            )
            continue
        _reply(replies, _value(result))


def main() -> None:
    requests, replies = int(sys.argv[1]), int(sys.argv[2])
    skip = set(json.loads(sys.argv[4]))
    with open(sys.argv[3], encoding="utf-8") as f:
        cells = json.load(f).get("cells", [])
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    run_cells(shell, cells if isinstance(cells, list) else [], skip, replies)
    wire.write_frame(replies, {"event": "ready"})
    serve(shell.user_ns, requests, replies)


if __name__ == "__main__":
    main()
