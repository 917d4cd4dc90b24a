"""The slider helper: live redraws in a kernel, precomputed linked frames for the static site."""

from __future__ import annotations

import base64
import io
import re

import ipywidgets as widgets
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import Link
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from lessons_src import GradientDescent, Quadratic1D, Slider, interact, plots, run
from lessons_src.viz.sliders import (
    MAX_FRAMES,
    NARROW_MIN_FONT_PT,
    NARROW_SCREEN_PX,
    NARROW_WIDTH_INCHES,
    NarrowLayout,
    render_png,
    slider_mode,
    smallest_text_pt,
)


def _figure():
    """A one-panel slider figure whose path depends on the step size and the start."""
    parabola = Quadratic1D(1, -2, 1)
    fig, (ax,) = plots.figure(for_slider=True, width=3, height=2)
    plots.draw_curve(ax, parabola, -6, 8)
    path = plots.draw_path_1d(ax, parabola, [[5.0]])
    calls = []

    def update(lr, x0=5.0):
        calls.append((lr, x0))
        plots.set_path(path, parabola, run(parabola, GradientDescent(lr=lr), x0, 10).points)

    return fig, update, path, calls


def _png(output: widgets.Output) -> str:
    """The frame's image as laid out (a static frame's ``<img>``, a live one's PNG)."""
    (frame,) = output.outputs
    if "image/png" in frame["data"]:
        return frame["data"]["image/png"]
    return _images(frame)["wide"]


def _images(frame: dict) -> dict[str, str]:
    """A static frame's two PNGs (base64), the narrow ``<source>`` and the ``<img>``."""
    page = frame["data"]["text/html"]
    narrow = re.search(
        r'<source media="screen and \(max-width: (\d+)px\)" srcset="data:image/png;base64,([^"]+)"', page)
    wide = re.search(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert narrow and wide, page[:200]
    return {"narrow": narrow.group(2), "wide": wide.group(1), "screen": int(narrow.group(1))}


def _fonts(frame: dict) -> list[float]:
    """The smallest text in points that a static frame says each of its images holds."""
    return [float(v) for v in re.findall(r'data-min-font-pt="([^"]+)"', frame["data"]["text/html"])]


def test_static_mode_precomputes_one_linked_frame_per_combination():
    fig, update, _, calls = _figure()
    lrs, starts = [0.1, 0.5, 0.9], [-3.0, 5.0]
    widget = interact(fig, update, mode="static",
                      lr=Slider(lrs, "η", value=0.5), x0=Slider(starts, "x₀", value=5.0))
    lr_slider, x0_slider = widget.sliders
    outer = widget.children[-1]
    assert isinstance(outer, widgets.Stack) and len(outer.children) == len(lrs)
    assert outer.selected_index == lr_slider.index == 1
    frames = [_png(inner.children[j]) for inner in outer.children for j in range(len(starts))]
    assert len(set(frames)) == len(lrs) * len(starts), "every combination draws a different figure"
    assert {(lr, x0) for lr, x0 in calls} == {(lr, x0) for lr in lrs for x0 in starts}
    # The browser links each slider's index to the stacks of its level.
    links = [w for w in _instances.values() if isinstance(w, Link)]
    sources = {(link.source[0].model_id, link.target[0].model_id) for link in links}
    assert (lr_slider.model_id, outer.model_id) in sources
    for inner in outer.children:
        assert (x0_slider.model_id, inner.model_id) in sources
        assert inner.selected_index == x0_slider.index


def test_live_mode_redraws_the_same_figure_on_every_change():
    fig, update, path, calls = _figure()
    widget = interact(fig, update, mode="live", lr=Slider([0.1, 0.5, 0.9], "η", value=0.1))
    (slider,) = widget.sliders
    output = widget.children[-1]
    before = _png(output)
    x_before = np.array(path.get_xdata())
    slider.index = 2
    assert calls[-1] == (0.9, 5.0)
    assert _png(output) != before
    assert not np.allclose(np.array(path.get_xdata()), x_before), "the same artist was moved"


def test_too_many_frames_is_refused_with_advice():
    fig, update, _, _ = _figure()
    values = list(np.linspace(0.1, 0.9, MAX_FRAMES + 1))
    with pytest.raises(ValueError, match="fewer slider values"):
        interact(fig, update, mode="static", lr=Slider(values, "η"))


def test_slider_specs_are_checked():
    with pytest.raises(ValueError, match="not offered"):
        Slider([0.1, 0.2], "η", value=0.3)
    with pytest.raises(ValueError, match="at least one value"):
        Slider([], "η")
    with pytest.raises(ValueError, match="2 names for 3 values"):
        Slider(["a", "b", "c"], "problem", names=["A", "B"])
    named = Slider(["quad", "rosen"], "problem", names=["quadratic", "Rosenbrock"], value="rosen")
    assert named.options == [("quadratic", "quad"), ("Rosenbrock", "rosen")]
    assert named.start_index == 1


def test_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("DESCENT_SLIDERS", raising=False)
    assert slider_mode() == "live"
    monkeypatch.setenv("DESCENT_SLIDERS", "static")
    assert slider_mode() == "static"
    monkeypatch.setenv("DESCENT_SLIDERS", "sometimes")
    with pytest.raises(ValueError, match="DESCENT_SLIDERS"):
        slider_mode()


def test_frames_carry_alt_text_that_follows_the_sliders_and_readouts_cannot_be_typed():
    fig, update, _, _ = _figure()
    widget = interact(fig, update, mode="static", alt=lambda lr: f"Descent with step size {lr:g}",
                      lr=Slider([0.1, 0.5], "η", value=0.5))
    frames = [inner.outputs[0] for inner in widget.children[-1].children]
    assert [f["data"]["text/plain"] for f in frames] == ["Descent with step size 0.1",
                                                         "Descent with step size 0.5"]
    assert 'alt="Descent with step size 0.1"' in frames[0]["data"]["text/html"]
    (slider,) = widget.sliders
    assert slider.readout is False
    readout = widget.children[0].children[1]
    assert [label.value for label in readout.children] == ["0.1", "0.5"]
    live = interact(fig, update, mode="live", lr=Slider([0.1, 0.5], "η", value=0.1))
    label = live.children[0].children[1]
    live.sliders[0].index = 1
    assert label.value == "0.5"


def test_default_alt_text_describes_the_panels():
    fig, update, _, _ = _figure()
    fig.axes[0].set_title(r"Step size $\eta$")
    fig.axes[0].set_xlabel("$x$")
    fig.axes[0].set_ylabel("$f(x)$")
    widget = interact(fig, update, mode="live", lr=Slider([0.1, 0.5], "η"))
    assert widget.children[-1].outputs[0]["data"]["text/plain"] == "Step size eta: f(x) against x"


def test_static_frames_have_a_narrow_layout_for_phones_and_the_figure_is_left_as_it_was():
    """Each static frame also holds the figure for narrow screens: two panels stacked in one
    column ``NARROW_WIDTH_INCHES`` wide, its small texts (a legend at 6 pt, tick labels at 7 pt)
    enlarged to ``NARROW_MIN_FONT_PT``, drawn for screens up to ``NARROW_SCREEN_PX``; the figure
    itself, and so its own frames, keep their layout and sizes."""
    parabola = Quadratic1D(1, -2, 1)
    fig, (left, right) = plots.figure(2, for_slider=True, width=8, height=3)
    plots.draw_curve(left, parabola, -6, 8)
    path = plots.draw_path_1d(left, parabola, [[5.0]])
    (error,) = right.plot([], [], label="error")
    right.legend(fontsize=6)
    right.tick_params(labelsize=7)
    right.set_xlim(0, 10)
    right.set_ylim(0, 40)

    def update(lr):
        points = run(parabola, GradientDescent(lr=lr), 5.0, 10).points
        plots.set_path(path, parabola, points)
        error.set_data(range(len(points)), np.abs(points[:, 0] - 1))

    widget = interact(fig, update, mode="static", lr=Slider([0.1, 0.5], "η", value=0.5))
    frames = [inner.outputs[0] for inner in widget.children[-1].children]
    dpi = fig.get_dpi()
    for frame in frames:
        images = _images(frame)
        narrow = Image.open(io.BytesIO(base64.b64decode(images["narrow"])))
        wide = Image.open(io.BytesIO(base64.b64decode(images["wide"])))
        assert wide.size == (round(8 * dpi), round(3 * dpi))
        assert narrow.width == round(NARROW_WIDTH_INCHES * dpi) and narrow.height > narrow.width
        assert images["screen"] == NARROW_SCREEN_PX
        narrow_pt, wide_pt = _fonts(frame)
        assert wide_pt == 6 and narrow_pt == NARROW_MIN_FONT_PT
    # the two frames differ in both layouts, and the figure is back to its own layout and sizes
    assert len({_images(f)["narrow"] for f in frames}) == 2
    assert tuple(fig.get_size_inches()) == (8, 3)
    assert smallest_text_pt(fig) == 6
    assert left.get_position().x1 < right.get_position().x0, "the panels are side by side again"


def test_smallest_text_ignores_hidden_and_empty_texts():
    fig, (ax,) = plots.figure(for_slider=True, width=3, height=2)
    ax.set_title("a title", fontsize=12)
    ax.text(0, 0, "", fontsize=2)
    ax.text(0, 0, "hidden", fontsize=3).set_visible(False)
    ax.tick_params(labelsize=9)
    FigureCanvasAgg(fig).draw()
    assert smallest_text_pt(fig) == 9


def test_a_twin_axes_stays_with_its_panel_in_the_narrow_layout():
    """A second y-axis (``twinx``) shares its panel's place: the narrow layout has one row, not
    two, and the twin lies exactly over its panel."""
    fig, (ax,) = plots.figure(for_slider=True, width=6, height=3)
    (line,) = ax.plot([0, 1], [0, 1])
    twin = ax.twinx()
    twin.plot([0, 1], [1, 0], color="tab:orange")
    twin.set_ylabel("loss")

    def update(scale):
        line.set_ydata([0, scale])

    widget = interact(fig, update, mode="static", scale=Slider([1.0, 2.0], "scale"))
    frame = widget.children[-1].children[0].outputs[0]
    narrow = Image.open(io.BytesIO(base64.b64decode(_images(frame)["narrow"])))
    dpi = fig.get_dpi()
    assert narrow.height <= round(3.6 * dpi), f"{narrow.height} px: the twin got a row of its own"
    layout = NarrowLayout(fig)
    assert layout.narrow_positions[twin].bounds == pytest.approx(layout.narrow_positions[ax].bounds)


def test_a_figure_drawn_at_two_sizes_in_turn_keeps_a_renderer_per_size_and_the_same_pixels():
    """Static frames are drawn at the figure's size and in the narrow layout, in turn: the
    canvas keeps one renderer per size (so matplotlib's text caches, which are per renderer,
    carry over), and each drawing is pixel for pixel what a fresh canvas draws."""
    from matplotlib.backends.backend_agg import RendererAgg

    parabola = Quadratic1D(1, -2, 1)
    fig, (left, right) = plots.figure(2, for_slider=True, width=8, height=3)
    plots.draw_curve(left, parabola, -6, 8)
    right.set_xlabel(r"step $k$")
    right.set_ylabel(r"$|x_k - x^*|$")
    right.semilogy([1, 2, 3], [1e-1, 1e-3, 1e-6])  # tick labels in mathtext
    narrow = NarrowLayout(fig)
    made = []
    original = RendererAgg.__init__

    def counted(self, *args, **kwargs):
        made.append(args)
        original(self, *args, **kwargs)

    RendererAgg.__init__ = counted
    try:
        drawings = [(render_png(fig), narrow.render()[0]) for _ in range(3)]
    finally:
        RendererAgg.__init__ = original
    assert len(made) <= 2, f"{len(made)} renderers made for two sizes"
    assert len({wide for wide, _ in drawings}) == 1 and len({small for _, small in drawings}) == 1
    fresh = FigureCanvasAgg(fig)  # a plain canvas: one renderer, made anew
    fresh.draw()
    plain = np.asarray(fresh.buffer_rgba())
    ours = np.asarray(Image.open(io.BytesIO(drawings[0][0])).convert("RGBA"))
    assert plain.shape == ours.shape and np.array_equal(plain[..., :3], ours[..., :3])
