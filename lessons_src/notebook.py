"""Small conveniences for the chapters' notebooks."""

from __future__ import annotations

from typing import Any

import numpy as np


def glue(name: str, value: Any) -> None:
    """Hand a computed number to the prose: ``{glue:text}`name:.3f``` in a markdown cell shows it.

    numpy scalars become plain Python numbers (so the book's formatter can read them). Outside
    the book build, where ``myst_nb`` may be missing (Colab), nothing happens. Nothing is shown
    in the notebook either way.
    """
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)
