"""Sliders that work in a live kernel and on the static website.

:func:`interact` takes a figure, a function that moves the figure's artists for given parameter
values, and the values each slider offers. It returns one widget that works in two worlds:

* **live** (Binder, Colab, local Jupyter): every slider change calls the update function and
  redraws the same figure in place;
* **static** (the built book, where no kernel runs): at build time the figure is drawn once for
  every combination of slider values; the frames sit in nested ``Stack`` widgets whose
  ``selected_index`` is linked in the browser (``jslink``) to the sliders' ``index``, so moving a
  slider shows another precomputed frame without any kernel.

The book build sets ``DESCENT_SLIDERS=static`` for the kernels it starts (see ``book/_ext``);
anything else gets live sliders.
"""

from __future__ import annotations

import base64
import io
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

#: Environment variable that selects the slider world: ``static`` or ``live`` (the default).
MODE_VARIABLE = "DESCENT_SLIDERS"
#: Above this many frames a page grows too heavy; ask for fewer slider positions instead.
MAX_FRAMES = 64


@dataclass(frozen=True)
class Slider:
    """The positions one slider offers, with a label and how to show each position.

    ``values`` are usually numbers, printed with ``fmt``; give ``names`` to show words instead
    (then the values may be anything, e.g. the names of problems).
    """

    values: Sequence[Any]
    label: str
    value: Any = None  # start position; the middle value if None
    fmt: str = "{:.3g}"
    names: Sequence[str] | None = None
    options: list[tuple[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        values = list(self.values)
        if not values:
            raise ValueError(f"slider {self.label!r} needs at least one value")
        if self.names is None:
            values = [float(v) for v in values]
            names = [self.fmt.format(v) for v in values]
        else:
            names = [str(n) for n in self.names]
            if len(names) != len(values):
                raise ValueError(f"slider {self.label!r}: {len(names)} names for {len(values)} values")
        if self.value is not None and self.start_index_of(values, self.value) is None:
            raise ValueError(f"slider {self.label!r}: start value {self.value!r} is not offered")
        object.__setattr__(self, "options", list(zip(names, values, strict=True)))

    @staticmethod
    def start_index_of(values: Sequence[Any], value: Any) -> int | None:
        numeric = isinstance(value, int | float)
        for i, v in enumerate(values):
            if v == value or (numeric and isinstance(v, float) and np.isclose(v, value)):
                return i
        return None

    @property
    def start_index(self) -> int:
        if self.value is None:
            return len(self.options) // 2
        return self.start_index_of([v for _, v in self.options], self.value)


def slider_mode() -> str:
    """``"static"`` while the book is being built, ``"live"`` otherwise."""
    mode = os.environ.get(MODE_VARIABLE, "live").strip().lower()
    if mode not in {"static", "live"}:
        raise ValueError(f"{MODE_VARIABLE} must be 'static' or 'live', got {mode!r}")
    return mode


def freeze_layout(fig: Figure, *, dpi: float = 80) -> None:
    """Give ``fig`` its own Agg canvas at ``dpi``, lay it out once, and keep that layout.

    Re-solving the constrained layout costs most of a redraw; the slider figures keep their
    axes in place while their data move, so the layout is computed once.
    """
    fig.set_dpi(dpi)
    FigureCanvasAgg(fig).draw()
    fig.set_layout_engine("none")


def render_png(fig: Figure, *, colors: int | None = None) -> bytes:
    """Draw ``fig`` and return PNG bytes; ``colors`` reduces it to a palette (smaller files)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB")
    buffer = io.BytesIO()
    if colors is None:
        image.save(buffer, format="png", compress_level=1)  # fast: live redraws
    else:
        # Octree quantisation keeps small areas of saturated colour (thin paths in tab10 colours)
        # that median cut merges into the background.
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        image.save(buffer, format="png", optimize=True)  # small: frames stored in the page
    return buffer.getvalue()


def _frame(png: bytes) -> dict[str, Any]:
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<figure>"},
        "metadata": {},
    }


def _selection_slider(spec: Slider) -> widgets.SelectionSlider:
    return widgets.SelectionSlider(
        options=spec.options,
        index=spec.start_index,
        description=spec.label,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="460px"),
    )


def interact(
    fig: Figure,
    update: Callable[..., None],
    *,
    mode: str | None = None,
    dpi: float = 80,
    **sliders: Slider,
) -> widgets.VBox:
    """A widget whose sliders drive ``update(**values)``, which moves ``fig``'s artists.

    ``update`` must only change the existing figure (set data, titles, limits); it is called
    once per slider change in a live kernel, and once per combination of values at build time.
    """
    if not sliders:
        raise ValueError("interact needs at least one slider")
    mode = mode or slider_mode()
    names = list(sliders)
    controls = [_selection_slider(sliders[name]) for name in names]

    def values_at(indices: Sequence[int]) -> dict[str, Any]:
        return {name: sliders[name].options[i][1] for name, i in zip(names, indices, strict=True)}

    def show_current() -> None:
        update(**values_at([c.index for c in controls]))

    if mode not in {"live", "static"}:
        raise ValueError(f"mode must be 'static' or 'live', got {mode!r}")
    sizes = [len(sliders[name].options) for name in names]
    if mode == "static" and np.prod(sizes) > MAX_FRAMES:
        raise ValueError(
            f"{' x '.join(map(str, sizes))} = {np.prod(sizes)} frames is more than {MAX_FRAMES}: "
            "offer fewer slider values"
        )
    show_current()
    freeze_layout(fig, dpi=dpi)  # lay the figure out once, at the start position

    if mode == "live":
        output = widgets.Output(outputs=(_frame(render_png(fig)),))

        def redraw(_change: object = None) -> None:
            show_current()
            output.outputs = (_frame(render_png(fig)),)

        for control in controls:
            control.observe(redraw, names="index")
        return widgets.VBox([*controls, output])

    frames = {}
    for indices in itertools.product(*(range(n) for n in sizes)):
        update(**values_at(indices))
        frames[indices] = widgets.Output(outputs=(_frame(render_png(fig, colors=128)),))
    show_current()  # leave the figure at the sliders' start position
    stack = _nested_stack(frames, controls, prefix=())
    return widgets.VBox([*controls, stack])


def _nested_stack(
    frames: dict[tuple[int, ...], widgets.Output],
    controls: list[widgets.SelectionSlider],
    prefix: tuple[int, ...],
) -> widgets.Widget:
    """Stacks nested one level per slider; level ``j`` is selected by slider ``j``'s index."""
    depth = len(prefix)
    if depth == len(controls):
        return frames[prefix]
    control = controls[depth]
    children = [
        _nested_stack(frames, controls, (*prefix, i)) for i in range(len(control.options))
    ]
    stack = widgets.Stack(children=children, selected_index=control.index)
    widgets.jslink((control, "index"), (stack, "selected_index"))
    return stack
