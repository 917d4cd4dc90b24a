"""Every full edition runs where a learner runs it: Colab, or a plain Jupyter.

The run itself is nbval's: ``make test`` runs every page of the book in the Colab-like kernel
(``tests/colab_like.py``: only Colab's packages, and the course's package installed by pip from a
copy of the repository's files, with no path back to the repository), with live sliders, and
``conftest.py`` checks after each page that the kernel was that environment's and that every
slider redraws. What this file checks is what makes that run the edition's run too:

* each full edition in ``_build/notebooks/full`` holds the page's code cells, unchanged and in
  order, after its install cell, which is the one ``book/_ext/editions.py`` makes from
  ``_config.yml``; so the edition runs in Colab exactly when the page runs in the Colab-like kernel;
* the install cell does nothing where ``lessons_src`` is installed, and where it is not and cannot
  be installed it says what to do, without a traceback;
* the environment holds Colab's packages at the pinned versions and ``lessons_src`` as pip
  installed it, and its kernel cannot import the development environment's packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tests"))
import colab_like  # noqa: E402
import editions  # noqa: E402

FULL = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build")) / "notebooks" / "full"
PAGES = editions.notebook_pages(ROOT)


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Colab-like environment nbval used (``DESCENT_COLAB_LIKE``), or a new one."""
    folder = os.environ.get("DESCENT_COLAB_LIKE")
    if folder:
        return colab_like.prepare(Path(folder))
    try:
        return colab_like.prepare(tmp_path_factory.mktemp("colab-like"))
    except SystemExit as error:
        pytest.skip(f"cannot install Colab's packages from the registry: {error}")


def _code(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("docname", PAGES)
def test_the_full_edition_carries_the_page_code_after_its_install_cell(docname):
    edition_path = FULL / f"{editions.edition_name(docname, ROOT)}.ipynb"
    if not edition_path.is_file():
        pytest.skip(f"no edition {edition_path.name} in {FULL}: run `make book` first")
    page = _code(nbformat.read(ROOT / f"{docname}.ipynb", as_version=4))
    edition = _code(nbformat.read(edition_path, as_version=4))
    assert edition[0] == editions.setup_cell(docname), "the first code cell is not the install cell"
    assert edition[1:] == page[1:], "the edition's code differs from the page's, which nbval ran"


def _run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, timeout=300, check=False)


def test_the_install_cell_leaves_an_installed_package_alone(environment, tmp_path):
    """Where lessons_src is installed (a re-run in Colab, or after the cell's first run) the cell
    only imports it: it calls no pip and prints nothing."""
    python = environment / "bin" / "python"
    cell = editions.setup_cell(PAGES[0])
    probe = ("import subprocess\ncalls = []\nsubprocess.run = lambda *a, **k: calls.append(a)\n"
             f"{cell}\nprint('CALLS', len(calls))\n")
    result = _run(python, probe, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "CALLS 0", result.stdout


def test_the_install_cell_says_what_to_do_where_it_cannot_install(environment, tmp_path):
    """With no lessons_src and no network (git or pip failing), the cell names the way out and
    the Binder address, and raises nothing."""
    python = environment / "bin" / "python"
    docname = PAGES[0]
    cell = editions.setup_cell(docname)
    fail = ("import subprocess, sys\nclass Done:\n    returncode = 1\n    stderr = 'offline'\n"
            "subprocess.run = lambda *a, **k: Done()\nsys.modules['lessons_src'] = None\n")
    result = _run(python, fail + cell, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot be installed here" in result.stdout and "pip install -r requirements.txt" in result.stdout
    assert "mybinder.org" in result.stdout and editions.edition_name(docname, ROOT) in result.stdout


def test_the_environment_holds_colabs_packages_and_the_installed_package(environment, tmp_path):
    python = environment / "bin" / "python"
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], capture_output=True,
                            text=True, check=True)
    versions = {entry["name"].lower(): entry["version"] for entry in json.loads(listed.stdout)}
    for pin in colab_like.pins():
        name, _, version = pin.partition("==")
        assert versions.get(name.lower()) == version, (pin, versions.get(name.lower()))
    assert "lessons-src" in versions or "lessons_src" in versions
    probe = colab_like.ENVIRONMENT_PROBE.format(venv=str(environment))
    result = _run(python, probe, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    spec_file = environment.parent / "jupyter" / "kernels" / colab_like.KERNEL / "kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    assert spec["argv"][:2] == [str(python), "-I"], spec


def test_the_environment_probe_fails_outside_the_environment(environment, tmp_path):
    """The check nbval runs after every page can fail: in the development environment it does."""
    probe = colab_like.ENVIRONMENT_PROBE.format(venv=str(environment))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300, check=False)
    assert result.returncode != 0 and "not in the Colab-like environment" in result.stderr
