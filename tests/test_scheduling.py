"""How ``make test`` spreads the suite over two workers (``conftest.work_unit``): a page of the
site is one unit, so its browser checks share one loaded page and the pages spread over both
workers; a test file is one unit, so its module fixtures are made once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("xdist", reason="pytest-xdist is not installed: pip install -r tests/requirements.txt")

PAGES = [f"book/page{n}.html" for n in range(6)]

#: Stands in for tests/test_site.py: three checks of each page, and a module fixture.
SITE_CHECKS = f"""
import os
import pytest

PAGES = {PAGES!r}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    return os.environ["PYTEST_XDIST_WORKER"]


@pytest.mark.parametrize("page", PAGES, scope="module")
@pytest.mark.parametrize("check", ["math", "axe", "keyboard"])
def test_check(browser, page, check, record):
    record(page, browser)
"""

#: Stands in for tests/test_grading.py: its tests must share the worker of their module fixture.
ONE_FILE = """
import os
import pytest


@pytest.mark.parametrize("n", range(6))
def test_graded(n, record):
    record("grading", os.environ["PYTEST_XDIST_WORKER"])
"""

RECORDER = """
import pytest


@pytest.fixture
def record(request):
    def write(unit, worker):
        with open(request.config.rootpath / "ran.txt", "a") as out:
            out.write(f"{unit} {worker}\\n")
    return write
"""


def test_each_page_runs_on_one_worker_and_the_pages_on_both(tmp_path: Path) -> None:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(RECORDER)
    (tmp_path / "tests" / "test_site.py").write_text(SITE_CHECKS)
    (tmp_path / "tests" / "test_grading.py").write_text(ONE_FILE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadscope",
         "--no-loadscope-reorder", "tests"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        # not this run's breakdown file (make test's DESCENT_TIMINGS) nor its Colab-like kernel
        env={name: value for name, value in os.environ.items() if not name.startswith("DESCENT_")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers: dict[str, set[str]] = {}
    for line in (tmp_path / "ran.txt").read_text().splitlines():
        unit, worker = line.split()
        workers.setdefault(unit, set()).add(worker)
    assert set(workers) == {*PAGES, "grading"}
    split = {unit: sorted(on) for unit, on in workers.items() if len(on) > 1}
    assert not split, f"units split over workers: {split}"
    used = set().union(*(workers[page] for page in PAGES))
    assert used == {"gw0", "gw1"}, f"the pages all ran on {used}"
