r"""Averaging methods: the iterate steps as SGD does, and an average of the iterates is the answer."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from .base import GradientOptimizer, validate_positive, validate_range

__all__ = ["ASGD", "ASGDState"]


class ASGDState(NamedTuple):
    count: int
    average: Array


class ASGD(GradientOptimizer):
    r"""Averaged SGD (Polyak and Juditsky, 1992), in PyTorch's form (``torch.optim.ASGD``, after
    Bottou's implementation): SGD with a decaying step and a slight shrinkage of the iterate, and
    the running average of the iterates from step :math:`t_0` on,

    .. math::
        \eta_t = \frac{\eta}{(1 + \lambda\eta (t-1))^{\alpha}}, \qquad
        x_t = (1 - \lambda\eta_t)\, x_{t-1} - \eta_t\,(g_t + w\, x_{t-1}), \qquad
        \bar x_t = \bar x_{t-1} + \mu_t (x_t - \bar x_{t-1}), \quad
        \mu_t = \frac{1}{\max(1,\ t - 1 - t_0)},

    so :math:`\bar x_t = x_t` until step :math:`t_0 + 2`, and afterwards the mean of the iterates
    since then. The points the run visits are the :math:`x_t`; the averaged iterate is the
    state's ``average`` (PyTorch's ``state["ax"]``).

    Defaults (PyTorch's): ``lr=0.01``, ``lambd=1e-4``, ``alpha=0.75``, ``t0=1e6`` (averaging
    never starts in a short run), ``weight_decay=0`` (:math:`w`, L2 added to the gradient).
    ``lr`` is a number or an array (a sweep), not a schedule: the rule makes its own.

    >>> from lessons_src import ASGD, Parabola, run
    >>> trajectory = run(Parabola(1, -2, 1), ASGD(lr=0.1, t0=50), x0=5.0, steps=200, record=True)
    >>> trajectory.states["average"][-1]
    array([0.99995123])
    """

    name = "asgd"

    def __init__(self, lr: ArrayLike = 0.01, lambd: ArrayLike = 1e-4, alpha: ArrayLike = 0.75,
                 t0: ArrayLike = 1e6, weight_decay: ArrayLike = 0.0) -> None:
        self.lr = validate_positive("lr", lr)
        self.lambd = validate_range("lambd", lambd, low=0.0)
        self.alpha = validate_range("alpha", alpha, low=0.0)
        self.t0 = validate_range("t0", t0, low=0.0)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def init(self, x: Array) -> ASGDState:
        return ASGDState(0, np.zeros_like(x))

    def eta(self, count: int) -> Array:
        r""":math:`\eta_t` for the step that follows ``count`` steps."""
        return self.lr / ((1 + self.lambd * self.lr * count) ** self.alpha)

    def mu(self, count: int) -> Array:
        r""":math:`\mu_t`, the weight of the new iterate in the average, after ``count`` steps."""
        return 1 / np.maximum(1.0, count - self.t0)

    def update(self, grad: Array, x: Array, state: ASGDState) -> tuple[Array, ASGDState]:
        if np.any(self.weight_decay):
            grad = grad + self.weight_decay * x
        eta = self.eta(state.count)
        x_next = x * (1 - self.lambd * eta) - eta * grad
        mu = self.mu(state.count)
        average = np.where(mu == 1, x_next, state.average + (x_next - state.average) * mu)
        return x_next, ASGDState(state.count + 1, average)
