"""The loop: step an optimizer on an objective and keep the whole trajectory.

A sweep is one call: give an optimizer array-valued hyperparameters (or give several start
points) and every run steps together as one array computation. A run whose iterate overflows is
stopped, its remaining points are NaN, and it is flagged as diverged with the step where it
happened; the other runs go on. No numpy warning escapes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, as_points
from .optimizers import Optimizer

#: An iterate with a coordinate larger than this (or not finite) counts as diverged. Every
#: objective of the course has exploded long before, and its values are still finite here.
DIVERGENCE_BOUND = 1e50


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Everything a run visited.

    ``points`` has shape ``(steps + 1, *batch, d)``: row 0 is the start. Rows from
    ``diverged_at`` on are NaN for a run that diverged (``diverged_at`` is -1 for the others).
    """

    objective: Objective
    optimizer: Optimizer
    points: Array
    diverged: np.ndarray
    diverged_at: np.ndarray

    @property
    def steps(self) -> int:
        return self.points.shape[0] - 1

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.points.shape[1:-1]

    @property
    def final(self) -> Array:
        """The last point of each run (NaN for a diverged run)."""
        return self.points[-1]

    @cached_property
    def values(self) -> Array:
        """:math:`f(x_k)` for every step, shape ``(steps + 1, *batch)``."""
        with np.errstate(all="ignore"):
            return self.objective.value(self.points)

    @cached_property
    def grad_norms(self) -> Array:
        r""":math:`\|\nabla f(x_k)\|` for every step, shape ``(steps + 1, *batch)``."""
        with np.errstate(all="ignore"):
            return np.linalg.norm(self.objective.grad(self.points), axis=-1)

    def distances(self, target: ArrayLike) -> Array:
        r""":math:`\|x_k - x^*\|` for every step, shape ``(steps + 1, *batch)``."""
        with np.errstate(all="ignore"):
            return np.linalg.norm(self.points - np.asarray(target, dtype=float), axis=-1)

    def run(self, index: int | tuple[int, ...]) -> Trajectory:
        """One run out of a sweep, as a trajectory of its own."""
        index = index if isinstance(index, tuple) else (index,)
        if len(index) > len(self.batch_shape):
            raise IndexError(
                f"this trajectory holds a batch of shape {self.batch_shape}; "
                f"index {index} has too many entries"
            )
        return Trajectory(
            self.objective,
            self.optimizer,
            self.points[(slice(None), *index)],
            self.diverged[index],
            self.diverged_at[index],
        )


def run(
    objective: Objective,
    optimizer: Optimizer,
    x0: ArrayLike,
    steps: int,
    *,
    bound: float = DIVERGENCE_BOUND,
    objective_at: Callable[[int], Objective] | None = None,
) -> Trajectory:
    """Apply ``optimizer`` to ``objective`` from ``x0`` for ``steps`` steps.

    ``x0`` has shape ``(d,)`` or ``(*batch, d)`` (a number for a 1-D objective); it is broadcast
    against the optimizer's hyperparameters, so ``GradientDescent(lr=np.geomspace(...))`` from
    one start point is a sweep over step sizes.

    Online learning: with ``objective_at``, step ``t = 1, 2, ...`` follows the gradient of
    ``objective_at(t)``, while the trajectory's values are those of ``objective``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    steps = operator.index(steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer, got {type(optimizer).__name__}")
    start = as_points(x0, objective.dim)
    if not np.all(np.isfinite(start)):
        raise ValueError(f"the start point must be finite, got {start.tolist()}")
    batch = np.broadcast_shapes(start.shape[:-1], optimizer.batch_shape)
    x = np.broadcast_to(start, (*batch, objective.dim)).copy()

    points = np.full((steps + 1, *batch, objective.dim), np.nan)
    points[0] = x
    diverged_at = np.full(batch, -1)
    with np.errstate(all="ignore"):
        state = optimizer.init(x)
        for k in range(1, steps + 1):
            loss = objective if objective_at is None else objective_at(k)
            x, state = optimizer.step(loss, x, state)
            escaped = ~np.all(np.abs(x) <= bound, axis=-1)
            if escaped.any():
                diverged_at[escaped & (diverged_at < 0)] = k
                if np.all(diverged_at >= 0):
                    break
                x = np.where(escaped[..., None], np.nan, x)
            points[k] = x
    return Trajectory(objective, optimizer, points, diverged_at >= 0, diverged_at)
