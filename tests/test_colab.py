"""Every full edition runs where a learner runs it: Colab, or a plain Jupyter.

A fresh virtual environment gets only what Colab brings (numpy, matplotlib, ipywidgets,
ipykernel, at the book's pinned versions, from the pip cache or the registry) and then the
course's package, installed with pip from a copy of the repository's files, as the notebooks'
install cell does from the repository's URL. Each full edition in ``_build/notebooks/full`` runs
top to bottom in a kernel of that environment with live sliders (``DESCENT_SLIDERS`` unset), in
a folder outside the repository; then one slider per chapter is moved and must redraw its figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import editions  # noqa: E402

FULL = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build")) / "notebooks" / "full"
COLAB_BRINGS = ("numpy", "matplotlib", "ipywidgets", "ipykernel")
KERNEL = "descent-colab-like"
EDITIONS = [FULL / f"{editions.edition_name(d, ROOT)}.ipynb" for d in editions.notebook_pages(ROOT)]

#: Moves the first slider of the chapter and reports whether its figure changed.
PROBE = r"""
import json
import sys
import ipywidgets as widgets
import lessons_src
from ipywidgets.widgets.widget import _instances

def holds(box, target):
    return any(child is target or holds(child, target) for child in getattr(box, "children", ()))


sliders = [w for w in list(_instances.values()) if isinstance(w, widgets.SelectionSlider)]
report = {"sliders": len(sliders), "prefix": sys.prefix, "package": lessons_src.__file__}
if sliders:
    slider = sliders[0]
    output = next(w for w in list(_instances.values())
                  if isinstance(w, widgets.VBox) and holds(w, slider)).children[-1]
    before = output.outputs[0]["data"]["image/png"]
    slider.index = (slider.index + 1) % len(slider.options)
    report["slider"] = slider.description
    report["changed"] = output.outputs[0]["data"]["image/png"] != before
print("PROBE", json.dumps(report))
"""


def _name(path: Path) -> str:
    """``ch04/minibatch_noise``: an edition's path below the editions' folder, without suffix."""
    return path.relative_to(FULL).with_suffix("").as_posix()


def _pins() -> list[str]:
    """Colab's packages at the versions the book pins in requirements.txt."""
    text = (ROOT / "requirements.txt").read_text()
    pins = []
    for name in COLAB_BRINGS:
        match = re.search(rf"^{name}==\S+", text, re.M | re.I)
        pins.append(match.group(0) if match else name)
    return pins


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data folder whose one kernel runs in the Colab-like environment."""
    if not FULL.is_dir():
        pytest.skip("no editions in _build/notebooks/full: run `make book` first")
    base = tmp_path_factory.mktemp("colab")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", *_pins()],
                               capture_output=True, text=True, check=False)
    if installed.returncode != 0:
        pytest.skip(f"cannot install Colab's packages from the registry: {installed.stderr[-500:]}")
    package = base / "repository"
    package.mkdir()
    shutil.copyfile(ROOT / "pyproject.toml", package / "pyproject.toml")
    shutil.copytree(ROOT / "lessons_src", package / "lessons_src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet",
                                f"lessons_src @ {package.as_uri()}"],
                               capture_output=True, text=True, check=False)
    assert installed.returncode == 0, f"pip install of the repository failed:\n{installed.stderr}"
    spec = base / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return base


async def _run(paths: list[Path], base: Path, parallel: int = 2) -> dict[str, dict | str]:
    """Execute the editions (with the probe appended), ``parallel`` kernels at a time; the
    probe's report for each, or the error it stopped with."""
    gate = asyncio.Semaphore(parallel)

    async def one(path: Path) -> dict | str:
        async with gate:
            workdir = base / "content" / _name(path).replace("/", "-")
            workdir.mkdir(parents=True)
            notebook = nbformat.read(path, as_version=4)
            notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
            client = NotebookClient(notebook, timeout=300, kernel_name=KERNEL,
                                    resources={"metadata": {"path": str(workdir)}})
            try:
                await client.async_execute()
            except Exception as exc:  # reported by the chapter's test
                return re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")[-3000:]
            text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
            return json.loads(text.split("PROBE ", 1)[1])

    reports = await asyncio.gather(*(one(path) for path in paths))
    return {_name(path): report for path, report in zip(paths, reports, strict=True)}


@pytest.fixture(scope="module")
def reports(colab_like: Path) -> dict[str, dict | str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DESCENT_SLIDERS", raising=False)
        patch.delenv("PYTHONPATH", raising=False)
        patch.setenv("JUPYTER_PATH", str(colab_like / "jupyter"))
        return asyncio.run(_run(EDITIONS, colab_like))


@pytest.mark.parametrize("path", EDITIONS, ids=lambda p: _name(p))
def test_the_full_edition_runs_in_a_colab_like_environment(path, colab_like, reports):
    report = reports[_name(path)]
    assert isinstance(report, dict), f"{path.name} stopped with an error:\n{report}"
    venv = str(colab_like / "venv")
    assert report["prefix"] == venv and report["package"].startswith(venv), report
    if report["sliders"]:
        assert report["changed"], f"moving the slider {report['slider']!r} did not redraw its figure"
    else:
        source = "".join(c.source for c in nbformat.read(path, as_version=4).cells)
        assert "interact(" not in source, "the chapter's sliders did not appear"
