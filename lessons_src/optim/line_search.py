r"""Choosing each step by a line search: gradient descent with backtracking (Armijo)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..schedules import Schedule
from .base import LineSearchOptimizer, check_gradient, validate_count, validate_range, validate_step_size


class ArmijoState(NamedTuple):
    count: int
    lr: Array  # the step accepted at the last step, per run, shape (..., 1)
    evaluations: Array  # loss evaluations spent so far, per run, shape (...)


def armijo_holds(objective: Objective, x: ArrayLike, lr: ArrayLike, c: ArrayLike) -> Array:
    r"""Whether the step :math:`\eta` from ``x`` decreases the loss enough (Armijo's condition):

    .. math::
        f(x - \eta g) \le f(x) - c_1\,\eta\,\|g\|^2, \qquad g = \nabla f(x).

    ``lr`` broadcasts against the batch of points ``x`` (shape ``(..., d)``); the result has the
    batch's shape.
    """
    x = np.asarray(x, dtype=float)
    lr = np.asarray(lr, dtype=float)
    g = objective.grad(x)
    trial = objective.value(x - lr[..., None] * g)
    return trial <= objective.value(x) - np.asarray(c, dtype=float) * lr * np.sum(g * g, axis=-1)


class Armijo(LineSearchOptimizer):
    r"""Gradient descent with a backtracking (Armijo) line search.

    Each step tries :math:`\eta = \eta_0, \gamma\eta_0, \gamma^2\eta_0, \dots` and takes the first
    that decreases the loss enough (:func:`armijo_holds`):

    .. math::
        f(x - \eta g) \le f(x) - c_1\,\eta\,\|g\|^2, \qquad g = \nabla f(x).

    ``lr`` is :math:`\eta_0`, ``shrink`` is :math:`\gamma \in (0, 1)`, ``c`` is :math:`c_1 \in (0, 1)`.
    After ``max_backtracks`` failures the step is taken with the last, smallest :math:`\eta`. The
    state keeps the step count, the accepted :math:`\eta` per run and the number of loss
    evaluations spent (each trial costs one).
    """

    name = "armijo"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, shrink: ArrayLike = 0.5,
                 c: ArrayLike = 1e-4, max_backtracks: int = 60) -> None:
        self.lr = validate_step_size("lr", lr)
        self.shrink = validate_range("shrink", shrink, low=0.0, high=1.0, low_open=True)
        self.c = validate_range("c", c, low=0.0, high=1.0, low_open=True)
        self.max_backtracks = validate_count("max_backtracks", max_backtracks)

    def init(self, x: Array) -> ArmijoState:
        runs = np.broadcast_shapes(x.shape[:-1], self.batch_shape)
        return ArmijoState(0, np.full((*runs, 1), np.nan), np.zeros(runs, dtype=int))

    def update(self, grad: Array, x: Array, state: ArmijoState,
               value: Callable[[Array], Array]) -> tuple[Array, ArmijoState]:
        g = check_gradient(grad, x)
        f0 = value(x)
        slope = np.sum(g * g, axis=-1)  # ‖g‖²
        lr = np.broadcast_to(self.step_size(state.count), (*x.shape[:-1], 1)).copy()
        evaluations = state.evaluations + 1  # f(x) itself
        done = np.zeros(x.shape[:-1], dtype=bool)
        for attempt in range(self.max_backtracks + 1):
            trial = value(x - lr * g)
            evaluations = evaluations + ~done
            done |= trial <= f0 - self.c[..., 0] * lr[..., 0] * slope
            if done.all() or attempt == self.max_backtracks:
                break
            lr = np.where(done[..., None], lr, lr * self.shrink)
        return x - lr * g, ArmijoState(state.count + 1, lr, evaluations)
