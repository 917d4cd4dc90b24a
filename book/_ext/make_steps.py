"""Small steps of the Makefile: time a step, print where `make test`'s time went, and keep the
execution cache only while what the notebooks import is unchanged.

    python book/_ext/make_steps.py start _build/timings.tsv
    python book/_ext/make_steps.py timed _build/timings.tsv build -- jupyter-book build ...
    python book/_ext/make_steps.py report _build/timings.tsv
    python book/_ext/make_steps.py cache-inputs _build
    .venv/bin/python book/_ext/make_steps.py execute _build/.jupyter_cache book/ch01_step_too_far.ipynb ...

``cache-inputs``: jupyter-cache keys a notebook's stored run on its code cells only, and Sphinx
re-reads only the pages whose source changed, so after a change to ``lessons_src`` (or to the
pinned requirements, or to the build extension that sets the kernels' environment) both would
serve runs made with the old code. The step hashes those inputs and, when the hash differs from
the last build's, removes the execution cache and both sites' Sphinx environments, so the next
build executes every notebook again; otherwise the build reuses every stored run and executes
nothing.
``execute``: the notebooks missing from the execution cache, run two at a time (the build runs
them one after another) with the function and settings myst-nb's cache mode uses
(``single_nb_execution`` in the notebook's folder, ``execute.timeout`` of ``_config.yml``, no
errors allowed, ``DESCENT_SLIDERS=static`` as ``descent_build.py`` sets for the build), and stored
in the cache; the build then finds every run there. A notebook that fails is left out, and the
build runs it again and reports the error as usual.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What a notebook's run depends on besides its own cells.
INPUTS = ("lessons_src/**/*.py", "requirements.txt", "pyproject.toml", "book/_ext/descent_build.py")
#: Phases of the breakdown, in the order they run; a phase not timed in this run is left out.
ORDER = ("execute", "sites", "build", "student-site", "colab-env", "lint", "checks", "pytest", "pdf",
         "lighthouse", "pytest-slow")


def inputs_digest(root: Path = ROOT) -> str:
    """SHA-256 over the paths and contents of every file the notebooks' runs depend on."""
    digest = hashlib.sha256()
    for pattern in INPUTS:
        for path in sorted(root.glob(pattern)):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def check_cache_inputs(build: Path, root: Path = ROOT) -> bool:
    """Empty the execution cache and the Sphinx environments under ``build`` if the inputs changed
    since the last call; True if they were emptied."""
    stamp = build / ".jupyter_cache_inputs"
    digest = inputs_digest(root)
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    for stale in (build / ".jupyter_cache", build / ".doctrees", build / "student" / "_build" / ".doctrees"):
        shutil.rmtree(stale, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return True


def _execute(path: str, timeout: int):
    """Run one notebook as myst-nb's cache mode does; the executed notebook, or None if it failed."""
    import os

    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ["DESCENT_SLIDERS"] = "static"
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(Path(path).resolve().parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    return (notebook, result.time) if result.err is None else (None, result.time)


def check_package_is_this_checkout(root: Path = ROOT) -> None:
    """Stop if the environment imports ``lessons_src`` from somewhere other than ``root``: an
    editable install made from another checkout (a git worktree sharing ``.venv``) would have the
    notebooks run another copy of the package."""
    import importlib.util

    spec = importlib.util.find_spec("lessons_src")
    origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    if origin is None or root.resolve() not in origin.parents:
        raise SystemExit(f"this environment imports lessons_src from {origin}, not from {root}: "
                         f"run `{sys.executable} -m pip install -e {root}`")


def execute_into_cache(cache_path: Path, notebooks: list[Path], workers: int = 2) -> list[Path]:
    """Run the notebooks the cache lacks, ``workers`` at a time, and store them; those run."""
    from concurrent.futures import ProcessPoolExecutor

    import nbformat
    import yaml
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    settings = yaml.safe_load((ROOT / "_config.yml").read_text()).get("execute") or {}
    timeout = int(settings.get("timeout", 30))
    cache = get_cache(str(cache_path))
    missing = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            missing.append(path)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = pool.map(_execute, [str(path.resolve()) for path in missing], [timeout] * len(missing))
        for path, (notebook, seconds) in zip(missing, runs, strict=True):
            print(f"{path}: {'executed' if notebook is not None else 'FAILED (the build reports it)'} "
                  f"in {seconds:.1f} s", flush=True)
            if notebook is not None:
                cache.cache_notebook_bundle(CacheBundleIn(notebook, str(path.resolve()),
                                                          data={"execution_seconds": seconds}),
                                            check_validity=False, overwrite=True)
    return missing


def timed(timings: Path, name: str, command: list[str]) -> int:
    """Run ``command`` (through the shell if it is one word with spaces), append its wall time."""
    start = time.monotonic()
    status = subprocess.call(command[0] if len(command) == 1 else command, shell=len(command) == 1)
    timings.parent.mkdir(parents=True, exist_ok=True)
    with timings.open("a", encoding="utf-8") as out:
        out.write(f"{name}\t{time.monotonic() - start:.1f}\n")
    return status


def read_timings(timings: Path) -> tuple[float | None, dict[str, float]]:
    """The start time (epoch seconds) and the seconds of each phase, summed over repeats."""
    start, phases = None, {}
    for line in timings.read_text(encoding="utf-8").splitlines() if timings.is_file() else []:
        name, _, value = line.partition("\t")
        if name == "start":
            start = float(value)
        elif value:
            phases[name] = phases.get(name, 0.0) + float(value)
    return start, phases


def report(timings: Path) -> str:
    r"""The breakdown: each phase's wall time, under it the parts that ran inside it (to any
    depth: ``checks:pytest:browser``), and the total.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "timings.tsv"
    >>> _ = path.write_text("execute\t120\nchecks:pytest:nbval\t200\nchecks:pytest\t480\nchecks:pdf\t150\n"
    ...                     "checks\t510\n")
    >>> print(report(path))  # doctest: +NORMALIZE_WHITESPACE
    <BLANKLINE>
    phase                   minutes
    execute                     2.0
    checks                      8.5
      pytest                    8.0
        nbval                   3.3
      pdf                       2.5
    ...
    """
    start, phases = read_timings(timings)
    lines = ["", f"{'phase':22s} {'minutes':>8s}"]

    def rank(name: str) -> tuple[int, float]:
        last = name.rsplit(":", 1)[-1]
        return (ORDER.index(last) if last in ORDER else len(ORDER), -phases[name])

    def show(name: str, depth: int) -> None:
        label = "  " * depth + name.rsplit(":", 1)[-1]
        lines.append(f"{label:22s} {phases[name] / 60:8.1f}")
        inside = [n for n in phases if n.startswith(f"{name}:") and ":" not in n[len(name) + 1:]]
        for part in sorted(inside, key=rank):
            show(part, depth + 1)

    top = sorted((name for name in phases if ":" not in name), key=rank)
    for name in top:
        show(name, 0)
    if start is not None:
        total = time.time() - start
        accounted = sum(phases[name] for name in top)
        lines.append(f"{'other (setup, editions)':22s} {(total - accounted) / 60:8.1f}")
        lines.append(f"{'total (wall)':22s} {total / 60:8.1f}")
    lines.append("The parts of a phase ran side by side (the sites' builds and the Colab-like environment;")
    lines.append("pytest beside the PDFs and Lighthouse; pytest's parts, summed test durations, on two")
    lines.append("workers), so they add up to more than the phase's wall time.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "start":
        Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[1]).write_text(f"start\t{time.time():.1f}\n", encoding="utf-8")
        return 0
    if len(argv) >= 4 and argv[0] == "timed" and "--" in argv:
        split = argv.index("--")
        return timed(Path(argv[1]), argv[2], argv[split + 1:])
    if len(argv) == 2 and argv[0] == "report":
        print(report(Path(argv[1])))
        return 0
    if len(argv) >= 2 and argv[0] == "execute":
        skip = {"_assignments", "_vendor", "_build", ".ipynb_checkpoints"}
        # the later chapters first: they run longest, and a long run started last keeps one core
        # busy while the other waits
        notebooks = [Path(p) for p in argv[2:]] or sorted(
            (p for p in (ROOT / "book").rglob("*.ipynb") if not skip & set(p.relative_to(ROOT).parts)),
            reverse=True)
        check_package_is_this_checkout()
        execute_into_cache(Path(argv[1]), notebooks)
        return 0
    if len(argv) == 2 and argv[0] == "cache-inputs":
        if check_cache_inputs(Path(argv[1])):
            print("lessons_src or the requirements changed (or no build yet): every notebook runs again")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
