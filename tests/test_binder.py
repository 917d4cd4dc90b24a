"""Binder builds what the course needs, on the Python CI tests.

``jupyter-repo2docker --no-build --debug`` (what mybinder.org runs, without Docker) prints the
Dockerfile it would build; read it for a clean copy of the repository and for the `notebooks`
branch that the launch buttons open (laid out from the last build, when there is one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import editions  # noqa: E402

REPO2DOCKER = shutil.which("jupyter-repo2docker", path=str(Path(sys.executable).parent)) or \
    shutil.which("jupyter-repo2docker")
pytestmark = pytest.mark.skipif(
    REPO2DOCKER is None, reason="jupyter-repo2docker is not installed: pip install -r tests/requirements.txt")


def clean_copy(target: Path) -> Path:
    """The repository's files as a fresh clone would have them (tracked or new, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)
    return target


def dockerfile(repo: Path) -> tuple[str, str]:
    result = subprocess.run([REPO2DOCKER, "--no-build", "--debug", str(repo)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def requirement_lines(path: Path) -> list[str]:
    """Every requirement of a pip requirements file, following ``-r`` includes."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(path.parent / line[3:].strip())
        elif line:
            lines.append(line)
    return lines


def check_binder(repo: Path) -> None:
    text, log = dockerfile(repo)
    runtime = (repo / ".binder" / "runtime.txt").read_text().strip()
    tested = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert runtime == f"python-{tested}", "Binder must run the Python the tests run on"
    assert "Python version unspecified" not in log + text
    assert f"python={tested}" in log + text
    copy_all = text.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    install = re.search(r"RUN \$\{KERNEL_PYTHON_PREFIX\}/bin/pip install --no-cache-dir "
                        r'-r "\.binder/requirements\.txt"', text)
    assert install is not None, "repo2docker does not install .binder/requirements.txt"
    assert install.start() > copy_all, "the requirements must install after the whole repository is copied"
    wanted = requirement_lines(repo / ".binder" / "requirements.txt")
    assert "-e ." in wanted, "Binder must install the course's package"
    assert any(line.startswith("jupyterlab==") for line in wanted)
    book = requirement_lines(repo / "requirements.txt")
    assert set(book) <= set(wanted), "Binder must install the book's requirements"
    assert (repo / "pyproject.toml").is_file() and (repo / "lessons_src" / "__init__.py").is_file()


def test_binder_on_a_clean_copy_of_the_repository(tmp_path):
    check_binder(clean_copy(tmp_path))


def test_binder_on_the_notebooks_branch(tmp_path):
    build = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build"))
    if not (build / "notebooks" / "full").is_dir():
        pytest.skip("no editions in _build/notebooks: run `make book` first")
    editions.lay_out_branch(build, tmp_path, ROOT)
    check_binder(tmp_path)
    for docname in editions.notebook_pages(ROOT):
        assert (tmp_path / f"{docname}.ipynb").is_file()
