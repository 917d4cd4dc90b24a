"""The build's own plumbing: the configuration names only files that exist, the site is always
built with precomputed sliders, and the widget JavaScript the site serves matches the Python
widgets that write the pages."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import ipywidgets
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
VENDOR_SCRIPT = (ROOT / "book" / "_ext" / "vendor.sh").read_text()
#: ipywidgets (Python) release series and the @jupyter-widgets/html-manager series that renders
#: its widget state (both speak widget protocol 2; the html-manager 1.0 line ships with 8.x).
COMPATIBLE = {"8.1": "1.0", "8.0": "1.0", "7.7": "0.20"}


def _paths_in_config() -> list[Path]:
    sphinx = CONFIG["sphinx"]
    paths = [ROOT / CONFIG["html"]["favicon"]]
    paths += [ROOT / f for f in CONFIG.get("bibtex_bibfiles", [])]
    paths += [ROOT / folder / f"{name}.py" for name, folder in sphinx["local_extensions"].items()]
    static = [ROOT / folder for folder in sphinx["config"]["html_static_path"]]
    paths += static
    served = list(sphinx["config"]["nb_ipywidgets_js"])
    paths += [static[0] / name for name in served]
    return paths


def test_config_names_only_files_that_exist():
    if not (ROOT / "book" / "_vendor" / "descent" / ".complete").is_file():
        pytest.skip("the site's JavaScript is not fetched yet: bash book/_ext/vendor.sh")
    missing = [str(p.relative_to(ROOT)) for p in _paths_in_config() if not p.exists()]
    assert not missing, f"_config.yml names files that do not exist: {missing}"
    for comment_path in re.findall(r"(?:tests|book)/[\w/.-]+\.(?:py|yml|sh|md|bib)",
                                   (ROOT / "_config.yml").read_text()):
        assert (ROOT / comment_path).exists(), f"_config.yml mentions {comment_path}"


def test_the_build_forces_static_sliders(monkeypatch, tmp_path):
    """Even with DESCENT_SLIDERS=live exported, the build precomputes slider frames."""
    monkeypatch.setenv("DESCENT_SLIDERS", "live")
    spec = importlib.util.spec_from_file_location("descent_build",
                                                  ROOT / "book" / "_ext" / "descent_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "VENDOR", tmp_path)
    (tmp_path / ".complete").write_text("")

    class App:
        def connect(self, *args: object) -> None: ...
        def add_css_file(self, *args: object) -> None: ...
        def add_js_file(self, *args: object) -> None: ...

    module.setup(App())
    import os

    assert os.environ["DESCENT_SLIDERS"] == "static"


def test_widget_manager_matches_the_ipywidgets_pin():
    pinned = re.search(r"^ipywidgets==(\d+\.\d+)\.\d+", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned, "requirements.txt pins ipywidgets exactly"
    manager = re.search(r"@jupyter-widgets/html-manager@(\d+\.\d+)\.\d+", VENDOR_SCRIPT)
    assert manager, "vendor.sh fetches a pinned @jupyter-widgets/html-manager"
    assert COMPATIBLE.get(pinned.group(1)) == manager.group(1), (
        f"ipywidgets {pinned.group(1)} needs html-manager {COMPATIBLE.get(pinned.group(1))}.x, "
        f"vendor.sh fetches {manager.group(1)}.x"
    )
    assert ipywidgets.__version__.startswith(pinned.group(1) + "."), "the installed ipywidgets"
    bundle = ROOT / "book" / "_vendor" / "descent" / "html-manager" / "embed-amd.js"
    if bundle.is_file():  # the bundle knows the widget protocol the Python side writes
        protocol = ipywidgets._version.__protocol_version__
        assert f'"{protocol}"' in bundle.read_text(errors="replace")


def test_the_notebooks_run_only_against_this_checkouts_package(tmp_path):
    """``make execute`` stops, naming both folders, when the environment's ``lessons_src`` is
    another checkout's (an editable install made in a worktree that shares ``.venv``)."""
    spec = importlib.util.spec_from_file_location("make_steps", ROOT / "book" / "_ext" / "make_steps.py")
    make_steps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_steps)
    make_steps.check_package_is_this_checkout(ROOT)  # the tests' environment: this checkout
    with pytest.raises(SystemExit, match=rf"imports lessons_src from {ROOT}.* not from {tmp_path}"):
        make_steps.check_package_is_this_checkout(tmp_path)
