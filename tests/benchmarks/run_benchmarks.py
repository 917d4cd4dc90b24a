"""Benchmarks of the course, printed as numbers (never asserted in a test).

    .venv/bin/python tests/benchmarks/run_benchmarks.py [sweep] [sliders] [build] [import] [curvature]

* sweep:   1,000 learning rates x 1,000 steps of Adam on the wiggly function: the lessons_src call
           beside a hand-written numpy loop doing the same arithmetic in the same process (the
           floor: what a reader who sweeps would write by hand), with a check that both end at the
           same points; where jax and optax are installed (``pip install -e .[bench]``), also
           optax's Adam under ``jax.vmap`` and ``lax.scan``, compiled and on its first call.
           Then the other optimizers' sweeps, lessons_src alone.
* sliders: latency from a slider change to a redrawn figure in a live kernel, for the first
           slider of every chapter: median and 95th percentile over 50 changes (a chapter with
           no slider says so).
* build:   the whole strict book build, and each notebook executed alone (static sliders).
* import:  ``import lessons_src`` in a fresh interpreter, and what it costs beyond numpy.
* curvature: chapter 15's perceptron (200 digits, 16 tanh units, four step sizes): the loss of a
           whole 1,500-step trajectory a block of points at a time (``value``) beside all of it in
           one piece, and a Hessian-vector product at a fixed point by ``hvp_at`` (the forward
           pass once) beside ``hvp`` (the forward pass every time), each with a check that both
           give the same bits; and one tight sharpness estimate.
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
from collections.abc import Callable
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

RUNS, STEPS, REPEATS = 1000, 1000, 25
START = -20.0


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """The fastest wall-clock time of ``repeats`` calls."""
    return min(timed(fn)[0] for _ in range(repeats))


def adam_floor(rates: np.ndarray, beta1: float = 0.9, beta2: float = 0.999,
               eps: float = 1e-8) -> np.ndarray:
    """Adam on the wiggly function for every learning rate at once, written by hand in numpy:
    the same arithmetic as lessons_src (bias-corrected moments, ε outside the root), no
    recording, no divergence checks. The final points, shape ``(runs, 1)``."""
    b1, b2, eps_ = np.array([beta1]), np.array([beta2]), np.array([eps])  # as the package holds them
    lr = rates[:, None]
    x = np.full((len(rates), 1), START)
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, STEPS + 1):
        g = 0.045 * x - np.sin(x) + np.cos(3 * x) - np.sin(5 * x) + np.cos(7 * x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps_)
    return x


def optax_sweep(rates: np.ndarray) -> dict[str, object] | str:
    """optax's Adam under jax.vmap (the runs) and lax.scan (the steps), float64, recording the
    trajectory as lessons_src does: first-call and compiled seconds, final points. A string
    says why it was skipped."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError as error:
        return f"jax/optax not installed ({error.name}): pip install -e '.[bench]' to compare"
    jax.config.update("jax_enable_x64", True)

    def f(x):
        return ((0.15 * x) ** 2 + jnp.cos(x) + jnp.sin(3 * x) / 3 + jnp.cos(5 * x) / 5
                + jnp.sin(7 * x) / 7).sum()

    def one_run(lr):
        optimizer = optax.adam(lr)
        x = jnp.full((1,), START)

        def body(carry, _):
            x, state = carry
            updates, state = optimizer.update(jax.grad(f)(x), state, x)
            x = optax.apply_updates(x, updates)
            return (x, state), x

        (x, _), path = jax.lax.scan(body, (x, optimizer.init(x)), None, length=STEPS)
        return x, path

    sweep = jax.jit(jax.vmap(one_run))
    lrs = jnp.asarray(rates)
    first = best_of(lambda: jax.block_until_ready(sweep(lrs)), repeats=1)
    compiled = best_of(lambda: jax.block_until_ready(sweep(lrs)), repeats=REPEATS)
    final = np.asarray(sweep(lrs)[0])
    return {"first": first, "compiled": compiled, "final": final,
            "versions": f"jax {jax.__version__}, optax {optax.__version__}"}


def sweep() -> None:
    """The Adam sweep against the numpy floor (and optax where installed), then the others."""
    wiggly = Wiggly()
    rates = np.geomspace(1e-4, 1.0, RUNS)
    print(f"\n## Sweep: {RUNS} learning rates x {STEPS} steps of Adam on the wiggly function")
    ours_times, floor_times = [], []
    for _ in range(REPEATS):  # interleaved, so that both see the same machine
        ours_times.append(timed(lambda: run(wiggly, Adam(lr=rates), START, STEPS)))
        floor_times.append(timed(lambda: adam_floor(rates)))
    ours = run(wiggly, Adam(lr=rates), START, STEPS).final
    floor = adam_floor(rates)
    same = np.array_equal(ours, floor, equal_nan=True)
    gap = float(np.nanmax(np.abs(ours - floor)))
    (ours_wall, ours_cpu), (floor_wall, floor_cpu) = (
        tuple(min(column) for column in zip(*times, strict=True)) for times in (ours_times, floor_times))
    print(f"best of {REPEATS}, interleaved   {'wall (s)':>9} {'CPU (s)':>9}")
    print(f"{'lessons_src run(...)':<28} {ours_wall:>9.4f} {ours_cpu:>9.4f}"
          "   (keeps all 1,001 x 1,000 points)")
    print(f"{'numpy loop by hand':<28} {floor_wall:>9.4f} {floor_cpu:>9.4f}   (final points only)")
    print(f"lessons_src / numpy loop: {ours_wall / floor_wall:.2f}x wall, {ours_cpu / floor_cpu:.2f}x CPU"
          f" (target <= 1.2x)")
    print(f"final points: {'identical' if same else 'DIFFER'} (max |difference| {gap:.1e})")
    if not np.allclose(ours, floor, rtol=1e-12, atol=1e-12, equal_nan=True):
        raise SystemExit("the package and the numpy loop disagree: the comparison is void")

    result = optax_sweep(rates)
    if isinstance(result, str):
        print(f"optax: skipped, {result}")
    else:
        agree = np.abs(result["final"] - floor) <= 1e-8 * (1 + np.abs(floor))
        print(f"{'optax + vmap + scan, compiled':<28} {result['compiled']:>9.4f}"
              f"   (best of {REPEATS}; {result['versions']}, float64)")
        print(f"{'optax + vmap + scan, 1st call':<28} {result['first']:>9.4f}"
              "   (tracing and compiling included)")
        print(f"optax's final points: {agree.mean():.1%} of runs within 1e-8 of the numpy loop "
              f"(max |difference| {float(np.nanmax(np.abs(result['final'] - floor))):.1e}; "
              f"autodiff's gradient rounds differently)")

    print(f"\nother optimizers, {RUNS} x {STEPS}, lessons_src alone (best of 5):")
    for name, make in {
        "gd": lambda: GradientDescent(lr=rates),
        "momentum": lambda: Momentum(lr=rates, beta=0.9),
        "nesterov": lambda: Nesterov(lr=rates, beta=0.9),
        "adagrad": lambda: AdaGrad(lr=rates),
        "rmsprop": lambda: RMSProp(lr=rates, rho=0.99),
    }.items():
        seconds = best_of(lambda make=make: run(wiggly, make(), START, STEPS))
        print(f"  {name:<10} {seconds:.4f} s")


def import_time() -> None:
    """``import lessons_src`` in fresh interpreters: the whole import, and beyond numpy alone."""
    probe = ("import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
             "import lessons_src; t2 = time.perf_counter(); import sys; "
             "print(t2 - t0, t2 - t1, 'matplotlib.pyplot' in sys.modules, 'ipywidgets' in sys.modules)")
    rows = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           cwd=ROOT).stdout.split() for _ in range(11)]
    totals, beyond = [float(r[0]) for r in rows], [float(r[1]) for r in rows]
    print("\n## import lessons_src (fresh interpreters, 11 of them)")
    print(f"numpy and lessons_src: median {statistics.median(totals):.3f} s, best {min(totals):.3f} s "
          f"(target < 0.15 s); lessons_src beyond numpy: median {statistics.median(beyond):.3f} s")
    print(f"pyplot loaded: {rows[0][2]}, ipywidgets loaded: {rows[0][3]}")


SLIDER_PROBE = r"""
import json, time
import ipywidgets as widgets
from ipywidgets.widgets.widget import _instances
slider = next((w for w in _instances.values() if isinstance(w, widgets.SelectionSlider)), None)
if slider is not None:  # a chapter page without a slider prints nothing
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
    from nbclient.exceptions import CellExecutionError

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
            try:
                client.execute()
            except CellExecutionError as error:  # report the chapter, time the others
                print(f"{path.stem:<28} (the notebook failed: {error.ename}: {error.evalue})")
                continue
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


def curvature() -> None:
    from lessons_src import sharpness
    from lessons_src.objectives import MLP, load_digits

    digits = load_digits()
    images = digits.images[:200]
    model = MLP(images - images.mean(axis=0), digits.labels[:200], hidden=16, loss="squared")
    points = 0.3 * np.random.default_rng(0).normal(size=(1501, 4, model.dim))
    blocks, whole = model.value(points), model._value(points)
    print(f"loss of a 1,501 x 4 trajectory: {best_of(lambda: model.value(points), 3):.3f} s in blocks, "
          f"{best_of(lambda: model._value(points), 3):.3f} s in one piece "
          f"(same bits: {np.array_equal(blocks, whole)})")
    theta, vector = points[700], np.random.default_rng(1).normal(size=(4, model.dim))
    product = model.hvp_at(theta)
    same = np.array_equal(product(vector), model.hvp(theta, vector))
    fixed = best_of(lambda: [product(vector) for _ in range(200)], 3) / 200
    fresh = best_of(lambda: [model.hvp(theta, vector) for _ in range(200)], 3) / 200
    print(f"Hessian-vector product, batch of 4: {1e3 * fixed:.3f} ms by hvp_at, {1e3 * fresh:.3f} ms "
          f"by hvp (same bits: {same})")
    wall = best_of(lambda: sharpness(model, theta, tol=1e-6, max_iter=1000), 3)
    estimate = sharpness(model, theta, tol=1e-6, max_iter=1000)
    print(f"one tight sharpness estimate (tol 1e-6): {wall:.3f} s, {estimate.iterations} products")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["sweep", "import", "sliders", "build"]
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, python {sys.version.split()[0]}")
    for part in chosen:
        {"sweep": sweep, "sliders": sliders, "build": build, "import": import_time,
         "curvature": curvature}[part]()
