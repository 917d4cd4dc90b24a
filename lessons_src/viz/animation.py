r"""One animation for the showdown (chapter 10): several optimizers' paths racing on one surface.

:func:`race` builds a matplotlib animation whose frame :math:`j` shows every path up to step
:math:`k_j`; :func:`to_html` renders it as a self-contained JavaScript player (PNG frames embedded
in the page, no kernel needed) and refuses to produce a page heavier than a budget.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from html import escape

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from PIL import Image

from ..objectives.base import Objective
from . import plots

#: The largest embedded animation :func:`to_html` will return, in bytes (the page limit is 3 MB).
MAX_HTML_BYTES = 1_500_000


def frame_steps(steps: int, frames: int) -> np.ndarray:
    r"""The step :math:`k_j = \mathrm{round}(\text{steps}\cdot(j/(J-1))^2)` shown in frame :math:`j`.

    Quadratic spacing spends more frames on the first steps, where paths differ most.
    """
    if steps < 1 or frames < 2:
        raise ValueError(f"need steps >= 1 and frames >= 2, got steps={steps}, frames={frames}")
    j = np.linspace(0.0, 1.0, frames)
    return np.round(steps * j**2).astype(int)


def race(
    objective: Objective,
    paths: Mapping[str, ArrayLike],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    frames: int = 40,
    width: float = 5.0,
    height: float = 4.0,
    dpi: float = 60,
    title: str = "",
) -> FuncAnimation:
    """Animate the 2-D ``paths`` (label → points of shape ``(steps + 1, 2)``) on ``objective``'s contours.

    All paths must have the same number of steps. Frame ``j`` draws each path up to
    :func:`frame_steps` ``[j]``, with a dot at its head.
    """
    if objective.dim != 2:
        raise ValueError("race draws 2-D objectives only")
    arrays = {label: np.asarray(p, dtype=float) for label, p in paths.items()}
    if not arrays:
        raise ValueError("race needs at least one path")
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) != 1 or any(a.ndim != 2 or a.shape[1] != 2 for a in arrays.values()):
        raise ValueError("every path must have shape (steps + 1, 2), with the same number of steps")
    ks = frame_steps(lengths.pop() - 1, frames)

    # The static part (contours, axes, legend) is drawn once into a picture; the animated figure
    # shows that picture and, on transparent axes at the same place, only the moving paths.
    still, (ax,) = plots.figure(width=width, height=height, for_slider=True)
    still.set_dpi(dpi)
    contours = plots.draw_contours(ax, objective, xlim, ylim, levels=18, n=160)
    # Grey contours leave the frames' small palette (see :func:`to_html`) to the paths' colours.
    contours.set_cmap(ListedColormap(["0.8"]))
    contours.set_antialiased(False)
    for i, label in enumerate(arrays):
        ax.plot([], [], color=f"C{i % 10}", linewidth=1.3, label=label)
    ax.legend(fontsize=7, loc="upper left", ncols=2, framealpha=0.8)
    ax.set_title(" ")
    canvas = FigureCanvasAgg(still)
    canvas.draw()
    background = np.asarray(canvas.buffer_rgba()).copy()

    fig = Figure(figsize=(width, height), dpi=dpi)
    fig.figimage(background, origin="upper")
    overlay = fig.add_axes(ax.get_position().bounds, xlim=xlim, ylim=ylim)
    overlay.set_axis_off()
    overlay.set_zorder(1)  # above the picture, which a figure draws after its axes otherwise
    lines, heads = [], []
    for i in range(len(arrays)):
        colour = f"C{i % 10}"
        (line,) = overlay.plot([], [], color=colour, linewidth=1.3)
        (head,) = overlay.plot([], [], "o", color=colour, markersize=5)
        lines.append(line)
        heads.append(head)
    title_box = ax.title.get_window_extent(canvas.get_renderer())
    heading = fig.text(0.5, (title_box.y0 + title_box.y1) / 2 / background.shape[0], "",
                       ha="center", va="center", fontsize=plt.rcParams["axes.titlesize"])

    def draw(j: int):
        k = ks[j]
        for line, head, points in zip(lines, heads, arrays.values(), strict=True):
            shown = points[: k + 1]
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
        heading.set_text(f"{title}step {k}" if not title else f"{title}: step {k}")
        return [*lines, *heads, heading]

    return FuncAnimation(fig, draw, frames=len(ks), interval=150, blit=False)


_REMOTE_STYLESHEET = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]*">\s*')
_PNG_FRAME = re.compile(r"(data:image/png;base64,)([A-Za-z0-9+/=\\\n]+)")


def _quantize(match: re.Match[str], colors: int) -> str:
    """One embedded frame re-encoded as a PNG with a palette of ``colors`` colours."""
    data = base64.b64decode(match.group(2).replace("\\\n", ""))
    image = Image.open(io.BytesIO(data)).convert("RGB")
    # octree keeps thin paths in saturated colours that median cut merges into the background
    image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return match.group(1) + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_html(animation: FuncAnimation, max_bytes: int = MAX_HTML_BYTES, colors: int = 64,
            alt: str | None = None) -> str:
    """The animation as a JavaScript player with embedded PNG frames (``to_jshtml``).

    Each frame is reduced to a palette of ``colors`` colours (several times smaller). ``alt`` is
    the frames' alt text (what the animation shows), for readers who cannot see it. Raises
    ``ValueError`` if the HTML is larger than ``max_bytes``: use fewer frames or a lower dpi.
    The returned HTML requests nothing from another host.
    """
    html = animation.to_jshtml(default_mode="once")
    if alt is not None:
        html = html.replace("<img ", f'<img alt="{escape(alt)}" ', 1)
    html = _PNG_FRAME.sub(lambda m: _quantize(m, colors), html)
    # matplotlib's player links Font Awesome 4 from a CDN for its button icons; the book serves
    # its own Font Awesome (which still knows the "fa fa-play" names), and loads nothing remote.
    html = _REMOTE_STYLESHEET.sub("", html)
    size = len(html.encode("utf-8"))
    if size > max_bytes:
        raise ValueError(
            f"the animation is {size / 1e6:.2f} MB, over the {max_bytes / 1e6:.2f} MB budget: "
            "use fewer frames, a smaller figure or a lower dpi"
        )
    return html
