r"""Measuring runs: when a series first crosses a threshold, how fast errors shrink, how a run
moves at the end, and what the steps and gradients of a run look like.

These read a :class:`~lessons_src.runner.Trajectory` (or its arrays) after the fact; the closed
forms they are compared with live in :mod:`lessons_src.theory`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives.base import Array, Objective, as_points
from .objectives.minibatch import check_batch_size, check_finite_sum
from .optim.base import Optimizer
from .runner import Trajectory


def first_true(condition: ArrayLike, *, missing: Any = "raise") -> Any:
    """The first step (index on the first axis) at which ``condition`` holds, per run.

    ``condition`` is a boolean array with steps on its first axis, e.g.
    ``trajectory.values < 1e-8``. A run in which it never holds has no answer: by default that
    raises a ``ValueError`` saying so; with ``missing=`` that value is returned for such runs
    instead (``missing=None`` for a single run, ``missing=-1`` or ``np.nan`` for a batch).
    Returns an ``int`` for a single run (a 1-D ``condition``), else an array of the batch's shape.
    """
    held = np.asarray(condition, dtype=bool)
    if held.ndim == 0:
        raise ValueError("condition must have steps on its first axis, got a single value")
    ever = held.any(axis=0)
    first = np.argmax(held, axis=0)
    raising = isinstance(missing, str) and missing == "raise"
    if raising and not np.all(ever):
        runs = int(np.size(ever) - np.count_nonzero(ever))
        raise ValueError(
            f"the condition never holds in {held.shape[0]} steps for {runs} run(s); pass "
            "missing= to get a placeholder for them instead"
        )
    if held.ndim == 1:
        return int(first) if ever else missing
    # with a placeholder, the result has the placeholder's type (float for np.nan) in every run
    return first if raising else np.where(ever, first, missing)


def first_below(series: ArrayLike, threshold: ArrayLike, *, missing: Any = "raise") -> Any:
    """The first step at which ``series`` (steps on the first axis) is below ``threshold``.

    ``first_below(trajectory.distances(x_star), 1e-8)`` counts the steps to reach a tolerance.
    When a run never gets below it, see :func:`first_true` (an error unless ``missing=`` is given).
    NaN, the value of a diverged run, is never below anything.
    """
    with np.errstate(invalid="ignore"):
        return first_true(np.asarray(series, dtype=float) < threshold, missing=missing)

def rate_from_ratios(errors: ArrayLike, tail: int = 20) -> Array:
    r"""Measured contraction per step: the geometric mean of :math:`e_{k+1}/e_k` over the last ``tail`` steps.

    ``errors`` has steps on its first axis (e.g. :meth:`Trajectory.distances`). Steps where the
    error has reached zero or the floor of float arithmetic are left out.
    """
    e = np.asarray(errors, dtype=float)[-(tail + 1):]
    with np.errstate(all="ignore"):
        ratios = e[1:] / e[:-1]
        usable = (e[:-1] > 1e-300) & np.isfinite(ratios) & (ratios > 0)
        logs = np.where(usable, np.log(np.where(usable, ratios, 1.0)), 0.0)
        return np.exp(logs.sum(axis=0) / np.maximum(usable.sum(axis=0), 1))


def rate_from_envelope(errors: ArrayLike, span: int = 150, window: int = 12) -> Array:
    r"""Measured contraction per step of an oscillating error, from its envelope:

    .. math::
        \Bigl(\max_{\text{last } w \text{ steps}} e \big/
        \max_{w \text{ steps, } s \text{ earlier}} e\Bigr)^{1/s}.

    ``errors`` has steps on its first axis (e.g. :meth:`Trajectory.distances`). Taking maxima
    over a window of ``window`` steps ignores the zero crossings of a spiralling error, which
    make :func:`rate_from_ratios` noisy. Needs ``span + window`` steps.
    """
    e = np.asarray(errors, dtype=float)
    if e.shape[0] < span + window:
        raise ValueError(f"need at least {span + window} steps, got {e.shape[0]}")
    with np.errstate(all="ignore"):
        late = np.max(e[-window:], axis=0)
        early = np.max(e[-window - span:-span], axis=0)
        return (late / early) ** (1 / span)


def u_turns(coordinate: ArrayLike, tol: float = 1e-3) -> Array:
    r"""How many times a run crosses the line :math:`x_i = x_i^*` (sign changes of the error
    ``coordinate``, steps on the first axis); values within ``tol`` of zero are skipped."""
    c = np.asarray(coordinate, dtype=float)
    signs = np.where(np.abs(c) < tol, 0.0, np.sign(c))
    signs = np.moveaxis(signs, 0, -1).reshape(-1, c.shape[0])
    counts = [np.count_nonzero(np.diff(row[row != 0])) for row in signs]
    return np.array(counts).reshape(c.shape[1:])


def lookahead_points(points: ArrayLike, beta: ArrayLike) -> Array:
    r"""The look-ahead points :math:`p_k = x_k + \beta v_k` of a momentum or Nesterov run.

    ``points`` are the iterates :math:`x_k` (steps on the first axis); the velocity is recovered
    as :math:`v_k = x_k - x_{k-1}` with :math:`v_0 = 0`. For Nesterov these :math:`p_k` are the
    iterates of PyTorch's ``SGD(nesterov=True)``.
    """
    x = np.asarray(points, dtype=float)
    v = np.concatenate([np.zeros_like(x[:1]), np.diff(x, axis=0)], axis=0)
    return x + np.asarray(beta, dtype=float)[..., None] * v


def tail_range(points: ArrayLike, tail: int) -> Array:
    """The width ``max - min`` of the last ``tail`` iterates of each run (0 for a run that settled).

    ``points`` is a 1-D trajectory's ``points`` array, shape ``(steps + 1, *batch, 1)``.
    """
    last = np.asarray(points, dtype=float)[-tail:, ..., 0]
    return last.max(axis=0) - last.min(axis=0)


def local_minima_1d(objective: Objective, lo: float, hi: float, n: int = 200_001) -> Array:
    """All local minima of a 1-D objective in ``[lo, hi]``: where :math:`f'` turns from - to +.

    Found on a grid of ``n`` points, then polished by Newton steps :math:`x - f'(x)/f''(x)`.
    """
    grid = np.linspace(lo, hi, n)
    slope = objective.grad(grid[:, None])[:, 0]
    crossing = np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0))
    x = (grid[crossing] + grid[crossing + 1])[:, None] / 2
    for _ in range(8):
        x = x - objective.grad(x) / objective.hessian(x)[..., 0]
    return x[:, 0]


def effective_steps(trajectory: Trajectory) -> Array:
    r"""The per-coordinate step actually taken, :math:`\eta_k = (x_k - x_{k+1}) / g_k`.

    For rules without momentum (gradient descent, AdaGrad, RMSProp) this is the multiplier of
    the gradient, e.g. :math:`\eta/(\sqrt{s_{k+1}} + \varepsilon)` for AdaGrad. Shape
    ``(steps, *batch, d)``; NaN where :math:`g_k = 0`.
    """
    points = trajectory.points
    with np.errstate(all="ignore"):
        g = trajectory.objective.grad(points[:-1])
        return np.where(g != 0, (points[:-1] - points[1:]) / g, np.nan)


def sample_minibatch_grads(objective: Objective, x: ArrayLike, batch_size: int, draws: int, *,
                           seed: int = 0, replace: bool = True) -> Array:
    r"""``draws`` independent mini-batch gradients :math:`\hat g` at one point ``x`` of shape (d,).

    Returns shape ``(draws, d)``. With ``replace=False`` each batch holds ``batch_size``
    distinct examples (a random subset), as one batch of a shuffled epoch does.
    """
    check_finite_sum(objective)
    point = as_points(x, objective.dim)
    if point.ndim != 1:
        raise ValueError("sample_minibatch_grads takes a single point of shape (d,)")
    n = objective.n_examples
    check_batch_size(batch_size, n, replace)
    rng = np.random.default_rng(seed)
    if replace:
        index = rng.integers(0, n, size=(draws, batch_size))
    else:
        # the batch_size smallest of n uniform keys form a uniformly random subset
        keys = rng.random((draws, n))
        index = np.argpartition(keys, batch_size - 1, axis=-1)[:, :batch_size]
    return objective.minibatch_grad(point, index)



class Memory(NamedTuple):
    """What an optimizer keeps: numbers per coordinate, and the fields of its state."""

    per_parameter: int
    fields: int


def memory_per_parameter(optimizer: Optimizer, steps: int = 5) -> Memory:
    """How many numbers per coordinate ``optimizer`` keeps beyond the parameters themselves.

    After ``steps`` steps on a 2-D quadratic whose coordinates see different gradients, a state
    field counts if it has one entry per coordinate, its entries differ, and it is not the same
    array as a field already counted (a scalar such as NAdam's momentum product, or an empty
    slot such as Adam's ``nu_max`` without AMSGrad, costs nothing). ``fields`` counts every
    field but the step count. Example: ``memory_per_parameter(Adam(lr=0.1))`` is ``(2, 3)``.
    """
    from .objectives.quadratics import QuadraticND

    f = QuadraticND.from_eigenvalues([1.0, 3.0], minimizer=[1.0, -2.0])
    x = np.array([3.0, 4.0])
    state = optimizer.init(x)
    varies = set()
    for _ in range(steps):
        x, state = optimizer.step(f, x, state)
        for name in state._fields[1:]:  # skip the step count
            value = np.asarray(getattr(state, name))
            if value.shape == x.shape and np.ptp(value) > 0:
                varies.add(name)
    kept: list[Any] = []
    for name in state._fields[1:]:
        value = getattr(state, name)
        if name in varies and not any(value is other for other in kept):
            kept.append(value)
    return Memory(len(kept), len(state._fields) - 1)
