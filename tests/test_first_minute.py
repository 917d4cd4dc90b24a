"""The learner's first minute (issue 20): the Jupyter editions' setup cell and live sliders.

* The setup cell (``book/_ext/editions.py``, ``setup_cell``) does nothing where ``lessons_src``
  is importable, and where it cannot be installed (no git here; offline or no pip elsewhere)
  prints one line saying what to do, with no traceback.
* A live slider given a number between its values moves to the nearest one (no ``TraitError``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib.figure import Figure

from lessons_src.viz.sliders import Slider, interact

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import editions  # noqa: E402


def _cell() -> str:
    return editions.setup_cell("book/ch01_step_too_far")


def test_setup_cell_is_silent_where_the_package_is_importable():
    run = subprocess.run([sys.executable, "-c", _cell()], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run


def test_setup_cell_says_what_to_do_without_git(tmp_path):
    empty = tmp_path / "bin"  # a PATH with no git on it, and a folder where lessons_src is absent
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": ""}
    # the interpreter the virtual environment was made from: it has no lessons_src
    python = getattr(sys, "_base_executable", sys.executable)
    run = subprocess.run([python, "-I", "-c", _cell()], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    if "lessons_src is not installed" not in run.stdout:
        pytest.skip("lessons_src is installed in this interpreter's site-packages, not only in the clone")
    assert run.returncode == 0 and run.stderr == "", run
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert "git is not installed" in lines[0]
    assert "pip install -r requirements.txt" in lines[0] and "mybinder.org/v2/gh/" in lines[0]


def test_live_slider_snaps_to_the_nearest_value():
    fig = Figure()
    (line,) = fig.add_subplot().plot([0, 1], [0, 1])
    box = interact(fig, lambda eta: line.set_ydata([0, eta]), mode="live",
                   eta=Slider([0.1, 0.25, 0.5], "step size η"))
    slider = box.sliders[0]
    slider.value = 0.3
    assert (slider.value, slider.index) == (0.25, 1)
    slider.value = 0.45
    assert (slider.value, slider.index) == (0.5, 2)
