"""Drawing helpers: curves, contours, surfaces and loss plots with an optimizer's path on them.

Each ``draw_*`` function draws on axes it is given and returns the artist that a slider callback
moves later with :func:`set_path` (it sets the artist's data; the figure is never rebuilt).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike

from ..objectives.base import Objective

PATH_STYLE = {"color": "tab:red", "marker": "o", "markersize": 3.5, "linewidth": 1.2}


def figure(
    ncols: int = 1,
    *,
    width: float = 8.0,
    height: float = 3.2,
    three_d: tuple[int, ...] = (),
    for_slider: bool = False,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``ncols`` panels side by side (indices in ``three_d`` get 3-D axes).

    ``for_slider=True`` makes a figure outside pyplot, so the notebook does not also show it
    when the cell ends: :func:`lessons_src.sliders.interact` shows it instead.
    """
    fig = (
        Figure(figsize=(width, height), layout="constrained")
        if for_slider
        else plt.figure(figsize=(width, height), layout="constrained")
    )
    axes = [
        fig.add_subplot(1, ncols, i + 1, projection="3d" if i in three_d else None)
        for i in range(ncols)
    ]
    return fig, axes


def draw_curve(ax: Axes, objective: Objective, lo: float, hi: float, n: int = 800) -> Line2D:
    """Plot :math:`f` over ``[lo, hi]`` for a 1-D objective."""
    xs = np.linspace(lo, hi, n)
    (line,) = ax.plot(xs, objective.value(xs[:, None]), color="tab:blue", linewidth=1.5)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    return line


def draw_path_1d(ax: Axes, objective: Objective, points: ArrayLike, **style) -> Line2D:
    """Mark the iterates :math:`(x_k, f(x_k))` of a 1-D run, joined in order."""
    (line,) = ax.plot([], [], **{**PATH_STYLE, **style})
    set_path(line, objective, points)
    return line


def draw_contours(
    ax: Axes,
    objective: Objective,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    levels: int | ArrayLike = 20,
    n: int = 240,
) -> QuadContourSet:
    """Contour lines of a 2-D objective, spaced evenly in :math:`\\log(f - f_{\\min} + 1)` by default."""
    gx, gy = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    z = objective.value(np.stack([gx, gy], axis=-1))
    if isinstance(levels, int):
        low = z.min()
        levels = low - 1 + np.geomspace(1, z.max() - low + 1, levels)
    contours = ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.8)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return contours


def draw_path_2d(ax: Axes, points: ArrayLike, **style) -> Line2D:
    """The iterates of a 2-D run in the plane, joined in order."""
    (line,) = ax.plot([], [], **{**PATH_STYLE, **style})
    set_path(line, None, points)
    return line


def draw_surface(
    ax: Axes,
    objective: Objective,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    n: int = 60,
) -> None:
    """The graph of a 2-D objective as a 3-D surface (``ax`` must be 3-D)."""
    gx, gy = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    z = objective.value(np.stack([gx, gy], axis=-1))
    ax.plot_surface(gx, gy, z, cmap="viridis", alpha=0.6, linewidth=0, antialiased=True)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$f$")


def draw_path_3d(ax: Axes, objective: Objective, points: ArrayLike, **style) -> Line2D:
    """The iterates of a 2-D run lifted onto the surface :math:`(x_1, x_2, f(x))`."""
    (line,) = ax.plot([], [], [], **{**PATH_STYLE, **style})
    set_path(line, objective, points)
    return line


def draw_loss(ax: Axes, values: ArrayLike, *, label: str | None = None,
              ylabel: str = "$f(x_k) - f^*$", **style) -> Line2D:
    """A quantity per step on a log scale (loss gap, distance to the minimum, gradient norm)."""
    values = np.asarray(values, dtype=float)
    (line,) = ax.semilogy(np.arange(values.shape[0]), values, label=label, **style)
    ax.set_xlabel("step $k$")
    ax.set_ylabel(ylabel)
    return line


def set_path(line: Line2D, objective: Objective | None, points: ArrayLike) -> None:
    """Move a path artist to new iterates ``points`` (shape ``(steps + 1, d)``).

    1-D runs are drawn at height :math:`f(x_k)`; 2-D runs in the plane, or on the surface when
    the artist is 3-D. Diverged (NaN) steps are simply not drawn.
    """
    points = np.asarray(points, dtype=float)
    if points.shape[-1] == 1:
        line.set_data(points[:, 0], objective.value(points))
    elif hasattr(line, "set_data_3d"):
        line.set_data_3d(points[:, 0], points[:, 1], objective.value(points))
    else:
        line.set_data(points[:, 0], points[:, 1])


def set_series(line: Line2D, values: ArrayLike) -> None:
    """Replace the per-step values of a line drawn by :func:`draw_loss`."""
    values = np.asarray(values, dtype=float)
    line.set_data(np.arange(values.shape[0]), values)
