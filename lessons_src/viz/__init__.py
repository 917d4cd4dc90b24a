"""Pictures: figures with paths on them (``plots``), sliders that work live and on the static site
(``sliders``), and the race animation (``animation``).

Each submodule loads when first used (a module-level ``__getattr__``): ``lessons_src.viz.plots``
imports matplotlib's pyplot, ``sliders`` imports ipywidgets, and neither is imported before a
picture or a widget is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> (submodule, attribute or None for the submodule itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "animation": (".animation", None),
    "plots": (".plots", None),
    "sliders": (".sliders", None),
    "Slider": (".sliders", "Slider"),
    "interact": (".sliders", "interact"),
}


def __getattr__(name: str) -> Any:
    """Import a submodule, or a name from one, when first used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'lessons_src.viz' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ["Slider", "animation", "interact", "plots", "sliders"]
