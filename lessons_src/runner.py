"""The loop: step an optimizer on an objective and keep the whole trajectory.

A sweep is one call: give an optimizer array-valued hyperparameters (or give several start
points) and every run steps together as one array computation. What counts as divergence is
defined once, in :func:`is_diverged`: a run whose iterate overflows is stopped, its remaining
points are NaN, and it is flagged as diverged with the step where it happened (the other runs go
on); a run that ends at a value far above its start is flagged too. No numpy warning escapes.
``record=`` keeps the optimizer's state after every step (Adam's moments, AdaGrad's squares, the
accepted Armijo step, ...), so no chapter writes the loop again. Online learning
(:func:`run_online`) and continuation (:func:`continuation`) are this same loop over a sequence
of objectives.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from .objectives.base import Array, Objective, as_points
from .objectives.online import OnlineProblem
from .optim.base import GradientOptimizer, Optimizer

#: An iterate with a coordinate larger than this (or not finite) counts as diverged. Every
#: objective of the course has exploded long before, and its values are still finite here.
DIVERGENCE_BOUND = 1e50

#: A run that ends with :math:`f(x_T) > f(x_0) + \text{rise}\,(\lvert f(x_0)\rvert + 1)` counts
#: as diverged, even when its iterate stayed below :data:`DIVERGENCE_BOUND` (a run that flew off
#: and then froze, e.g. RAdam on Rosenbrock's function at :math:`f \approx 10^{70}`).
DIVERGENCE_RISE = 1e10


def is_diverged(
    start_values: ArrayLike,
    final_values: ArrayLike,
    final_points: ArrayLike | None = None,
    *,
    bound: float = DIVERGENCE_BOUND,
    rise: float = DIVERGENCE_RISE,
) -> np.ndarray:
    r"""The course's one definition of a diverged run, per run of a batch.

    A run diverged if its final value :math:`f(x_T)` is not finite (NaN marks a run the runner
    stopped), if a coordinate of its final point is not finite or larger in size than ``bound``,
    or if it ended far above where it started:

    .. math::
        f(x_T) > f(x_0) + \text{rise}\,\bigl(\lvert f(x_0)\rvert + 1\bigr).

    ``start_values`` and ``final_values`` have the batch's shape; ``final_points`` (optional) has
    shape ``(*batch, d)``. Example: ``is_diverged(24.2, 2.6e70)`` is ``True``.
    """
    if not (np.isfinite(bound) and bound > 0):
        raise ValueError(f"bound must be a positive finite number, got {bound!r}")
    if not (np.isfinite(rise) and rise > 0):
        raise ValueError(f"rise must be a positive finite number, got {rise!r}")
    with np.errstate(all="ignore"):
        start = np.asarray(start_values, dtype=float)
        final = np.asarray(final_values, dtype=float)
        if start.shape != final.shape and start.ndim and final.ndim:
            start, final = np.broadcast_arrays(start, final)
        high = ~(final <= start + rise * (np.abs(start) + 1))  # NaN or far above: diverged
        if final_points is not None:
            points = np.asarray(final_points, dtype=float)
            high = high | ~np.all(np.abs(points) <= bound, axis=-1)
        return np.asarray(high, dtype=bool)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Everything a run visited.

    ``points`` has shape ``(steps + 1, *batch, d)``: row 0 is the start. ``diverged`` follows
    :func:`is_diverged`. For a run whose iterate overflowed, ``diverged_at`` is the step where it
    did and the rows from there on are NaN; a run that stayed finite but ended far above its start
    has ``diverged_at == steps`` and keeps its points; ``diverged_at`` is -1 for the other runs.
    ``states`` holds the recorded fields of the optimizer's state (see :func:`run`): field name
    to an array whose row ``k`` is the state after ``k`` steps (row 0 is ``init``'s).
    """

    objective: Objective
    optimizer: Optimizer
    points: Array
    diverged: np.ndarray
    diverged_at: np.ndarray
    states: dict[str, np.ndarray] = field(default_factory=dict)

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
            {name: _run_of(values, index, self.batch_shape) for name, values in self.states.items()},
        )


def run(
    objective: Objective,
    optimizer: Optimizer,
    x0: ArrayLike,
    steps: int,
    *,
    bound: float = DIVERGENCE_BOUND,
    rise: float = DIVERGENCE_RISE,
    objective_at: Callable[[int], Objective] | None = None,
    record: bool | Sequence[str] = False,
) -> Trajectory:
    r"""Apply ``optimizer`` to ``objective`` from ``x0`` for ``steps`` steps.

    ``x0`` has shape ``(d,)`` or ``(*batch, d)`` (a number for a 1-D objective); it is broadcast
    against the optimizer's hyperparameters, so ``GradientDescent(lr=np.geomspace(...))`` from
    one start point is a sweep over step sizes.

    Online learning: with ``objective_at``, step ``t = 1, 2, ...`` follows the gradient of
    ``objective_at(t)``, while the trajectory's values are those of ``objective``.

    ``record=True`` keeps every numeric field of the optimizer's state after every step in
    ``Trajectory.states`` (``record=("nu",)`` keeps only the fields named); e.g. Adam's
    ``states["nu"]`` is :math:`v_t` for :math:`t = 0, \dots, T`. A run that diverged keeps the
    state it had when it stopped.

    ``bound`` and ``rise`` are the thresholds of :func:`is_diverged`, which decides ``diverged``.
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
        recorder = _Recorder(state, record, steps)
        # Fast exact test of "no coordinate beyond the bound": the sum of squares is at most
        # bound² only if every |x_i| <= bound (NaN or overflow fails it). One BLAS call per step
        # instead of four ufuncs; the full test runs only when this one fails.
        squared_bound = bound * bound if np.isfinite(bound * bound) else -1.0
        update = _unchecked_update(optimizer)
        for k in range(1, steps + 1):
            loss = objective if objective_at is None else objective_at(k)
            if update is None:
                x, state = optimizer.step(loss, x, state)
            else:  # step's own work, with update's gradient check skipped when it must pass
                g, state = optimizer.gradient(loss, x, state)
                if type(g) is np.ndarray and g.dtype == np.float64 and g.shape == x.shape:
                    x, state = update(optimizer, g, x, state)
                else:
                    x, state = optimizer.update(g, x, state)  # checked: converts, or names grad
            if recorder.fields:
                recorder.keep(k, state)
            flat = np.ravel(x)
            if flat @ flat <= squared_bound:
                points[k] = x
                continue
            escaped = ~np.all(np.abs(x) <= bound, axis=-1)
            if escaped.any():
                diverged_at[escaped & (diverged_at < 0)] = k
                if np.all(diverged_at >= 0):
                    break
                x = np.where(escaped[..., None], np.nan, x)
            points[k] = x
        last = points[-1]
        start_values = objective.value(points[0])
        final_values = np.where(diverged_at >= 0, np.nan, objective.value(np.nan_to_num(last)))
    diverged = is_diverged(start_values, final_values, last, bound=bound, rise=rise)
    diverged_at = np.where(diverged & (diverged_at < 0), steps, diverged_at)
    return Trajectory(objective, optimizer, points, diverged, diverged_at, recorder.states)


def _unchecked_update(optimizer: Optimizer) -> Callable[..., tuple[Array, object]] | None:
    """A first-order rule's ``update`` without its gradient check, when ``step`` is the base
    class's (gradient, then checked update): the loop then checks the gradient itself at the cost
    of a shape comparison, and gets the same results. ``None`` for any other optimizer."""
    if not isinstance(optimizer, GradientOptimizer) or type(optimizer).step is not GradientOptimizer.step:
        return None
    return getattr(type(optimizer).update, "__wrapped_update__", None)


class _Recorder:
    """Copies the numeric fields of each state into arrays with a leading axis of steps."""

    def __init__(self, state: object, record: bool | Sequence[str], steps: int) -> None:
        fields = getattr(state, "_fields", ())
        numeric = [name for name in fields if _is_numeric(getattr(state, name))]
        if record is True:
            self.fields = numeric
        elif record is False or record is None:
            self.fields = []
        else:
            wanted = [record] if isinstance(record, str) else list(record)
            unknown = [name for name in wanted if name not in numeric]
            if unknown:
                raise ValueError(
                    f"record names {unknown}, but this optimizer's state has the fields "
                    f"{list(numeric)}"
                )
            self.fields = wanted
        self.steps = steps
        self.states: dict[str, np.ndarray] = {}
        self.keep(0, state)

    def keep(self, k: int, state: object) -> None:
        for name in self.fields:
            value = np.asarray(getattr(state, name))
            if name not in self.states:
                fill = -1 if np.issubdtype(value.dtype, np.integer) else np.nan
                self.states[name] = np.full((self.steps + 1, *value.shape), fill, dtype=value.dtype)
            self.states[name][k] = value


def _is_numeric(value: object) -> bool:
    return isinstance(value, int | float | np.ndarray | np.number) and not isinstance(value, bool)


def _run_of(values: np.ndarray, index: tuple[int, ...], batch: tuple[int, ...]) -> np.ndarray:
    """One run's rows of a recorded state field (fields without the batch axes are shared)."""
    if values.ndim - 1 >= len(batch) and values.shape[1:1 + len(batch)] == batch:
        return values[(slice(None), *index)]
    return values


def run_online(problem: OnlineProblem, optimizer: Optimizer, x0: ArrayLike, steps: int, *,
               record: bool | Sequence[str] = False) -> Trajectory:
    r"""Step ``optimizer`` on :math:`f_1, f_2, \dots, f_T` (``problem.loss_at(t)``) from ``x0``.

    Like :func:`run`, but step :math:`t` uses the gradient of its own loss :math:`f_t`. The
    trajectory's values are those of the average loss ``problem.average``.
    """
    return run(problem.average, optimizer, x0, steps, objective_at=problem.loss_at, record=record)



@dataclass(frozen=True)
class Continuation:
    """The stages of a continuation run: ``stages[j]`` minimised ``objectives[j]``."""

    sigmas: Array
    objectives: list[Objective]
    stages: list[Trajectory]

    @property
    def ends(self) -> Array:
        """Where each stage ended, shape ``(stages, *batch, d)``."""
        return np.stack([t.final for t in self.stages])

    @property
    def final(self) -> Array:
        """The end of the last stage: the answer for the last (least smoothed) objective."""
        return self.stages[-1].final



def continuation(
    objective_at: Callable[[float], Objective],
    sigmas: Sequence[float],
    optimizer: Optimizer,
    x0: ArrayLike,
    steps: int,
) -> Continuation:
    r"""Minimise :math:`f_{\sigma_0}, f_{\sigma_1}, \dots` in turn, each from where the last ended.

    ``objective_at(σ)`` builds the objective for one smoothing level; ``sigmas`` should shrink to
    0 so that the last stage minimises the original function. Each stage is ``steps`` steps of
    ``optimizer``.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    if sigmas.ndim != 1 or sigmas.size == 0:
        raise ValueError("sigmas must be a non-empty 1-D sequence")
    objectives, stages = [], []
    x = x0
    for sigma in sigmas:
        objective = objective_at(float(sigma))
        trajectory = run(objective, optimizer, x, steps)
        objectives.append(objective)
        stages.append(trajectory)
        x = trajectory.final
    return Continuation(sigmas, objectives, stages)

