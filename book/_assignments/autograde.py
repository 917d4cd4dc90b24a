#!/usr/bin/env python3
"""The course's autograded assignments: build them and grade them with otter-grader.

Two commands (the Makefile's ``assignments`` and ``grade`` targets call them)::

    python book/_assignments/autograde.py assign [--out _build/assignments]
    python book/_assignments/autograde.py grade SUBMISSIONS [--out _build/grades.csv]

``assign`` runs ``otter assign`` on every master notebook here (``chNN.ipynb``). Otter checks
that the reference solutions pass every test, public and hidden, and writes the grader's bundle
to ``OUT/autograder/chNN/``. The student notebook ``OUT/student/chNN.ipynb`` gets a first cell
that installs what it needs when missing (Colab) and writes the *public* checks next to it, so
``grader.check("q1")`` works in Binder, Colab and locally with no other file.

``grade`` grades every file in a folder, one submission at a time in a fresh process, and writes
a CSV with one row per file. Each notebook runs with otter's grading machinery in a kernel inside
a bubblewrap sandbox: the kernel sees the Python installation read-only and its own copy of the
submission, nothing of the repository, the other submissions or the hidden tests; it can write
only to its own temporary folder, which is deleted afterwards. The hidden tests are copied into
a read-only folder of the sandbox only after the student's last cell has run, just before otter
checks every question. A cell that runs longer than ``--cell-timeout`` seconds is interrupted
(its question scores zero) and the rest of the notebook still runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from grading import MAX_NOTEBOOK, grade_file, points_possible  # noqa: E402
from sandbox import Limits, SandboxUnavailableError, check_available  # noqa: E402

REPO = HERE.parents[1]
ASSIGNMENT_NAME = re.compile(r"^ch\d\d$")


# --------------------------------------------------------------------------------------------
# assign
# --------------------------------------------------------------------------------------------


def masters(names: Iterable[str] = (), folder: Path = HERE) -> list[Path]:
    """The master notebooks ``chNN.ipynb`` in ``folder`` (default: next to this file), all of
    them or the ones named. A course that grades for credit keeps its masters in a private
    repository and passes that folder (``make assignments MASTERS=...``)."""
    found = sorted(p for p in folder.glob("ch*.ipynb") if ASSIGNMENT_NAME.match(p.stem))
    if not found:
        raise SystemExit(f"no master notebooks chNN.ipynb in {folder}")
    wanted = list(names)
    if not wanted:
        return found
    by_name = {p.stem: p for p in found}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    return [by_name[n] for n in wanted]


def otter_requirement() -> str:
    """The pinned otter-grader requirement from ``requirements.txt`` next to this file."""
    for line in (HERE / "requirements.txt").read_text().splitlines():
        if line.strip().startswith("otter-grader"):
            return line.split("#")[0].strip()
    raise RuntimeError(f"no otter-grader line in {HERE / 'requirements.txt'}")


def repository_url() -> str:
    """``repository.url`` from ``_config.yml`` (the one place that names the repository), as
    book/_ext/descent_config.py reads it for the whole course."""
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    import descent_config

    return descent_config.from_config_yml(REPO / "_config.yml").repository_url


def pinned_commit() -> str:
    """The commit of ``lessons_src`` the student notebooks install: DESCENT_COMMIT, or git's HEAD."""
    pinned = os.environ.get("DESCENT_COMMIT", "").strip()
    if pinned:
        return pinned
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(
            "cannot pin lessons_src for the student notebooks: this is not a git checkout; "
            "set DESCENT_COMMIT to the commit (or tag) of the public repository to install"
        ) from None
    return result.stdout.strip()


def setup_cell_source(name: str, public_checks: dict[str, str], commit: str) -> str:
    """The student notebook's setup cell: install when missing, write the public checks."""
    checks = ",\n".join(f"    {q!r}: {src!r}" for q, src in sorted(public_checks.items()))
    return f"""\
#@title Setup: run this cell first (no need to read it)
# Where the course's package or the grader is missing (Colab), this installs them, pinned to the
# version this assignment was written for; then it writes the public checks that
# grader.check("q1") runs to descent_checks/{name}/.
import importlib.util
import pathlib
import shlex

needed = {{"otter": "{otter_requirement()}",
          "lessons_src": "lessons_src @ git+{repository_url()}@{commit}"}}
missing = [requirement for module, requirement in needed.items() if importlib.util.find_spec(module) is None]
if missing:
    %pip install --quiet {{shlex.join(missing)}}

import otter

PUBLIC_CHECKS = {{
{checks},
}}
checks_dir = pathlib.Path("descent_checks") / "{name}"
checks_dir.mkdir(parents=True, exist_ok=True)
for question, source in PUBLIC_CHECKS.items():
    (checks_dir / f"{{question}}.py").write_text(source)
grader = otter.Notebook(tests_dir=str(checks_dir))
"""


IDENTITY_CELL = """\
**Your name:** _type it here_

**Your student ID:** _type it here_
"""

SUBMIT_CELLS = (
    """\
## Submit

Save the notebook (File → Save), then run the cell below. It makes a zip file next to this
notebook, with a link to download it: hand in that zip (or the `.ipynb` itself). Your grade
comes from running your notebook from top to bottom in a fresh kernel, so restart the kernel
and run every cell once before you submit.""",
    "grader.export(pdf=False, force_save=True)",
)


def question_points(test_file: Path) -> tuple[float, float]:
    """(public, hidden) points of one question, from the grader's test file."""
    from otter.test_files import ExceptionTestFile

    cases = ExceptionTestFile.from_file(str(test_file)).test_cases
    return (
        sum(float(c.points or 0) for c in cases if not c.hidden),
        sum(float(c.points or 0) for c in cases if c.hidden),
    )


def lay_out_student_notebook(
    nb: Any, name: str, public: dict[str, str], bundle_tests: dict[str, Path], commit: str
) -> None:
    """Title first, then the student's name and ID, the folded setup, every question with its
    points, and a last cell that packages the submission."""
    import nbformat

    locked = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.metadata.get("editable") is False
    ]
    answers = [i for i, c in enumerate(nb.cells) if "otter_answer_cell" in c.metadata.get("tags", [])]
    questions = sorted(bundle_tests)
    prompts = []
    for answer in answers:
        before = [i for i in locked if i < answer and i not in prompts]
        if before:
            prompts.append(before[-1])
    prompts = sorted(dict.fromkeys(prompts))
    if len(prompts) != len(questions):
        raise RuntimeError(f"{name}: found {len(prompts)} question prompts for {len(questions)} questions")
    for number, (index, question) in enumerate(zip(prompts, questions, strict=True), start=1):
        shown, hidden = question_points(bundle_tests[question])
        heading = (
            f"### Question {number} ({question}): {shown + hidden:g} points\n\n"
            f'*{shown:g} from the public checks in `grader.check("{question}")`, {hidden:g} from '
            "checks you do not see.*\n\n"
        )
        nb.cells[index].source = heading + nb.cells[index].source
    setup = nbformat.v4.new_code_cell(setup_cell_source(name, public, commit))
    setup.metadata.update({"jupyter": {"source_hidden": True}, "cellView": "form", "tags": ["setup"]})
    identity = nbformat.v4.new_markdown_cell(IDENTITY_CELL)
    identity.metadata["tags"] = ["student-identity"]
    title = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    nb.cells.insert(title + 1, identity)
    nb.cells.insert(title + 2, setup)
    submit_text, submit_code = SUBMIT_CELLS
    nb.cells.append(nbformat.v4.new_markdown_cell(submit_text))
    nb.cells.append(nbformat.v4.new_code_cell(submit_code))


def hidden_test_names(test_file: Path) -> list[str]:
    """Names of the hidden test functions in an otter exception-format test file (read by otter)."""
    from otter.test_files import ExceptionTestFile

    cases = ExceptionTestFile.from_file(str(test_file)).test_cases
    return [c.body.test_func.__name__ for c in cases if c.hidden]


def otter_assign_in_turn(workdirs: list[Path]) -> None:
    """``otter assign MASTER dist`` in each folder (holding one master notebook), one after the
    other in this process, which imports otter once; exits non-zero naming the masters that failed."""
    from otter.cli import cli

    failed = []
    for work in workdirs:
        (master,) = work.glob("ch*.ipynb")
        os.chdir(work)
        try:
            cli.main(["assign", master.name, "dist"], prog_name="otter", standalone_mode=False)
        except BaseException as error:  # reported with the master's name
            print(f"otter assign failed for {master.name}: {type(error).__name__}: {error}", flush=True)
            failed.append(master.name)
    if failed:
        raise SystemExit(f"otter assign failed for {', '.join(failed)}")


def lay_out_assignment(master: Path, dist: Path, out: Path, commit: str) -> None:
    """From what ``otter assign`` wrote to ``dist``, lay out the student and grader files of one
    assignment in ``out``."""
    import nbformat

    name = master.stem
    public = {p.stem: p.read_text() for p in sorted((dist / "student" / "tests").glob("*.py"))}
    nb = nbformat.read(dist / "student" / master.name, as_version=4)
    bundle_tests = {p.stem: p for p in sorted((dist / "autograder" / "tests").glob("*.py"))}
    lay_out_student_notebook(nb, name, public, bundle_tests, commit)
    nb.metadata.setdefault("otter", {})["assignment_name"] = name
    text = nbformat.writes(nb)
    bundle = out / "autograder" / name
    tests = sorted((dist / "autograder" / "tests").glob("*.py"))
    hidden = [t for f in tests for t in hidden_test_names(f)]
    if not hidden:
        raise RuntimeError(f"{master.name} has no hidden tests")
    leaked = [t for t in hidden if t in text]
    if leaked:
        raise RuntimeError(f"hidden tests {leaked} would be handed to students in {name}.ipynb")
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(dist / "autograder", bundle)
    (out / "student").mkdir(parents=True, exist_ok=True)
    (out / "student" / master.name).write_text(text)
    print(f"{name}: student/{master.name}, autograder/{name}/ ({len(public)} questions)", flush=True)


def assign(out: Path, names: Iterable[str] = (), jobs: int = 2, folder: Path = HERE) -> None:
    """Build every assignment (or the ones named) of ``folder`` into ``out``.

    ``otter assign`` runs in ``jobs`` processes, each taking its share of the masters in turn
    (importing otter costs a process more than running one assignment does)."""
    chosen = masters(names, folder)
    commit = pinned_commit()
    with tempfile.TemporaryDirectory(prefix="descent-assign-") as tmp:
        works = {}
        for master in chosen:
            work = Path(tmp) / master.stem
            work.mkdir()
            shutil.copy(master, work / master.name)
            works[master] = work
        shares = [chosen[i :: max(1, jobs)] for i in range(max(1, jobs))]

        def run(share: list[Path]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "otter-assign",
                    *map(str, map(works.get, share)),
                ],
                capture_output=True,
                text=True,
            )

        with ThreadPoolExecutor(max_workers=len(shares)) as pool:
            results = list(pool.map(run, [share for share in shares if share]))
        failures = [r for r in results if r.returncode != 0]
        if failures:
            raise RuntimeError("\n".join(f"{r.stdout}\n{r.stderr}" for r in failures))
        for master in chosen:
            lay_out_assignment(master, works[master] / "dist", out, commit)


# --------------------------------------------------------------------------------------------
# grade: a folder, one submission at a time in a fresh process, each in its own sandbox
# --------------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A gradebook cell that a spreadsheet will not run as a formula (OWASP's CSV injection rule)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def label_of(path: Path) -> str | None:
    """The assignment a notebook names in its metadata, if it names one (None for anything else)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 16 << 20:
            return None
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name")
    except Exception:  # unreadable files are reported when graded
        return None
    return name if isinstance(name, str) and ASSIGNMENT_NAME.match(name) else None


def detect_assignment(files: list[Path]) -> str | None:
    """The assignment that most notebooks name, if more than half of those naming one agree."""
    from collections import Counter

    counts = Counter(name for name in map(label_of, files) if name)
    if not counts:
        return None
    name, count = counts.most_common(1)[0]
    return name if count * 2 > sum(counts.values()) else None


def _grade_one_to_file(path: Path, bundle: Path, limits: Limits, sandbox: bool, out: Path) -> None:
    """Body of the fresh process that grades one file: its outcome, or why it failed, to ``out``."""
    os.setsid()  # a process group of its own, killed whole if it runs too long
    try:
        outcome = asdict(grade_file(path, bundle, limits, sandbox))
    except BaseException as error:  # the grader's own failure: one line for the gradebook
        (out.parent / "failure.txt").write_text(f"{type(error).__name__}: {error}")
        raise SystemExit(1) from None
    out.write_text(json.dumps(outcome))


def _grader_processes() -> Any:
    """Fresh processes for grading, forked from a server that has already imported the grader
    (otter, nbformat, dill) but never touched a submission: each file still gets a process of
    its own, without paying a second of imports for it."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grading", "sandbox", "wire", "nbformat", "dill", "otter.test_files"])
    return context


def _grade_in_child(path: Path, bundle: Path, limits: Limits, sandbox: bool, workdir: Path) -> dict[str, Any]:
    """Grade one file in a fresh process of the grader's own; its outcome as a dict."""
    out = Path(tempfile.mkdtemp(prefix="outcome-", dir=workdir)) / "outcome.json"
    child = _grader_processes().Process(
        target=_grade_one_to_file, args=(path, bundle, limits, sandbox, out), daemon=False
    )
    child.start()
    child.join(timeout=limits.total_timeout + 300)
    if child.is_alive():
        try:
            os.killpg(child.pid, 9)
        except ProcessLookupError:
            child.kill()
        child.join()
        return {
            "scores": {},
            "note": f"the grader gave up after {limits.total_timeout + 300:g} s",
            "tests": [],
            "student_notes": [],
        }
    if child.exitcode != 0 or not out.exists():
        failure = out.parent / "failure.txt"
        last = f"its process ended with {child.exitcode}"
        if failure.exists():
            last = failure.read_text().strip()[:200]
        return {
            "scores": {},
            "note": f"the grader failed on this file: {last}",
            "tests": [],
            "student_notes": [],
        }
    return json.loads(out.read_text())


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"
    return stem[:100]


def feedback_text(assignment: str, file: str, outcome: dict[str, Any], possible: dict[str, float]) -> str:
    """The student's feedback: every test with its points, result and hint; no hidden value."""
    total = sum(outcome["scores"].get(q, 0.0) for q in possible)
    lines = [
        f"# Feedback: assignment {assignment}",
        "",
        f"Submission `{file}`: **{total:g} of {sum(possible.values()):g} points**.",
        "",
    ]
    if outcome.get("student_notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in outcome["student_notes"]] + [""]
    for question, worth in possible.items():
        lines += [
            f"## {question}: {outcome['scores'].get(question, 0.0):g} of {worth:g} points",
            "",
            "| test | points | result | what to check |",
            "| --- | --- | --- | --- |",
        ]
        for test in (t for t in outcome.get("tests", []) if t["question"] == question):
            kind = "hidden" if test["hidden"] else "public"
            earned = (
                f"{test['points']:g} of {test['points']:g}" if test["passed"] else f"0 of {test['points']:g}"
            )
            hint = "" if test["passed"] else test["hint"]
            if not test["passed"] and not test["hidden"] and test["detail"]:
                hint = f"{hint} (the check said: {test['detail']})".strip()
            cell = hint.replace("|", "\\|").replace("\n", " ")
            result = "passed" if test["passed"] else "failed"
            lines.append(f"| {test['name']} ({kind}) | {earned} | {result} | {cell} |")
        lines.append("")
    lines += [
        "Hidden tests run your functions on inputs you have not seen; their expected values stay "
        "with the grader.",
        "",
    ]
    return "\n".join(lines)


def summary_text(assignment: str, rows: list[dict[str, Any]], possible: dict[str, float]) -> str:
    """Per question, how many submissions earned each score (for the instructor)."""
    from collections import Counter

    columns = [*possible, "total"]
    counts = {c: Counter(float(r[c]) for r in rows) for c in columns}
    scores = sorted({s for c in columns for s in counts[c]})
    lines = [
        f"# Scores of {assignment}: {len(rows)} file(s)",
        "",
        "| score | " + " | ".join(columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for score in scores:
        lines.append(
            f"| {score:g} | " + " | ".join(str(counts[c].get(score, 0) or "") for c in columns) + " |"
        )
    means = [sum(float(r[c]) for r in rows) / max(len(rows), 1) for c in columns]
    lines.append("| mean | " + " | ".join(f"{m:.2f}" for m in means) + " |")
    lines.append(
        "| possible | " + " | ".join(f"{v:g}" for v in [*possible.values(), sum(possible.values())]) + " |"
    )
    return "\n".join(lines) + "\n"


def grade(
    submissions: Path,
    assignments: Path,
    out: Path,
    assignment: str | None = None,
    limits: Limits | None = None,
    jobs: int = 2,
    sandbox: bool = True,
    feedback: Path | None = None,
) -> list[dict[str, Any]]:
    """Grade every entry of ``submissions``; write the gradebook, the feedback and a summary."""
    limits = limits or Limits()
    if not submissions.is_dir():
        raise SystemExit(f"SUBMISSIONS must be a folder of notebooks, got {submissions}")
    entries = sorted(submissions.iterdir())
    name = assignment or detect_assignment(entries)
    if name is None:
        raise SystemExit("cannot tell which assignment these notebooks are: pass ASSIGNMENT=chNN")
    bundle = assignments / "autograder" / name
    if not (bundle / "tests").is_dir():
        raise SystemExit(f"no grader bundle at {bundle}: run `make assignments` first")
    if sandbox:
        try:
            check_available()
        except SandboxUnavailableError as error:
            raise SystemExit(f"cannot build the grading sandbox: {error}") from None
    possible = points_possible(bundle)
    feedback = feedback or out.parent / f"{out.stem}-feedback"

    with tempfile.TemporaryDirectory(prefix="descent-grader-") as tmp:
        workdir = Path(tmp)
        copies = {}
        for path in entries:  # a private copy of each regular file, read once, never followed
            if path.is_file() and not path.is_symlink():
                copy = workdir / f"{len(copies)}{path.suffix if path.suffix in ('.ipynb', '.zip') else ''}"
                with path.open("rb") as src:
                    copy.write_bytes(src.read(MAX_NOTEBOOK + 1))
                copies[path] = copy

        def one(path: Path) -> dict[str, Any]:
            if path.is_symlink():
                return {
                    "scores": {},
                    "note": "a symbolic link: not graded",
                    "tests": [],
                    "student_notes": ["A symbolic link is not a submission."],
                }
            if not path.is_file():
                return {"scores": {}, "note": "not a file: not graded", "tests": [], "student_notes": []}
            if path.suffix not in (".ipynb", ".zip"):
                why = f"not a notebook ({path.suffix or 'no extension'}): not graded"
                return {
                    "scores": {},
                    "note": why,
                    "tests": [],
                    "student_notes": [why[0].upper() + why[1:] + "."],
                }
            return _grade_in_child(copies[path], bundle.resolve(), limits, sandbox, workdir)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = list(pool.map(one, entries))

    # the gradebook, written once, by the grader, from its own results
    rows = []
    for path, outcome in zip(entries, outcomes, strict=True):
        scores = {q: min(max(float(outcome["scores"].get(q, 0.0)), 0.0), possible[q]) for q in possible}
        rows.append(
            {
                "student": path.stem,
                "file": path.name,
                **scores,
                "total": sum(scores.values()),
                "possible": sum(possible.values()),
                "note": outcome["note"],
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "file", *possible, "total", "possible", "note"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_safe(v) for k, v in row.items()})
    shutil.rmtree(feedback, ignore_errors=True)
    feedback.mkdir(parents=True)
    used: set[str] = set()
    for path, outcome in zip(entries, outcomes, strict=True):
        stem = _safe_stem(path.name)
        while stem in used:
            stem += "_"
        used.add(stem)
        (feedback / f"{stem}.md").write_text(
            feedback_text(name, path.name, outcome, possible), encoding="utf-8"
        )
    summary = summary_text(name, rows, possible)
    (out.parent / f"{out.stem}-summary.md").write_text(summary, encoding="utf-8")
    print(summary, flush=True)
    print(
        f"graded {len(rows)} file(s) of {name} into {out}; feedback for students in {feedback}/", flush=True
    )
    return rows


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Command line: ``assign``, ``grade``, and the internal ``otter-assign``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_assign = sub.add_parser("assign", help="build student notebooks and the grader's bundle")
    p_assign.add_argument("names", nargs="*", help="chNN names (default: every master notebook)")
    p_assign.add_argument("--out", type=Path, default=REPO / "_build" / "assignments")
    p_assign.add_argument("--jobs", type=int, default=2)
    p_assign.add_argument("--masters", type=Path, default=HERE, help="the folder of master notebooks")
    p_grade = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    p_grade.add_argument("submissions", type=Path)
    p_grade.add_argument(
        "--assignments", type=Path, default=REPO / "_build" / "assignments", help="the folder `assign` wrote"
    )
    p_grade.add_argument("--out", type=Path, default=REPO / "_build" / "grades.csv")
    p_grade.add_argument(
        "--feedback",
        type=Path,
        default=None,
        help="folder for the students' feedback files (default: next to --out)",
    )
    p_grade.add_argument("--assignment", default=None, help="chNN (default: from the notebooks)")
    p_grade.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout)
    p_grade.add_argument("--submission-timeout", type=float, default=Limits.total_timeout)
    p_grade.add_argument("--memory-mib", type=int, default=Limits.memory >> 20)
    p_grade.add_argument("--jobs", type=int, default=2)
    p_grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the notebooks without isolation: only for notebooks you trust",
    )
    p_otter = sub.add_parser("otter-assign", help=argparse.SUPPRESS)
    p_otter.add_argument("workdirs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "assign":
        assign(args.out, args.names, args.jobs, args.masters)
    elif args.command == "grade":
        limits = Limits(
            cell_timeout=args.cell_timeout,
            total_timeout=args.submission_timeout,
            memory=args.memory_mib << 20,
        )
        grade(
            args.submissions,
            args.assignments,
            args.out,
            args.assignment or None,
            limits,
            args.jobs,
            not args.no_sandbox,
            args.feedback,
        )
    else:
        otter_assign_in_turn(args.workdirs)


if __name__ == "__main__":
    main()
