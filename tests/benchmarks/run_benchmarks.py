"""Benchmarks of the course, printed as numbers (never asserted in a test).

    .venv/bin/python tests/benchmarks/run_benchmarks.py [sweep] [sliders] [build]

* sweep:   1,000 learning rates x 1,000 steps of each optimizer on the wiggly function, as one
           vectorised lessons_src call, against a Python loop over torch.optim (20 runs timed,
           scaled to 1,000).
* sliders: latency from a slider change to a redrawn figure in a live kernel, for the first
           slider of every chapter: median and 95th percentile over 50 changes.
* build:   the whole strict book build, and each notebook executed alone (static sliders).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lessons_src import (  # noqa: E402
    AdaGrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    RMSProp,
    Wiggly,
    run,
)

RUNS, STEPS, TORCH_RUNS = 1000, 1000, 20


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sweep() -> None:
    """Vectorised lessons_src sweep against a loop over torch.optim."""
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: only the lessons_src side is timed")
    wiggly = Wiggly()
    rates = np.geomspace(1e-4, 1.0, RUNS)
    cases = {
        "gd": (lambda: GradientDescent(lr=rates), "SGD", {}),
        "momentum": (lambda: Momentum(lr=rates, beta=0.9), "SGD", {"momentum": 0.9}),
        "nesterov": (lambda: Nesterov(lr=rates, beta=0.9), "SGD", {"momentum": 0.9, "nesterov": True}),
        "adagrad": (lambda: AdaGrad(lr=rates), "Adagrad", {}),
        "rmsprop": (lambda: RMSProp(lr=rates, rho=0.99), "RMSprop", {"alpha": 0.99}),
        "adam": (lambda: Adam(lr=rates), "Adam", {}),
    }
    print(f"\n## Sweep: {RUNS} learning rates x {STEPS} steps on the wiggly function")
    print(f"{'optimizer':<10} {'lessons_src (s)':>16} {'torch loop (s, est.)':>22} {'ratio':>9}")
    for name, (make, torch_name, kwargs) in cases.items():
        ours = best_of(lambda make=make: run(wiggly, make(), -20.0, STEPS))
        theirs = float("nan")
        if torch is not None:
            theirs = torch_loop(torch, torch_name, kwargs, rates[:TORCH_RUNS]) * RUNS / TORCH_RUNS
        print(f"{name:<10} {ours:>16.3f} {theirs:>22.1f} {theirs / ours:>8.0f}x")


def torch_loop(torch, name: str, kwargs: dict, rates: np.ndarray) -> float:
    """Seconds for len(rates) separate torch.optim runs with autograd, as a reader would write them."""
    torch.set_num_threads(1)

    def f(x):
        return ((0.15 * x) ** 2 + torch.cos(x) + torch.sin(3 * x) / 3
                + torch.cos(5 * x) / 5 + torch.sin(7 * x) / 7)

    start = time.perf_counter()
    for lr in rates:
        x = torch.tensor([-20.0], dtype=torch.float64, requires_grad=True)
        optimizer = getattr(torch.optim, name)([x], lr=float(lr), **kwargs)
        for _ in range(STEPS):
            optimizer.zero_grad()
            f(x).sum().backward()
            optimizer.step()
    return time.perf_counter() - start


SLIDER_PROBE = r"""
import json, time
import ipywidgets as widgets
from ipywidgets.widgets.widget import _instances
slider = next(w for w in _instances.values() if isinstance(w, widgets.SelectionSlider))
times = []
for i in range(50):
    start = time.perf_counter()
    slider.index = (slider.index + 1) % len(slider.options)
    times.append(time.perf_counter() - start)
print("LATENCY", json.dumps({"label": slider.description, "times": times}))
"""


def sliders() -> None:
    """Slider latency in a live kernel: the first slider of each chapter, 50 changes."""
    import nbformat
    from nbclient import NotebookClient

    print("\n## Slider latency (live kernel, first slider of each chapter, 50 changes)")
    print(f"{'chapter':<28} {'slider':<34} {'median (ms)':>12} {'p95 (ms)':>10}")
    env_mode = os.environ.pop("DESCENT_SLIDERS", None)
    os.environ["DESCENT_SLIDERS"] = "live"
    try:
        for path in sorted((ROOT / "book").glob("ch*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            notebook.cells.append(nbformat.v4.new_code_cell(SLIDER_PROBE))
            client = NotebookClient(notebook, timeout=300,
                                    resources={"metadata": {"path": str(path.parent)}})
            client.execute()
            text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
            line = next((x for x in text.splitlines() if x.startswith("LATENCY ")), None)
            if line is None:
                print(f"{path.stem:<28} (no slider)")
                continue
            data = json.loads(line.removeprefix("LATENCY "))
            ms = np.array(data["times"]) * 1000
            print(f"{path.stem:<28} {data['label']:<34} {statistics.median(ms):>12.1f} "
                  f"{np.percentile(ms, 95):>10.1f}")
    finally:
        os.environ.pop("DESCENT_SLIDERS", None)
        if env_mode is not None:
            os.environ["DESCENT_SLIDERS"] = env_mode


def build() -> None:
    """The strict book build from scratch, and each notebook executed alone."""
    import nbformat
    from nbclient import NotebookClient

    print("\n## Book build")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        start = time.perf_counter()
        subprocess.run([str(jupyter_book), "build", "-W", "-n", "--keep-going", str(ROOT),
                        "--path-output", str(out)], check=True, capture_output=True)
        total = time.perf_counter() - start
        shutil.rmtree(out, ignore_errors=True)
    print(f"whole build (execute + HTML): {total:.1f} s")
    os.environ["DESCENT_SLIDERS"] = "static"
    rows = []
    for path in sorted((ROOT / "book").glob("ch*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=300,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        rows.append((time.perf_counter() - start, path.stem))
    for seconds, name in rows:
        print(f"  {name:<28} {seconds:6.1f} s (executed alone, static sliders, incl. kernel start)")
    slowest = max(rows)
    print(f"slowest notebook: {slowest[1]} ({slowest[0]:.1f} s)")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["sweep", "sliders", "build"]
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, python {sys.version.split()[0]}")
    for part in chosen:
        {"sweep": sweep, "sliders": sliders, "build": build}[part]()
