"""How long grading a class takes, and how much memory the grader holds (printed, never asserted).

    sudo .venv/bin/python tests/benchmarks/grading_benchmark.py [CHAPTER] [COUNT]

Builds COUNT (default 30) submissions of one assignment (default ch05) from its student notebook:
two in three with the reference answers, the rest with one or both questions left unanswered.
Then it runs `make grade`'s command on the folder with the default limits and prints the wall
time, the time per submission, and the peak memory: of the whole process tree (the grader, its
per-submission processes and their sandboxes, sampled every 50 ms from /proc), and of its largest
single process.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def tree_rss(root: int) -> int:
    """Bytes of resident memory of ``root`` and all its descendants."""
    parents, rss = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024 if "VmRSS" in fields else 0
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def build(chapter: str, count: int, assignments: Path, folder: Path) -> None:
    import nbformat

    solution = nbformat.read(assignments / "autograder" / chapter / f"{chapter}.ipynb", as_version=4)
    answers = [c.source for c in solution.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    folder.mkdir(parents=True)
    for i in range(count):
        nb = nbformat.read(assignments / "student" / f"{chapter}.ipynb", as_version=4)
        cells = [
            c for c in nb.cells if c.cell_type == "code" and "otter_answer_cell" in c.metadata.get("tags", [])
        ]
        for j, (cell, answer) in enumerate(zip(cells, answers, strict=True)):
            if i % 3 != 2 or (i % 2 == 0 and j == 0):
                cell.source = answer
        nbformat.write(nb, folder / f"student{i:02d}.ipynb")


def main() -> None:
    chapter = sys.argv[1] if len(sys.argv) > 1 else "ch05"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        tmp = Path(tmp)
        assignments = tmp / "assignments"
        subprocess.run(
            [
                str(PYTHON),
                str(ROOT / "book/_assignments/autograde.py"),
                "assign",
                chapter,
                "--out",
                str(assignments),
            ],
            check=True,
            capture_output=True,
        )
        build(chapter, count, assignments, tmp / "class")
        peak = [0]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                str(PYTHON),
                str(ROOT / "book/_assignments/autograde.py"),
                "grade",
                str(tmp / "class"),
                "--assignments",
                str(assignments),
                "--out",
                str(tmp / "grades.csv"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output, _ = proc.communicate()
        done.set()
        sampler.join()
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"grading failed:\n{output}")
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        import csv
        from collections import Counter

        with (tmp / "grades.csv").open(newline="") as f:
            totals = Counter(row["total"] for row in csv.DictReader(f))
    print(
        f"graded {count} submissions of {chapter} on {os.cpu_count()} cores (2 at a time, one sandbox each)"
    )
    print(f"  wall time: {seconds:.1f} s ({seconds / count:.2f} s per submission)")
    print(f"  peak memory of the grader's process tree: {peak[0] / 2**20:.0f} MiB")
    print(f"  largest single process: {largest / 2**20:.0f} MiB")
    print(f"  totals (score: submissions): {dict(sorted(totals.items()))}")


if __name__ == "__main__":
    main()
