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
import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASSIGNMENT_NAME = re.compile(r"^ch\d\d$")
CHECK_CELL = re.compile(r'^\s*grader\.check\(\s*"(?P<question>[^"]+)"\s*\)\s*$')
TIMEOUT_ERROR = "CellTimeoutError"


# --------------------------------------------------------------------------------------------
# assign
# --------------------------------------------------------------------------------------------


def masters(names: Iterable[str] = ()) -> list[Path]:
    """The master notebooks ``chNN.ipynb`` next to this file, all of them or the ones named."""
    found = sorted(p for p in HERE.glob("ch*.ipynb") if ASSIGNMENT_NAME.match(p.stem))
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
    """``repository.url`` from ``_config.yml`` (the one place that names the repository)."""
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (REPO / "_config.yml").read_text(), re.M)
    if not match:
        raise RuntimeError("no repository.url in _config.yml")
    return match.group(1)


def setup_cell_source(name: str, public_checks: dict[str, str]) -> str:
    """The student notebook's first cell: install when missing, write the public checks."""
    checks = ",\n".join(f"    {q!r}: {src!r}" for q, src in sorted(public_checks.items()))
    return f"""\
# Setup: run this cell first. Where the course's package or the grader is missing (Colab), it
# installs them; then it writes this assignment's public checks to descent_checks/{name}/, where
# grader.check("q1") and friends find them. Your grade also uses further checks you do not see.
import importlib.util
import pathlib
import shlex

needed = {{"otter": "{otter_requirement()}", "lessons_src": "lessons_src @ git+{repository_url()}"}}
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


def hidden_test_names(test_file: Path) -> list[str]:
    """Names of the hidden test functions in an otter exception-format test file."""
    source = test_file.read_text()
    return re.findall(r"@test_case\([^)]*hidden=True[^)]*\)\s*\ndef (\w+)", source)


def assign_one(master: Path, out: Path) -> None:
    """Run ``otter assign`` on one master notebook; lay out its student and grader files."""
    import nbformat

    name = master.stem
    with tempfile.TemporaryDirectory(prefix=f"descent-assign-{name}-") as tmp:
        work = Path(tmp)
        shutil.copy(master, work / master.name)
        result = subprocess.run(
            [sys.executable, "-m", "otter", "assign", master.name, "dist"],
            cwd=work, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"otter assign failed for {master}:\n{result.stdout}\n{result.stderr}")
        dist = work / "dist"
        public = {p.stem: p.read_text() for p in sorted((dist / "student" / "tests").glob("*.py"))}
        nb = nbformat.read(dist / "student" / master.name, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(setup_cell_source(name, public)))
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


def assign(out: Path, names: Iterable[str] = (), jobs: int = 2) -> None:
    """Build every assignment (or the ones named) into ``out``."""
    chosen = masters(names)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(assign_one, m, out) for m in chosen]:
            future.result()


# --------------------------------------------------------------------------------------------
# grade: one submission (runs in its own process)
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """The grade of one submission: points per question and a note for the instructor."""

    scores: dict[str, float] = field(default_factory=dict)
    note: str = ""


class _RestrictedUnpickler(pickle.Unpickler):
    """Loads otter's results object and refuses anything else.

    The results file is written by the kernel, that is by the submission's own process, so it
    is untrusted: a plain ``pickle.load`` would run whatever a crafted file asks for. Only
    classes (never functions or modules) of otter, basic types and exceptions are let through.
    """

    _BASIC = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool",
                        "complex", "bytes"})

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] != "otter" and module != "builtins":
            raise pickle.UnpicklingError(f"refused to load {module}.{name} from the results file")
        found = super().find_class(module, name)
        if isinstance(found, type) and (
            (module != "builtins" and found.__module__.split(".")[0] == "otter")
            or (module == "builtins" and (name in self._BASIC or issubclass(found, BaseException)))
        ):
            return found
        raise pickle.UnpicklingError(f"refused to load {module}.{name} from the results file")


def _sandbox_argv(work: Path, checks: Path, results: Path, runtime: Path) -> list[str]:
    """The bubblewrap command line that the kernel runs under."""
    import importlib.util

    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap not found: install bubblewrap (apt-get install bubblewrap) "
                           "or grade without a sandbox (--no-sandbox)")
    argv = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--clearenv", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for system in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        argv += ["--ro-bind-try", system, system]
    readable = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    spec = importlib.util.find_spec("lessons_src")
    if spec and spec.submodule_search_locations:
        readable |= {Path(p).resolve() for p in spec.submodule_search_locations}
    for path in sorted(readable):
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--ro-bind", str(runtime), str(runtime), "--ro-bind", str(checks), str(checks),
             "--bind", str(results), str(results), "--bind", str(work), str(work)]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "LANG": "C.UTF-8",
           "PYTHONNOUSERSITE": "1", "TMPDIR": "/tmp"}
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # this machine's OpenBLAS workaround
        if var in os.environ:
            env[var] = os.environ[var]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    # the sandbox's own root (mount points) read-only too: only /tmp and the work folder are writable
    return [*argv, "--remount-ro", "/", "--chdir", str(work), "--"]


def _write_kernelspec(root: Path, prefix: list[str]) -> None:
    """A ``python3`` kernelspec under ``root`` (put first on JUPYTER_PATH) that runs ``prefix``."""
    spec_dir = root / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [*prefix, sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading)",
        "language": "python",
        "interrupt_mode": "message",  # signals would stop at the sandbox's own process
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def _question_after(cells: list[Any], index: int) -> str | None:
    """The question that cell ``index`` checks, or whose ``grader.check`` cell follows it."""
    if "descent_check" in cells[index].metadata:
        return cells[index].metadata["descent_check"]
    for cell in cells[index + 1:]:
        match = CHECK_CELL.match(cell.source) if cell.cell_type == "code" else None
        if match:
            return match.group("question")
    return None


def _load_hidden_tests(bundle: Path) -> dict[str, float]:
    """Question name -> points possible, from the bundle's test files (instructor's own code)."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    return {p.stem: float(create_test_file(str(p), NBMetadataConfig()).possible)
            for p in sorted((bundle / "tests").glob("*.py"))}


def grade_one(submission: Path, bundle: Path, cell_timeout: int, sandbox: bool) -> Outcome:
    """Grade one notebook with otter's grading preprocessor, in a sandboxed kernel."""
    import nbformat

    possible = _load_hidden_tests(bundle)
    zero = {q: 0.0 for q in possible}
    data = submission.read_bytes()
    if not data.strip():
        return Outcome(zero, "empty file: nothing to grade")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:  # any unreadable file gets a row saying why
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        return Outcome(zero, f"not a readable notebook: {reason}")
    notes = []
    expected = json.loads((bundle / "otter_config.json").read_text()).get("assignment_name")
    found = nb.metadata.get("otter", {}).get("assignment_name")
    if found and expected and found != expected:
        notes.append(f"this is the {found} notebook, graded as {expected}")

    with tempfile.TemporaryDirectory(prefix="descent-grade-") as tmp:
        root = Path(tmp).resolve()
        work, checks, results, runtime, jupyter = (root / d for d in ("work", "checks", "results",
                                                                      "runtime", "jupyter"))
        for d in (work, checks, results, runtime):
            d.mkdir()
        nb_path = work / "submission.ipynb"
        nbformat.write(nb, nb_path)
        prefix = _sandbox_argv(work, checks, results, runtime) if sandbox else []
        _write_kernelspec(jupyter, prefix)
        os.environ["JUPYTER_PATH"] = str(jupyter)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
        tests = sorted((bundle / "tests").glob("*.py"))
        try:
            executed, stopped = _execute(nb, work, checks, results, runtime, tests, cell_timeout)
        except Exception as error:  # a dead kernel must not stop the whole run
            notes.append(f"grading stopped: {type(error).__name__}: {str(error).splitlines()[0][:160]}"
                         if str(error) else f"grading stopped: {type(error).__name__}")
            return Outcome(zero, "; ".join(notes))
        graded = _read_results(results / "results.pkl")

    timed_out = [_question_after(executed.cells, i) or f"cell {i}" for i in stopped]
    if timed_out:
        notes.append(f"stopped after {cell_timeout} s: {', '.join(dict.fromkeys(timed_out))}")
    if graded is None:
        notes.append("otter wrote no results (the notebook interfered with the grader?)")
        return Outcome(zero, "; ".join(notes))
    scores = {q: min(max(float(graded.results[q].score), 0.0), possible[q]) if q in graded.results else 0.0
              for q in possible}
    return Outcome(scores, "; ".join(notes))


def _read_results(path: Path) -> Any:
    """otter's GradingResults from the kernel's results file, or None."""
    from otter.test_files import GradingResults

    try:
        with path.open("rb") as f:
            results = _RestrictedUnpickler(io.BytesIO(f.read())).load()
    except Exception:  # a missing or refused file means no results
        return None
    return results if isinstance(results, GradingResults) else None


def _execute(nb: Any, work: Path, checks: Path, results: Path, runtime: Path, tests: list[Path],
             cell_timeout: int) -> tuple[Any, list[int]]:
    """Run ``nb`` the way ``otter.execute.grade_notebook`` does, with these changes.

    The kernel is the sandboxed ``python3`` kernelspec; a cell is interrupted after
    ``cell_timeout`` seconds and the run goes on; each question is checked in a cell of its own,
    after the student's last cell; and the hidden tests reach the kernel only then. Returns the executed
    notebook and the indices of the cells that were stopped.
    """
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    from otter.execute.logging import start_server
    from otter.execute.preprocessor import GradingPreprocessor
    from traitlets.config import Config

    stopped: list[Any] = []
    # One check cell per question, so that a test that hangs (it calls a looping answer) is
    # stopped on its own and the other questions are still checked.
    for test in tests:
        check = nbformat.v4.new_code_cell(f'import otter\notter.Notebook().check("{test.stem}")')
        check.metadata["descent_check"] = test.stem
        nb.cells.append(check)

    class GradingExecutor(ExecutePreprocessor):
        async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
            stopped.append(cell)
            return await super()._async_handle_timeout(timeout, cell)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> Any:
            if cell.metadata.get("descent_check") and not any(checks.iterdir()):
                (results / "results.pkl").unlink(missing_ok=True)
                for test in tests:
                    shutil.copy(test, checks / test.name)
            return super().preprocess_cell(cell, resources, index)

    config = Config()
    (host, port), stop_server = start_server()
    grading = None
    try:
        config.GradingPreprocessor.cwd = None
        config.GradingPreprocessor.seed = None
        config.GradingPreprocessor.seed_variable = None
        config.GradingPreprocessor.otter_log = None
        config.GradingPreprocessor.variables = None
        config.GradingPreprocessor.test_dir = str(checks)
        config.GradingPreprocessor.tests_glob = []  # the check cells above run every test
        config.GradingPreprocessor.results_path = str(results / "results.pkl")
        config.GradingPreprocessor.logging_server_host = host
        config.GradingPreprocessor.logging_server_port = port
        config.GradingPreprocessor.force_python3_kernel = True
        config.ExecutePreprocessor.allow_errors = True
        config.ExecutePreprocessor.timeout = cell_timeout
        config.ExecutePreprocessor.interrupt_on_timeout = True
        config.ExecutePreprocessor.error_on_timeout = {
            "ename": TIMEOUT_ERROR,
            "evalue": f"the cell ran longer than {cell_timeout} s and was interrupted",
            "traceback": [],
        }
        grading = GradingPreprocessor(config=config)
        nb, _ = grading.preprocess(nb)
        # the kernel's connection file must be where the sandbox can read it
        config.KernelManager.connection_file = str(runtime / "kernel.json")
        executed, _ = GradingExecutor(config=config).preprocess(nb, {"metadata": {"path": str(work)}})
    finally:
        stop_server()
        if grading is not None:
            grading.cleanup()
    return executed, [i for i, cell in enumerate(executed.cells) if any(cell is s for s in stopped)]


# --------------------------------------------------------------------------------------------
# grade: a folder
# --------------------------------------------------------------------------------------------


def detect_assignment(files: list[Path]) -> str | None:
    """The assignment named in the notebooks' metadata, if they agree on one."""
    names = set()
    for path in files:
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
            name = meta.get("otter", {}).get("assignment_name")
        except Exception:  # unreadable files are reported when graded
            continue
        if isinstance(name, str) and ASSIGNMENT_NAME.match(name):
            names.add(name)
    return names.pop() if len(names) == 1 else None


def _grade_in_child(path: Path, bundle: Path, cell_timeout: int, sandbox: bool,
                    submission_timeout: int) -> Outcome:
    """Grade one file in a fresh process, stopped (with its sandbox) after the time limit."""
    with tempfile.TemporaryDirectory(prefix="descent-outcome-") as tmp:
        out = Path(tmp) / "outcome.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "grade-one", str(path),
               "--bundle", str(bundle), "--cell-timeout", str(cell_timeout), "--result", str(out)]
        if not sandbox:
            cmd.append("--no-sandbox")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=submission_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            return Outcome({}, f"grading stopped after {submission_timeout} s for the whole notebook")
        if proc.returncode != 0 or not out.exists():
            last = log.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return Outcome({}, f"the grader failed on this file: {last[0][:200]}")
        data = json.loads(out.read_text())
        return Outcome(data["scores"], data["note"])


def grade(submissions: Path, assignments: Path, out: Path, assignment: str | None = None,
          cell_timeout: int = 60, jobs: int = 2, sandbox: bool = True,
          submission_timeout: int = 900) -> list[dict[str, Any]]:
    """Grade every file in ``submissions``; write and return the CSV rows."""
    if not submissions.is_dir():
        raise SystemExit(f"SUBMISSIONS must be a folder of notebooks, got {submissions}")
    files = sorted(p for p in submissions.iterdir() if p.is_file() and not p.name.startswith("."))
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    name = assignment or detect_assignment(notebooks)
    if name is None:
        raise SystemExit("cannot tell which assignment these notebooks are: pass ASSIGNMENT=chNN")
    bundle = assignments / "autograder" / name
    if not (bundle / "tests").is_dir():
        raise SystemExit(f"no grader bundle at {bundle}: run `make assignments` first")
    if sandbox and shutil.which("bwrap") is None:
        raise SystemExit("bwrap not found: install bubblewrap (apt-get install bubblewrap), "
                         "or pass --no-sandbox to grade without one")
    possible = _load_hidden_tests(bundle)

    def one(path: Path) -> Outcome:
        if path.suffix != ".ipynb":
            return Outcome({}, f"not a notebook ({path.suffix or 'no extension'}): not graded")
        return _grade_in_child(path.resolve(), bundle.resolve(), cell_timeout, sandbox, submission_timeout)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(one, files))

    rows = []
    for path, outcome in zip(files, outcomes, strict=True):
        scores = {q: outcome.scores.get(q, 0.0) for q in possible}
        rows.append({"student": path.stem, "file": path.name, **scores,
                     "total": sum(scores.values()), "possible": sum(possible.values()),
                     "note": outcome.note})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "file", *possible, "total", "possible", "note"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in row.items()})
    print(f"graded {len(rows)} file(s) of {name} into {out}", flush=True)
    return rows


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Command line: ``assign``, ``grade``, and the internal ``grade-one``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_assign = sub.add_parser("assign", help="build student notebooks and the grader's bundle")
    p_assign.add_argument("names", nargs="*", help="chNN names (default: every master notebook)")
    p_assign.add_argument("--out", type=Path, default=REPO / "_build" / "assignments")
    p_assign.add_argument("--jobs", type=int, default=2)
    p_grade = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    p_grade.add_argument("submissions", type=Path)
    p_grade.add_argument("--assignments", type=Path, default=REPO / "_build" / "assignments",
                         help="the folder `assign` wrote")
    p_grade.add_argument("--out", type=Path, default=REPO / "_build" / "grades.csv")
    p_grade.add_argument("--assignment", default=None, help="chNN (default: from the notebooks)")
    p_grade.add_argument("--cell-timeout", type=int, default=60)
    p_grade.add_argument("--submission-timeout", type=int, default=900)
    p_grade.add_argument("--jobs", type=int, default=2)
    p_grade.add_argument("--no-sandbox", action="store_true")
    p_one = sub.add_parser("grade-one", help=argparse.SUPPRESS)
    p_one.add_argument("submission", type=Path)
    p_one.add_argument("--bundle", type=Path, required=True)
    p_one.add_argument("--cell-timeout", type=int, default=60)
    p_one.add_argument("--result", type=Path, required=True)
    p_one.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "assign":
        assign(args.out, args.names, args.jobs)
    elif args.command == "grade":
        grade(args.submissions, args.assignments, args.out, args.assignment or None,
              args.cell_timeout, args.jobs, not args.no_sandbox, args.submission_timeout)
    else:
        outcome = grade_one(args.submission, args.bundle, args.cell_timeout, not args.no_sandbox)
        args.result.write_text(json.dumps({"scores": outcome.scores, "note": outcome.note}))


if __name__ == "__main__":
    main()
