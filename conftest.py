"""pytest hooks for the whole repository: the live-slider check inside nbval's run, and the
time each part of the suite took.

**Sliders in nbval's kernel.** nbval (``pytest --nbval-lax book``) runs every page of the book
top to bottom in one kernel. For each page with a slider, one more item runs in that same kernel
after the page's last cell (``tests/test_live_sliders.py`` holds the probe): it moves every
slider and fails unless each one redraws its figure, which is what a reader in Binder or Colab
does after *Run all*. So the notebook is not executed a second time for the live-slider test;
that test's stand-alone version (which executes the page itself) is deselected when nbval runs.

**nbval's kernel is the Colab-like one.** ``make test`` prepares an environment with only Colab's
packages and the course's package installed by pip (``tests/colab_like.py``), names its kernel
with ``--nbval-kernel-name`` and sets ``DESCENT_COLAB_LIKE``; then every page gets one more item,
before the slider probe, that fails unless the kernel that ran it is that environment's. So a
page runs once in the tests, in the environment a learner's Colab has.

**Where the time went.** At the end of the run, the summed duration (setup, call, teardown) of
the tests in each part is printed and, with ``DESCENT_TIMINGS=FILE``, appended to ``FILE`` for
``book/_ext/make_steps.py``'s breakdown (as ``PHASE:part``, PHASE from ``DESCENT_TIMINGS_PHASE``,
``pytest`` by default). Under pytest-xdist (``-n 2``) the parts overlap, so their sum
exceeds the wall time.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent

#: The parts of the suite in the breakdown: (name, test files); the first match wins, nbval's
#: notebook cells are "nbval" and everything else is "rest".
PARTS = (
    ("browser", ("tests/test_site.py", "tests/test_site_phone.py")),
    ("colab", ("tests/test_colab.py",)),
    ("grading", ("tests/test_grading.py",)),
    ("pdf", ("tests/test_pdf.py",)),
    ("torch", ("tests/test_torch_agreement.py", "tests/test_torch_parity.py",
               "tests/test_torch_schedules.py")),
)


#: Checks that need not run on every change, marked ``slow``: ``make test`` leaves them out
#: (``-m "not slow"``), ``make test-slow`` runs them, and CI (``make test-all``) runs both. The PDFs,
#: and the page-by-page audits of the site in the browser (axe-core on a desktop and on a phone,
#: the phone layout, the keyboard walk), which load every page of the book once more at each width.
SLOW = ("tests/test_pdf.py::", "tests/test_site_phone.py::",
        "tests/test_site.py::test_no_serious_accessibility_violations",
        "tests/test_site.py::test_keyboard_reaches_and_moves_the_first_slider")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: left out of `make test`, run by `make test-slow` and CI")


#: The name of the item that checks, after a page's last cell, that nbval's kernel was the
#: Colab-like environment's (``make test`` sets ``DESCENT_COLAB_LIKE``; ``tests/colab_like.py``).
COLAB_LIKE_NAME = "ran in the Colab-like environment"


def _colab_like():
    """tests/colab_like.py, imported by path (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location("descent_colab_like", ROOT / "tests" / "colab_like.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _live_sliders():
    """tests/test_live_sliders.py, imported by path (the tests folder is not a package)."""
    path = ROOT / "tests" / "test_live_sliders.py"
    spec = importlib.util.spec_from_file_location("descent_live_sliders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The fixture book's notebooks are run by the builds of tests/test_editions.py, with their own
#: requirements (myst-nb's glue); they are not pages of the course, so nbval leaves them out.
collect_ignore = ["tests/data"]

#: The longest parts first, so that under pytest-xdist (which hands out test files and notebooks in
#: the order collected) neither worker is left with a long file at the end while the other idles:
#: the grader's sandbox runs, the browser, the notebooks (nbval), the claims over many seeds; then
#: the rest in their own order.
LONGEST_FIRST = ("tests/test_grading.py", "tests/test_site", "book/", "tests/test_part3_claims.py")
#: After the long parts and before the many short files: the checks of the PDFs, which ``make
#: test-all`` prints beside pytest's run (about four minutes, while the long parts run), so that
#: they find the PDFs printed and the short files still even out the workers' ends.
AFTER_THE_LONGEST = "tests/test_pdf.py"


def _rank(item: pytest.Item) -> int:
    if item.nodeid.startswith(AFTER_THE_LONGEST):
        return len(LONGEST_FIRST)
    return next((rank for rank, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
                len(LONGEST_FIRST) + 1)


#: Test files whose checks are parametrized by a page of the site: each page is a unit of its own.
BY_PAGE = ("tests/test_site.py", "tests/test_site_phone.py")


def work_unit(nodeid: str) -> str:
    """What pytest-xdist hands one worker as a whole: a notebook (nbval's cells share its kernel),
    a test file (its module fixtures are made once), or, in the browser checks, one page in one
    file (its checks share the page loaded once).

    >>> work_unit("book/ch03/saddles.ipynb::Cell 4")
    'book/ch03/saddles.ipynb'
    >>> work_unit("tests/test_grading.py::test_honest_work_gets_the_predicted_score[ch05]")
    'tests/test_grading.py'
    >>> work_unit("tests/test_site_phone.py::test_nothing_is_cut_off_on_a_phone[book/intro.html-320]")
    'tests/test_site_phone.py::book/intro.html'
    """
    path, _, rest = nodeid.partition("::")
    page = re.search(r"[\[-]([^\[\]-]*\.html)[\]-]", rest) if path in BY_PAGE else None
    return f"{path}::{page.group(1)}" if page else path


if importlib.util.find_spec("xdist"):
    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        """``--dist loadscope`` with ``work_unit`` as the scope. pytest-xdist's ``loadgroup`` would
        read ``xdist_group`` marks, but pytest 9 ignores the node ids it rewrites to carry them."""
        if config.getvalue("dist") != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ByWorkUnit(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return work_unit(nodeid)

        return ByWorkUnit(config, log)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
    _add_probes(config, items)
    items.sort(key=_rank)  # stable: each file's and notebook's own order is kept


def _add_probes(config: pytest.Config, items: list) -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    last_cell: dict = {}
    for index, item in enumerate(items):
        if isinstance(item, IPyNbCell):
            last_cell[item.parent] = index
    if not last_cell:
        return
    colab_like = os.environ.get("DESCENT_COLAB_LIKE")
    if colab_like:
        # every page: the kernel that ran it is the Colab-like environment's (tests/colab_like.py)
        probe = _colab_like().ENVIRONMENT_PROBE.format(venv=str(Path(colab_like).resolve() / "venv"))
        for notebook, index in sorted(last_cell.items(), key=lambda pair: -pair[1]):
            item = IPyNbCell.from_parent(notebook, name=COLAB_LIKE_NAME, cell_num=len(notebook.nb.cells),
                                         cell=nbformat.v4.new_code_cell(probe),
                                         options=defaultdict(bool, check=False))
            items.insert(index + 1, item)
        last_cell = {item.parent: index for index, item in enumerate(items) if isinstance(item, IPyNbCell)}
    sliders = _live_sliders()
    probed = set()
    # from the end, so that the indices still to come stay valid after each insertion
    for notebook, index in sorted(last_cell.items(), key=lambda pair: -pair[1]):
        if not sliders.has_slider(Path(str(notebook.path))):
            continue
        probe = IPyNbCell.from_parent(notebook, name=sliders.PROBE_NAME, cell_num=len(notebook.nb.cells),
                                      cell=sliders.probe_cell(), options=defaultdict(bool, check=False))
        items.insert(index + 1, probe)
        probed.add(Path(str(notebook.path)).resolve())
    # the stand-alone test of a page that nbval now probes would execute the page a second time
    repeated = [item for item in items if item.nodeid.startswith("tests/test_live_sliders.py::")
                and getattr(item, "originalname", "") == sliders.STANDALONE
                and {page.resolve() for page in sliders.slider_pages(item.callspec.params["path"])} <= probed]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if item not in repeated]


_by_function: dict[str, float] = defaultdict(float)
_durations: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_started = time.monotonic()


def _part(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        return "nbval"
    return next((name for name, files in PARTS if path in files), "rest")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    part = _part(report.nodeid)
    _durations[part] += report.duration
    _by_function[report.nodeid.split("[", 1)[0] if part != "nbval" else "nbval"] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        _counts[part] += 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _durations or hasattr(config, "workerinput"):  # xdist's workers report to the controller
        return
    wall = time.monotonic() - _started
    terminalreporter.section("time by part (summed test durations; parts overlap under -n)")
    for part, seconds in sorted(_durations.items(), key=lambda pair: -pair[1]):
        terminalreporter.write_line(f"{part:10s} {seconds:7.1f} s  {_counts[part]:5d} tests")
    terminalreporter.write_line(f"{'wall':10s} {wall:7.1f} s")
    terminalreporter.write_line("the longest tests, all their parameters together:")
    for name, seconds in sorted(_by_function.items(), key=lambda pair: -pair[1])[:12]:
        terminalreporter.write_line(f"  {seconds:7.1f} s  {name}")
    target = os.environ.get("DESCENT_TIMINGS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            for part, seconds in _durations.items():
                out.write(f"{os.environ.get('DESCENT_TIMINGS_PHASE', 'pytest')}:{part}\t{seconds:.1f}\n")
