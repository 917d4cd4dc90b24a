"""Grade one submission: its notebook runs in the sandbox, the tests run here, in the grader.

The tests are otter-grader's exception-format test files from the grader's bundle (the public
and the hidden ones). otter calls each test function with the student's names as arguments; here
those arguments are stand-ins (:class:`RemoteFunction`) that send the call's inputs into the
sandbox and get back plain data (``wire``). So every comparison a test makes runs in this
process, between the grader's expected values and numbers, arrays and strings rebuilt from that
data: the student's code never sees the test, its frames or its expected values, and no object
it made is ever compared here.
"""

from __future__ import annotations

import builtins
import io
import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import wire
from sandbox import Limits, Session, SessionDiedError

MAX_NOTEBOOK = 16 << 20
DEFAULT_HINT = (
    "A test you do not see failed: try your function on inputs of your own beyond the "
    "public checks (other sizes, signs and edge cases)."
)


class StudentError(Exception):
    """An exception raised by the student's code whose type is not a built-in one."""


@dataclass
class TestResult:
    """One test case of one question."""

    question: str
    name: str
    points: float
    hidden: bool
    passed: bool
    hint: str
    detail: str = ""  # for the instructor; may hold expected values of hidden tests


@dataclass
class Outcome:
    """The grade of one submission."""

    scores: dict[str, float] = field(default_factory=dict)
    note: str = ""  # for the gradebook (instructor)
    tests: list[dict[str, Any]] = field(default_factory=list)
    student_notes: list[str] = field(default_factory=list)  # for the student's feedback file


def _rebuild_exception(reply: dict[str, Any]) -> Exception:
    name, message = str(reply.get("type", "Exception"))[:100], str(reply.get("message", ""))[:1000]
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:  # a built-in that wants other arguments
            pass
    return StudentError(f"{name}: {message}")


class RemoteFunction:
    """A student's function, called in the sandbox with the grader's inputs."""

    def __init__(self, session: Session, name: str) -> None:
        self.session, self.name = session, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reply = self.session.call(self.name, args, kwargs)
        return _reply_value(reply, f"{self.name}(...)")

    def __repr__(self) -> str:
        return f"<the student's {self.name}>"


def _reply_value(reply: dict[str, Any], what: str) -> Any:
    kind = reply.get("kind")
    if kind == "value":
        return wire.decode(reply.get("value"))
    if kind == "error":
        raise _rebuild_exception(reply)
    if kind == "unsendable":
        raise TypeError(
            f"{what} gave {str(reply.get('what'))[:200]}, which the grader cannot read: "
            "return numbers, NumPy arrays, strings, or lists, tuples and dicts of them"
        )
    raise wire.WireError(f"an unexpected reply to {what}")


class RemoteNamespace(dict):  # otter asks it for names with .get(name, None)
    """The student's names, looked up in the sandbox when a test asks for them."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def get(self, name: str, default: Any = None) -> Any:
        reply = self.session.lookup(name)
        if reply.get("kind") == "missing":
            raise NameError(f"{name} is not defined in the notebook")
        if reply.get("kind") == "callable":
            return RemoteFunction(self.session, name)
        return _reply_value(reply, name)


def read_submission(path: Path) -> tuple[Any | None, str]:
    """The notebook in ``path`` (a ``.ipynb``, or otter's export ``.zip``), or None and why not."""
    import nbformat

    data = path.read_bytes()[: MAX_NOTEBOOK + 1]
    if len(data) > MAX_NOTEBOOK:
        return None, f"larger than {MAX_NOTEBOOK >> 20} MiB: not graded"
    if not data.strip():
        return None, "empty file: nothing to grade"
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inside = [
                    i for i in archive.infolist() if i.filename.endswith(".ipynb") and "/" not in i.filename
                ]
                if len(inside) != 1 or inside[0].file_size > MAX_NOTEBOOK:
                    return None, "a zip without exactly one notebook at its top: not graded"
                data = archive.read(inside[0])
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            return None, f"not a readable zip: {type(error).__name__}"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:  # any unreadable file gets a row saying why
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        return None, f"not a readable notebook: {reason}"
    return nb, ""


def load_tests(bundle: Path) -> dict[str, Any]:
    """Question name -> otter's test file object, from the grader's bundle (instructor's code)."""
    from otter.test_files import ExceptionTestFile

    return {p.stem: ExceptionTestFile.from_file(str(p)) for p in sorted((bundle / "tests").glob("*.py"))}


def points_possible(bundle: Path) -> dict[str, float]:
    """Question name -> points possible."""
    return {q: float(t.possible) for q, t in load_tests(bundle).items()}


def _first_line(text: str, limit: int = 160) -> str:
    line = next((s for s in str(text).strip().splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def grade_notebook(nb: Any, bundle: Path, limits: Limits, sandbox: bool = True) -> Outcome:
    """Run ``nb`` in the sandbox and every test of ``bundle`` against it."""
    import nbformat

    tests = load_tests(bundle)
    outcome = Outcome(scores={q: 0.0 for q in tests})
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="descent-grade-") as tmp:
        path = Path(tmp) / "submission.ipynb"
        nbformat.write(nb, path)
        with Session(path, limits, sandbox=sandbox) as session:
            try:
                session.start()
            except SessionDiedError as error:
                notes.append(f"not graded: {error}")
            env = RemoteNamespace(session)
            for question, test_file in tests.items():
                if notes and notes[0].startswith("not graded"):
                    break
                for case in test_file.test_cases:
                    try:
                        case.body.call_func(env)
                        passed, detail = True, ""
                    except Exception as error:  # a failed assertion, or the student's exception
                        passed, detail = False, _first_line(f"{type(error).__name__}: {error}")
                    outcome.tests.append(
                        asdict(
                            TestResult(
                                question=question,
                                name=getattr(case.body.test_func, "__name__", case.name),
                                points=float(case.points or 0),
                                hidden=bool(case.hidden),
                                passed=passed,
                                hint=case.failure_message or ("" if not case.hidden else DEFAULT_HINT),
                                detail=detail,
                            )
                        )
                    )
                    outcome.scores[question] += float(case.points or 0) if passed else 0.0
            log = session.log
    # cells are numbered from 1, as a reader counts them
    for cell, why in sorted(log.skipped.items()):
        notes.append(f"cell {cell + 1} left out: it {why}")
        outcome.student_notes.append(f"Cell {cell + 1} was left out of grading: it {why}.")
    if log.pids_limited:
        notes.append(f"hit the limit of {limits.processes} processes")
        outcome.student_notes.append(f"Your notebook tried to start more than {limits.processes} processes.")
    if log.output_bytes > limits.output:
        notes.append(
            f"printed {log.output_bytes / 2**20:.0f} MiB; the grader kept the first {limits.output >> 20} MiB"
        )
        outcome.student_notes.append(
            f"Your notebook printed more than {limits.output >> 20} MiB; the rest was discarded."
        )
    if log.out_of_time:
        notes.append(f"stopped after {limits.total_timeout:g} s for the whole notebook")
        outcome.student_notes.append(
            f"Grading stopped after {limits.total_timeout:g} s for the whole notebook."
        )
    if log.cell_errors:
        first = min(log.cell_errors)
        notes.append(
            f"{len(log.cell_errors)} cell(s) raised, first cell {first + 1}: {log.cell_errors[first]}"
        )
        for cell, error in sorted(log.cell_errors.items()):
            outcome.student_notes.append(f"Cell {cell + 1} raised {_first_line(error, 200)}")
    failed = [t for t in outcome.tests if not t["passed"]]
    for test in failed:
        notes.append(f"{test['question']} {test['name']}: {test['detail']}")
    outcome.note = "; ".join(notes)
    return outcome


def grade_file(path: Path, bundle: Path, limits: Limits, sandbox: bool = True) -> Outcome:
    """Grade the submission file ``path`` against the bundle's tests."""
    possible = points_possible(bundle)
    nb, why = read_submission(path)
    if nb is None:
        return Outcome({q: 0.0 for q in possible}, why, [], [why[0].upper() + why[1:] + "."])
    expected = json.loads((bundle / "otter_config.json").read_text()).get("assignment_name")
    found = (
        nb.metadata.get("otter", {}).get("assignment_name")
        if isinstance(nb.metadata.get("otter"), dict)
        else None
    )
    label = ""
    if not isinstance(found, str) or not found:
        label = f"the notebook names no assignment; graded as {expected}"
    elif found != expected:
        label = f"this is the {_first_line(found, 20)} notebook; graded as {expected}"
    outcome = grade_notebook(nb, bundle, limits, sandbox)
    if label:
        outcome.note = "; ".join(filter(None, [label, outcome.note]))
        outcome.student_notes.insert(0, label[0].upper() + label[1:] + ".")
    return outcome
