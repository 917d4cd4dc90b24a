"""The Colab-like environment, where nbval runs every page of the book in ``make test``.

A virtual environment with only what Colab brings (numpy, matplotlib, ipywidgets, ipykernel, at
the versions ``requirements.txt`` pins) and the course's package, installed with pip from a copy
of the repository's files as the notebooks' install cell does from the repository's address (not
editable, with its own dependencies). A Jupyter kernel, ``descent-colab-like``, runs in it
isolated (``python -I``: no ``PYTHONPATH``, no user site, not the working folder), so a page can
reach nothing of the repository's development environment: no Sphinx, no pytest, no PyTorch, and
``lessons_src`` only as pip installed it.

``python tests/colab_like.py FOLDER`` (``make test``: ``_build/colab-like``) makes the environment
in ``FOLDER/venv`` and the kernel's spec in ``FOLDER/jupyter``; run again, it reinstalls only what
changed (the pins, or the package's files). ``make test`` then runs nbval with
``--nbval-kernel-name descent-colab-like`` and ``JUPYTER_PATH=FOLDER/jupyter``, and ``conftest.py``
adds to every page's run a cell (:data:`ENVIRONMENT_PROBE`) that fails unless the kernel is this
environment's. A page's Jupyter edition carries the page's code cells unchanged after its
install cell (``tests/test_colab.py`` checks it), so nbval's run is the edition's run too.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What Colab brings that the course needs; everything else a page imports comes with lessons_src.
COLAB_BRINGS = ("numpy", "matplotlib", "ipywidgets", "ipykernel")
KERNEL = "descent-colab-like"
#: Checks, in the kernel that has just run a page, that it is the Colab-like environment's.
ENVIRONMENT_PROBE = r"""
import importlib.util
import sys
import lessons_src

venv = {venv!r}
assert sys.prefix == venv, f"the page ran in {{sys.prefix}}, not in the Colab-like environment {{venv}}"
assert lessons_src.__file__.startswith(venv), f"lessons_src came from {{lessons_src.__file__}}"
reachable = [name for name in ("sphinx", "pytest", "torch", "myst_nb") if importlib.util.find_spec(name)]
assert not reachable, f"the Colab-like kernel can import the development environment's {{reachable}}"
"""


def pins(root: Path = ROOT) -> list[str]:
    """Colab's packages at the versions the book pins in requirements.txt.

    >>> [pin.split("==")[0] for pin in pins()]
    ['numpy', 'matplotlib', 'ipywidgets', 'ipykernel']
    """
    text = (root / "requirements.txt").read_text(encoding="utf-8")
    found = []
    for name in COLAB_BRINGS:
        match = re.search(rf"^{name}==\S+", text, re.M | re.I)
        found.append(match.group(0) if match else name)
    return found


def package_digest(root: Path = ROOT) -> str:
    """A digest of the files pip installs: ``pyproject.toml``, ``LICENSE`` and ``lessons_src`` (no
    caches)."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", root / "LICENSE", *sorted((root / "lessons_src").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"pip {' '.join(args)} failed in the Colab-like environment:\n"
                         f"{result.stderr[-2000:]}")


def prepare(folder: Path, root: Path = ROOT) -> Path:
    """Make (or bring up to date) the environment in ``folder``; return its ``venv`` folder."""
    folder = folder.resolve()
    venv, python = folder / "venv", folder / "venv" / "bin" / "python"
    wanted = "\n".join(pins(root)) + "\n"
    stamp = folder / "pins.txt"
    if not python.is_file() or not stamp.is_file() or stamp.read_text(encoding="utf-8") != wanted:
        shutil.rmtree(venv, ignore_errors=True)
        (folder / "package.sha256").unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _pip(python, "install", "--quiet", *pins(root))
        stamp.write_text(wanted, encoding="utf-8")
    digest = package_digest(root)
    installed = folder / "package.sha256"
    if not installed.is_file() or installed.read_text(encoding="utf-8").strip() != digest:
        copy = folder / "repository"
        shutil.rmtree(copy, ignore_errors=True)
        copy.mkdir()
        for name in ("pyproject.toml", "LICENSE"):  # LICENSE: pyproject.toml's license-files
            shutil.copyfile(root / name, copy / name)
        shutil.copytree(root / "lessons_src", copy / "lessons_src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "lessons_src"],
                       capture_output=True, check=False)
        _pip(python, "install", "--quiet", f"lessons_src @ {copy.as_uri()}")
        installed.write_text(digest + "\n", encoding="utf-8")
    spec = folder / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}, indent=1) + "\n", encoding="utf-8")
    return venv


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/colab_like.py FOLDER")
    venv = prepare(Path(sys.argv[1]))
    print(f"Colab-like environment: {venv} (kernel {KERNEL})")


if __name__ == "__main__":
    main()
