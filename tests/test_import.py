"""``import lessons_src`` stays light: pictures and widgets load when first used, and every public
name is still importable from the top level. (No timing is asserted; the benchmark prints times.)"""

from __future__ import annotations

import json
import subprocess
import sys

import lessons_src

HEAVY = ("matplotlib", "matplotlib.pyplot", "ipywidgets", "IPython", "PIL")


def _modules_after(code: str) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter and say which heavy modules it left in sys.modules."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_does_not_load_pyplot_or_widgets():
    loaded = _modules_after("import lessons_src")
    assert not any(loaded.values()), f"import lessons_src loaded {[m for m, x in loaded.items() if x]}"


def test_running_an_optimizer_does_not_load_pictures():
    loaded = _modules_after(
        "from lessons_src import Adam, Wiggly, run, schedules\n"
        "run(Wiggly(), Adam(lr=schedules.cosine(0.1, 50)), -2.0, 50)")
    assert not any(loaded.values()), loaded


def test_pictures_load_when_first_used():
    loaded = _modules_after("import lessons_src\nlessons_src.plots")
    assert loaded["matplotlib.pyplot"]
    loaded = _modules_after("from lessons_src import Slider")
    assert loaded["ipywidgets"]


def test_every_public_name_is_importable():
    for name in lessons_src.__all__:
        assert getattr(lessons_src, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from lessons_src import *", namespace)
    assert set(lessons_src.__all__) <= set(namespace)
    from lessons_src import Slider, interact, plots, viz

    assert Slider is viz.sliders.Slider and interact is viz.sliders.interact
    assert plots is viz.plots and viz.animation.race is not None
    assert {"viz", "plots", "Slider"} <= set(dir(lessons_src))


def test_unknown_names_are_attribute_errors():
    import pytest

    with pytest.raises(AttributeError, match="no_such_thing"):
        lessons_src.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_thing"):
        lessons_src.viz.no_such_thing  # noqa: B018
