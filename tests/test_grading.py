"""The autograded assignments, end to end: `make assignments`, then `make grade` on a folder of
good and bad submissions built from the student notebook (book/_assignments/autograde.py)."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK_CHAPTERS = sorted({p.name[:4] for p in (REPO / "book").glob("ch[0-9][0-9]_*.ipynb")})
CHAPTERS = sorted(p.stem for p in (REPO / "book" / "_assignments").glob("ch[0-9][0-9].ipynb"))

pytest.importorskip("otter", reason="the grader is not installed (make test installs it: "
                    "book/_assignments/requirements.txt)")
nbformat = pytest.importorskip("nbformat")
pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (apt-get install bubblewrap; CI's .ci/run installs it)",
)


def make(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the README's make command from the repository root."""
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def points(test_file: Path) -> float:
    """Points a question is worth, read from otter's test file."""
    return float(sum(float(p) for p in re.findall(r"@test_case\(points=([\d.]+)", test_file.read_text())))


@pytest.fixture(scope="module")
def assignments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every chapter's assignment, built by `make assignments` into a temporary folder.

    otter assign grades each reference solution with all of its tests, hidden ones included,
    and fails unless it earns full marks, so a successful build means every chapter's solutions
    pass their hidden tests.
    """
    out = tmp_path_factory.mktemp("assignments")
    result = make("assignments", f"ASSIGNMENTS={out}")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_every_chapter_has_an_assignment() -> None:
    missing = [name for name in BOOK_CHAPTERS if name not in CHAPTERS]
    assert not missing, (
        f"chapters without an autograded assignment: {', '.join(missing)}; add "
        "book/_assignments/chNN.ipynb, an otter-grader master notebook like the others (README: Grading)"
    )
    assert len(CHAPTERS) >= 10


def test_masters_ask_otter_to_check_the_reference_solutions() -> None:
    for name in CHAPTERS:
        master = nbformat.read(REPO / "book" / "_assignments" / f"{name}.ipynb", as_version=4)
        config = master.cells[0].source
        assert config.startswith("# ASSIGNMENT CONFIG"), name
        assert re.search(r"^run_tests: true$", config, re.M), name


def test_every_chapter_has_two_questions_with_public_and_hidden_tests(assignments: Path) -> None:
    for name in CHAPTERS:
        tests = sorted((assignments / "autograder" / name / "tests").glob("q*.py"))
        assert len(tests) >= 2, name
        for test in tests:
            source = test.read_text()
            assert "hidden=False" in source and "hidden=True" in source, test


def test_student_notebooks_hold_public_checks_and_no_hidden_test_or_solution(
    assignments: Path,
) -> None:
    for name in CHAPTERS:
        text = (assignments / "student" / f"{name}.ipynb").read_text()
        student = nbformat.reads(text, as_version=4)
        bundle = assignments / "autograder" / name
        checks = [c for c in student.cells if c.source.startswith("grader.check(")]
        assert len(checks) >= 2, name
        assert "%pip install" in student.cells[0].source and "PUBLIC_CHECKS" in student.cells[0].source
        for test in sorted((bundle / "tests").glob("q*.py")):
            source = test.read_text()
            for function in re.findall(r"@test_case\([^)]*hidden=True[^)]*\)\s*\ndef (\w+)", source):
                assert function not in text, f"hidden test {function} is in the student {name}.ipynb"
            for function in re.findall(r"@test_case\([^)]*hidden=False[^)]*\)\s*\ndef (\w+)", source):
                assert function in text, f"public test {function} is missing from {name}.ipynb"
        solutions = nbformat.read(bundle / f"{name}.ipynb", as_version=4)
        for cell in solutions.cells:
            if "otter_assign_solution_cell" in cell.metadata.get("tags", []):
                body = cell.source.split("# BEGIN SOLUTION")[1].split("# END SOLUTION")[0]
                line = max(body.strip().splitlines(), key=len)
                assert line.strip() not in text, f"a solution line of {name} is in the student notebook"
    student_dir = assignments / "student"
    shipped = {p.relative_to(student_dir).as_posix() for p in student_dir.rglob("*")}
    assert shipped == {f"{name}.ipynb" for name in CHAPTERS}


def snoop_source(targets: list[Path], patterns: list[str], writes: list[Path]) -> str:
    """A cell that tries to read the hidden tests, the master notebook and another submission,
    and to write outside its folder. If it reads anything it breaks its own answer to q1, so its
    grade tells."""
    return f"""
import glob
import pathlib

found = []
for path in {[str(p) for p in targets]!r}:
    try:
        found.append((path, len(pathlib.Path(path).read_bytes())))
    except OSError:
        pass
for pattern in {patterns!r}:
    for path in glob.glob(pattern, recursive=True):
        text = pathlib.Path(path).read_text(errors="replace")
        if "hidden=" + "True" in text or "hidden: " + "true" in text:  # public checks: hidden=False
            found.append(path)
for path in {[str(p) for p in writes]!r}:  # the test checks from outside that nothing changed
    try:
        pathlib.Path(path).write_text("the snooping submission was here")
    except OSError:
        pass
print("found:", found)
if found:
    count_steps = None
"""


def build_submissions(assignments: Path, folder: Path, marker: str | None) -> dict[str, Path]:
    """The fixture folder: one notebook per kind of submission, built from the student notebook."""
    student = nbformat.read(assignments / "student" / "ch01.ipynb", as_version=4)
    solution = nbformat.read(assignments / "autograder" / "ch01" / "ch01.ipynb", as_version=4)
    answers = [c.source for c in solution.cells
               if "otter_assign_solution_cell" in c.metadata.get("tags", [])]

    def filled() -> tuple[object, list[object]]:
        nb = nbformat.reads(nbformat.writes(student), as_version=4)
        cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
        assert len(cells) == len(answers) == 2
        for cell, answer in zip(cells, answers, strict=True):
            cell.source = answer
        return nb, cells

    folder.mkdir()
    paths = {}
    nb, _ = filled()
    paths["correct"] = folder / "correct.ipynb"
    nbformat.write(nb, paths["correct"])

    nb, cells = filled()
    assert "lrs[end < start].max()" in cells[1].source
    cells[1].source = cells[1].source.replace("lrs[end < start].max()", "lrs[end < start].min()")
    paths["wrong"] = folder / "wrong.ipynb"
    nbformat.write(nb, paths["wrong"])

    nb, _ = filled()
    nb.cells[0].source = "raise RuntimeError('a broken first cell')\n" + nb.cells[0].source
    paths["raises"] = folder / "raises.ipynb"
    nbformat.write(nb, paths["raises"])

    nb, cells = filled()
    cells[0].source = cells[0].source.replace("# BEGIN SOLUTION", "while True:\n        pass")
    paths["loops"] = folder / "loops.ipynb"
    nbformat.write(nb, paths["loops"])

    paths["empty"] = folder / "empty.ipynb"
    paths["empty"].write_text("")
    paths["corrupt"] = folder / "corrupt.ipynb"
    paths["corrupt"].write_text('{"cells": [{"cell_type": "code", "source": "x = ')
    paths["notes"] = folder / "notes.txt"
    paths["notes"].write_text("not a notebook")

    nb, cells = filled()
    targets = [REPO / "book" / "_assignments" / "ch01.ipynb",
               assignments / "autograder" / "ch01" / "tests" / "q1.py", paths["correct"]]
    writes = [] if marker is None else [paths["correct"], folder / marker, REPO / marker,
                                        Path("/tmp") / marker, Path("..") / marker]
    index = nb.cells.index(cells[1]) + 1
    patterns = [f"{assignments}/**/q*.py", f"{REPO}/book/_assignments/*.ipynb",
                f"{REPO}/_build/assignments/**/q*.py", "/tmp/descent-grade-*/**/q*.py", "../**/q*.py"]
    nb.cells.insert(index, nbformat.v4.new_code_cell(snoop_source(targets, patterns, writes)))
    paths["snoops"] = folder / "snoops.ipynb"
    nbformat.write(nb, paths["snoops"])
    return paths


def test_grading_a_folder_of_good_and_bad_submissions(assignments: Path, tmp_path: Path) -> None:
    marker = f"SNOOPED-{tmp_path.name}"
    paths = build_submissions(assignments, tmp_path / "submissions", marker)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values()}
    grades = tmp_path / "grades.csv"

    result = make("grade", f"SUBMISSIONS={tmp_path / 'submissions'}", f"ASSIGNMENTS={assignments}",
                  f"GRADES={grades}", "CELL_TIMEOUT=5")
    assert result.returncode == 0, result.stdout + result.stderr

    with grades.open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    tests = sorted((assignments / "autograder" / "ch01" / "tests").glob("q*.py"))
    possible = {t.stem: points(t) for t in tests}
    assert list(possible) == ["q1", "q2"]
    full = sum(possible.values())
    assert set(rows) == set(paths), "one row per file in the folder"
    for row in rows.values():
        assert float(row["total"]) == sum(float(row[q]) for q in possible)
        assert float(row["possible"]) == full

    def scores(name: str) -> list[float]:
        return [float(rows[name][q]) for q in possible]

    assert scores("correct") == [possible["q1"], possible["q2"]] and rows["correct"]["note"] == ""
    assert scores("wrong") == [possible["q1"], 0.0]
    assert scores("raises") == [possible["q1"], possible["q2"]]
    assert scores("loops") == [0.0, possible["q2"]]
    assert "stopped after 5 s: q1" in rows["loops"]["note"]
    assert scores("empty") == [0.0, 0.0] and "empty file" in rows["empty"]["note"]
    assert scores("corrupt") == [0.0, 0.0] and "not a readable notebook" in rows["corrupt"]["note"]
    assert "not a notebook" in rows["notes"]["note"]
    # the snooping notebook breaks its own q1 answer if it found or wrote anything
    assert scores("snoops") == [possible["q1"], possible["q2"]]

    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values()}
    assert after == before, "grading changed a submission"
    left = sorted(p.name for p in (tmp_path / "submissions").iterdir())
    assert left == sorted(p.name for p in paths.values()), "grading added or removed a file"
    for place in (REPO / marker, Path("/tmp") / marker, tmp_path / marker):
        assert not place.exists(), f"a submission wrote {place}"


def test_grade_needs_a_folder(assignments: Path, tmp_path: Path) -> None:
    result = make("grade", f"ASSIGNMENTS={assignments}")
    assert result.returncode != 0 and "usage: make grade SUBMISSIONS=" in result.stdout + result.stderr
    missing = make("grade", f"SUBMISSIONS={tmp_path / 'nowhere'}", f"ASSIGNMENTS={assignments}")
    assert missing.returncode != 0 and "must be a folder" in missing.stdout + missing.stderr


def test_the_snooping_submission_finds_the_hidden_tests_without_the_sandbox(
    assignments: Path, tmp_path: Path,
) -> None:
    """The probe is real: graded without the sandbox, it reads the hidden tests and loses q1."""
    paths = build_submissions(assignments, tmp_path / "all", marker=None)
    folder = tmp_path / "snoop"
    folder.mkdir()
    shutil.copy(paths["snoops"], folder / "snoops.ipynb")
    grades = tmp_path / "grades.csv"
    python = REPO / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(python), str(REPO / "book" / "_assignments" / "autograde.py"), "grade", str(folder),
         "--assignments", str(assignments), "--out", str(grades), "--no-sandbox", "--cell-timeout", "240"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with grades.open() as f:
        (row,) = csv.DictReader(f)
    assert float(row["q1"]) == 0.0 and float(row["q2"]) > 0


def test_public_checks_run_in_the_student_notebook_alone(assignments: Path, tmp_path: Path) -> None:
    """A student who has only the notebook gets instant feedback from grader.check."""
    from nbclient import NotebookClient

    paths = build_submissions(assignments, tmp_path / "all", marker=None)
    feedback = {}
    for name in ("correct", "wrong"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(paths[name], folder / "ch01.ipynb")
        nb = nbformat.read(folder / "ch01.ipynb", as_version=4)
        client = NotebookClient(nb, timeout=120, allow_errors=True,
                                resources={"metadata": {"path": str(folder)}})
        client.execute()
        for cell in nb.cells:
            if cell.source.startswith("grader.check("):
                shown = [o.get("data", {}).get("text/plain", "") for o in cell.outputs]
                feedback[name, cell.source] = "".join(shown)
    assert "q1 results: All test cases passed!" in feedback["correct", 'grader.check("q1")']
    assert "q2 results: All test cases passed!" in feedback["correct", 'grader.check("q2")']
    assert "Test case failed" in feedback["wrong", 'grader.check("q2")']
    assert "hidden" not in "".join(feedback.values()).lower()


class _Payload:
    """A pickle that would run a shell command when loaded."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, ("echo the results file ran a command",)


def test_the_results_file_written_by_the_kernel_is_loaded_safely() -> None:
    import importlib.util
    import io
    import pickle

    from otter.test_files import GradingResults

    path = REPO / "book" / "_assignments" / "autograde.py"
    spec = importlib.util.spec_from_file_location("autograde", path)
    autograde = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("autograde", autograde)  # its dataclass looks itself up there
    spec.loader.exec_module(autograde)

    def load(data: bytes) -> object:
        return autograde._RestrictedUnpickler(io.BytesIO(data)).load()

    assert isinstance(load(pickle.dumps(GradingResults([]))), GradingResults)
    for crafted in (pickle.dumps(_Payload()), b"cotter.execute\nos\n."):
        with pytest.raises(pickle.UnpicklingError, match="refused to load"):
            load(crafted)
