"""Pictures: figures with paths on them (``plots``), sliders that work live and on the static site
(``sliders``), and the race animation (``animation``)."""

from . import animation, plots, sliders
from .sliders import Slider, interact

__all__ = ["Slider", "animation", "interact", "plots", "sliders"]
