"""The slider helper: live redraws in a kernel, precomputed linked frames for the static site."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import Link

from lessons_src import GradientDescent, Quadratic1D, Slider, interact, plots, run
from lessons_src.viz.sliders import MAX_FRAMES, slider_mode


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
    (frame,) = output.outputs
    return frame["data"]["image/png"]


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
