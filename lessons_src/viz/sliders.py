"""Sliders that work in a live kernel and on the static website.

:func:`interact` takes a figure, a function that moves the figure's artists for given parameter
values, and the values each slider offers. It returns one widget that works in two worlds:

* **live** (Binder, Colab, local Jupyter): every slider change calls the update function and
  redraws the same figure in place;
* **static** (the built book, where no kernel runs): at build time the figure is drawn once for
  every combination of slider values; the frames sit in nested ``Stack`` widgets whose
  ``selected_index`` is linked in the browser (``jslink``) to the sliders' ``index``, so moving a
  slider shows another precomputed frame without any kernel. Each frame is drawn twice: as laid
  out, and for phones (:class:`NarrowLayout`: the panels stacked, no text under
  ``NARROW_MIN_FONT_PT``), and a ``<picture>`` lets the browser pick by the screen's width.

The book build sets ``DESCENT_SLIDERS=static`` for the kernels it starts (see ``book/_ext``);
anything else gets live sliders.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image
from traitlets import TraitError, validate

#: Environment variable that selects the slider world: ``static`` or ``live`` (the default).
MODE_VARIABLE = "DESCENT_SLIDERS"
#: Above this many frames a page grows too heavy; ask for fewer slider positions instead.
MAX_FRAMES = 64
#: The static site's frames for narrow screens: this wide (352 px at the frames' 80 dpi, the
#: article's width on a 390 px phone), panels stacked, no text under ``NARROW_MIN_FONT_PT``
#: (11 CSS px); the browser shows them on screens up to ``NARROW_SCREEN_PX`` wide, where the
#: figure as laid out would shrink its 10 pt text below 9 CSS px.
NARROW_WIDTH_INCHES = 4.4
NARROW_MIN_FONT_PT = 10.0
NARROW_SCREEN_PX = 700


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


class _SizedCanvas(FigureCanvasAgg):
    """An Agg canvas that keeps one renderer per size of its figure.

    A static slider figure is drawn twice a frame, at its own size and in its narrow layout
    (:class:`NarrowLayout`). Matplotlib's canvas keeps a single renderer and makes a new one
    whenever the size changes, and its caches of laid-out text and parsed mathtext are per
    renderer, so every frame started them afresh; with a renderer per size they carry over.
    """

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = (width, height, self.figure.dpi)
        renderers = self.__dict__.setdefault("_renderers", {})
        if key not in renderers:
            renderers[key] = RendererAgg(width, height, self.figure.dpi)
        self.renderer, self._lastKey = renderers[key], key
        return self.renderer


def freeze_layout(fig: Figure, *, dpi: float = 80) -> None:
    """Give ``fig`` its own Agg canvas at ``dpi``, lay it out once, and keep that layout.

    Re-solving the constrained layout costs most of a redraw; the slider figures keep their
    axes in place while their data move, so the layout is computed once.
    """
    fig.set_dpi(dpi)
    _SizedCanvas(fig).draw()
    fig.set_layout_engine("none")


def render_png(fig: Figure, *, colors: int | None = None) -> bytes:
    """Draw ``fig`` and return PNG bytes; ``colors`` reduces it to a palette (smaller files)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else _SizedCanvas(fig)
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


def _frame(png: bytes, alt: str) -> dict[str, Any]:
    """An output showing ``png``; as HTML so the image carries its alt text (the static site's
    widget manager and Jupyter both render it), with the PNG and the text for other front ends."""
    data = base64.b64encode(png).decode("ascii")
    return {
        "output_type": "display_data",
        "data": {
            "text/html": f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">',
            "image/png": data,
            "text/plain": alt,
        },
        "metadata": {},
    }


def _static_frame(
    wide: bytes, narrow: bytes, alt: str, fonts: tuple[float, float], dpi: float
) -> dict[str, Any]:
    """A precomputed frame for the static site: a ``<picture>`` of the figure as laid out and
    of its narrow layout, which the browser picks by the screen's width. Each image says the
    size of its smallest text in points and the dpi it was drawn at (``data-min-font-pt``,
    ``data-dpi``), so a test can compute the text's size on the screen. Only HTML and text:
    a second copy of the PNG would double the page's weight."""
    wide_data = base64.b64encode(wide).decode("ascii")
    narrow_data = base64.b64encode(narrow).decode("ascii")
    return {
        "output_type": "display_data",
        "data": {
            "text/html": (
                f'<picture><source media="screen and (max-width: {NARROW_SCREEN_PX}px)" '
                f'srcset="data:image/png;base64,{narrow_data}" data-min-font-pt="{fonts[1]:g}" '
                f'data-dpi="{dpi:g}"><img src="data:image/png;base64,{wide_data}" '
                f'alt="{html.escape(alt)}" data-min-font-pt="{fonts[0]:g}" data-dpi="{dpi:g}"></picture>'
            ),
            "text/plain": alt,
        },
        "metadata": {},
    }


def smallest_text_pt(fig: Figure) -> float:
    """The size in points of the smallest visible, non-empty text of ``fig`` as last drawn."""
    sizes = [text.get_fontsize() for text in fig.findobj(Text)
             if text.get_visible() and text.get_text().strip() and _shown(text)]
    return float(min(sizes)) if sizes else float("inf")


def _shown(artist: Any) -> bool:
    """Whether ``artist`` and every artist holding it are visible (a hidden axes' labels are not)."""
    axes = getattr(artist, "axes", None)
    return artist.get_visible() and (axes is None or axes.get_visible())


class NarrowLayout:
    """Switch a figure laid out once (:func:`freeze_layout`) between that layout and one for
    narrow screens: its panels stacked in one column ``NARROW_WIDTH_INCHES`` wide, each text
    at least ``NARROW_MIN_FONT_PT``.

    The narrow layout is solved once (constrained layout, at the figure's current state); each
    :meth:`render` then only moves the axes, resizes the figure and enlarges small texts, draws,
    and puts everything back, so the figure's own frames are drawn exactly as before.
    """

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.wide_size = tuple(fig.get_size_inches())
        self.wide_positions = self._positions()
        panels = [ax for ax in fig.axes if ax.get_subplotspec() is not None]
        specs = {ax: ax.get_subplotspec() for ax in panels}
        # one row per place in the figure's grid: a twin axes (twinx) shares its parent's place
        rows: dict[tuple[int, int, int, int, int], list[Any]] = {}
        for ax, spec in specs.items():
            place = (id(spec.get_gridspec()), spec.rowspan.start, spec.rowspan.stop,
                     spec.colspan.start, spec.colspan.stop)
            rows.setdefault(place, []).append(ax)
        columns = max((spec.get_gridspec().ncols for spec in specs.values()), default=1)
        width, height = self.wide_size
        panel_height = float(np.clip(height * NARROW_WIDTH_INCHES / (width / columns), 2.6, 3.6))
        self.narrow_size = (NARROW_WIDTH_INCHES, panel_height * max(len(rows), 1))
        grid = GridSpec(max(len(rows), 1), 1, figure=fig)
        with self._enlarged_texts():
            for row, axes in enumerate(rows.values()):
                for ax in axes:
                    ax.set_subplotspec(grid[row, 0])
            fig.set_size_inches(*self.narrow_size)
            fig.set_layout_engine("constrained")
            _SizedCanvas(fig).draw()
            fig.set_layout_engine("none")
            self.narrow_positions = self._positions()
        for ax, spec in specs.items():
            ax.set_subplotspec(spec)
        self._place(self.wide_size, self.wide_positions)

    def _positions(self) -> dict[Any, Bbox]:
        return {ax: ax.get_position(original=True).frozen() for ax in self.fig.axes}

    def _place(self, size: tuple[float, float], positions: dict[Any, Bbox]) -> None:
        self.fig.set_size_inches(*size)
        for ax, position in positions.items():
            ax._set_position(position, which="both")  # set_position would take it out of layouts

    def _enlarged_texts(self) -> _Enlarged:
        return _Enlarged(self.fig, NARROW_MIN_FONT_PT)

    def render(self, *, colors: int | None = None) -> tuple[bytes, float]:
        """The figure in its narrow layout as PNG bytes, and its smallest text in points."""
        self._place(self.narrow_size, self.narrow_positions)
        try:
            with self._enlarged_texts():
                png = render_png(self.fig, colors=colors)
                smallest = smallest_text_pt(self.fig)
        finally:
            self._place(self.wide_size, self.wide_positions)
        return png, smallest


class _Enlarged:
    """Within ``with``: every text of ``fig`` under ``minimum`` points at ``minimum``, the tick
    labels drawn anew too; afterwards each back to its own size."""

    def __init__(self, fig: Figure, minimum: float) -> None:
        self.fig, self.minimum = fig, minimum
        self.changed: list[tuple[Text, float]] = []
        self.ticks: list[tuple[Any, str, float]] = []

    def __enter__(self) -> _Enlarged:
        for ax in self.fig.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                size = axis._major_tick_kw.get("labelsize")
                current = Text(fontsize=size).get_fontsize() if size is not None else None
                if current is not None and current < self.minimum:
                    self.ticks.append((ax, name, size))
                    ax.tick_params(axis=name, which="both", labelsize=self.minimum)
        for text in self.fig.findobj(Text):
            if text.get_fontsize() < self.minimum:
                self.changed.append((text, text.get_fontsize()))
                text.set_fontsize(self.minimum)
        return self

    def __exit__(self, *_exc: object) -> None:
        for text, size in self.changed:
            text.set_fontsize(size)
        for ax, name, size in self.ticks:
            ax.tick_params(axis=name, which="both", labelsize=size)
        self.changed, self.ticks = [], []


def describe(fig: Figure) -> str:
    """A default alt text: what each panel of ``fig`` shows, from its title and axis labels."""
    panels = []
    for ax in fig.axes:
        if not ax.get_visible() or not (ax.get_title() or ax.get_xlabel() or ax.get_ylabel()):
            continue  # colour bars and hidden helper axes
        parts = [ax.get_title() or "a plot"]
        if ax.get_xlabel() or ax.get_ylabel():
            parts.append(f"{ax.get_ylabel() or 'value'} against {ax.get_xlabel() or 'position'}")
        panels.append(": ".join(parts))
    text = "; ".join(panels) or "a figure"
    return _plain(text)


def _plain(text: str) -> str:
    """Mathtext and TeX markup read aloud badly: drop dollars and backslashes, keep the words."""
    for old, new in (("$", ""), ("\\", ""), ("{", ""), ("}", ""), ("_", " "), ("^", " to the ")):
        text = text.replace(old, new)
    return " ".join(text.split())


class SnappingSelectionSlider(widgets.SelectionSlider):
    """A ``SelectionSlider`` that takes a number between its values and moves to the nearest one.

    ``slider.value = 0.3`` on a slider offering 0.25 and 0.5 selects 0.25, where ipywidgets
    raises ``TraitError``; a value that is not a number and not offered still raises it.
    """

    @validate("value")
    def _validate_value(self, proposal: Any) -> Any:
        value = proposal.value
        values = self._options_values
        try:
            return super()._validate_value(proposal)
        except TraitError:
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if not isinstance(value, int | float) or isinstance(value, bool) or not numbers:
                raise
            return min(numbers, key=lambda v: abs(v - value))


def _selection_slider(spec: Slider) -> widgets.SelectionSlider:
    # No readout: ipywidgets' readout is an editable box that accepts values with no frame.
    # The position's name is shown by a label next to the slider instead (see _readout).
    return SnappingSelectionSlider(
        options=spec.options,
        index=spec.start_index,
        description=spec.label,
        readout=False,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="400px"),
    )


def _readout(control: widgets.SelectionSlider, mode: str) -> widgets.Widget:
    """The value the slider points at, as text that cannot be typed into, in both worlds."""
    names = [name for name, _ in control.options]
    if mode == "live":
        label = widgets.Label(value=names[control.index])

        def follow(change: dict) -> None:
            label.value = names[change["new"]]

        control.observe(follow, names="index")
        return label
    stack = widgets.Stack(children=[widgets.Label(value=name) for name in names],
                          selected_index=control.index)
    widgets.jslink((control, "index"), (stack, "selected_index"))
    return stack


def interact(
    fig: Figure,
    update: Callable[..., None],
    *,
    mode: str | None = None,
    dpi: float = 80,
    alt: str | Callable[..., str] | None = None,
    **sliders: Slider,
) -> widgets.VBox:
    """A widget whose sliders drive ``update(**values)``, which moves ``fig``'s artists.

    ``update`` must only change the existing figure (set data, titles, limits); it is called
    once per slider change in a live kernel, and once per combination of values at build time.
    ``alt`` is the figure's alt text for readers who cannot see it: a string, or a function of
    the slider values (``alt(**values)``) for text that follows the sliders; by default it is
    built from the panels' titles and axis labels (:func:`describe`). The widget's ``sliders``
    attribute lists the slider controls, its last child is the figure.
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

    def alt_text(indices: Sequence[int]) -> str:
        if callable(alt):
            return str(alt(**values_at(indices)))
        return alt if alt is not None else describe(fig)

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

    rows = [widgets.HBox([control, _readout(control, mode)]) for control in controls]
    if mode == "live":
        def current() -> dict[str, Any]:
            return _frame(render_png(fig), alt_text([c.index for c in controls]))

        output = widgets.Output(outputs=(current(),))

        def redraw(_change: object = None) -> None:
            show_current()
            output.outputs = (current(),)

        for control in controls:
            control.observe(redraw, names="index")
        box = widgets.VBox([*rows, output])
        box.sliders = controls
        return box

    narrow = NarrowLayout(fig)
    frames = {}
    for indices in itertools.product(*(range(n) for n in sizes)):
        update(**values_at(indices))
        wide_png = render_png(fig, colors=128)
        wide_font = smallest_text_pt(fig)
        narrow_png, narrow_font = narrow.render(colors=128)
        frames[indices] = widgets.Output(outputs=(
            _static_frame(wide_png, narrow_png, alt_text(indices), (wide_font, narrow_font), dpi),))
    show_current()  # leave the figure at the sliders' start position
    stack = _nested_stack(frames, controls, prefix=())
    box = widgets.VBox([*rows, stack])
    box.sliders = controls
    return box


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
