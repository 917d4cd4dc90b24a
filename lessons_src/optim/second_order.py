r"""Second-order rules: Newton's method, damped and regularised."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import CurvatureOptimizer, check_gradient, validate_range, validate_step_size


class NewtonState(NamedTuple):
    count: int


class Newton(CurvatureOptimizer):
    r"""Newton's method, optionally damped and regularised:

    .. math::
        x_{k+1} = x_k - \eta\,\bigl(\nabla^2 f(x_k) + \alpha I\bigr)^{-1} g_k.

    With :math:`\eta = 1, \alpha = 0` it jumps to the minimum of the local quadratic model; in 1-D
    the step is :math:`f'(x)/(f''(x) + \alpha)`.
    """

    name = "newton"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, alpha: ArrayLike = 0.0) -> None:
        self.lr = validate_step_size("lr", lr)
        self.alpha = validate_range("alpha", alpha, low=0.0)

    def init(self, x: Array) -> NewtonState:
        return NewtonState(0)

    def update(self, grad: Array, hessian: Array, x: Array,
               state: NewtonState) -> tuple[Array, NewtonState]:
        grad = check_gradient(grad, x)
        if x.shape[-1] == 1:
            direction = grad / (hessian[..., 0] + self.alpha)
        else:
            regularised = hessian + self.alpha[..., None] * np.eye(x.shape[-1])
            direction = solve_batched(regularised, grad)
        return x - self.step_size(state.count) * direction, NewtonState(state.count + 1)


def solve_batched(H: Array, g: Array) -> Array:
    """Solve ``H d = g`` for a batch; a singular system gives NaN for that run only."""
    H, g = np.broadcast_arrays(H, g[..., None])
    try:
        return np.linalg.solve(H, g)[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(g.shape[:-1], np.nan)
        for index in np.ndindex(g.shape[:-2]):
            try:
                out[index] = np.linalg.solve(H[index], g[index])[..., 0]
            except np.linalg.LinAlgError:
                pass
        return out
