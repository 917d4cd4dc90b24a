r"""Sign methods: every coordinate moves by the same amount, only the direction is learnt."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import GradientOptimizer, validate_decay, validate_range, validate_step_size


class LionState(NamedTuple):
    count: int
    mu: Array


class Lion(GradientOptimizer):
    r"""Lion (Chen et al., 2023): the sign of an interpolated momentum, with decoupled decay,

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        x_t = x_{t-1} - \eta\bigl(\operatorname{sign}(c_t) + \lambda x_{t-1}\bigr), \qquad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t .

    Every coordinate moves by exactly :math:`\eta` (plus the decay): the step's size does not
    depend on the gradient's, only its direction does. It keeps one moment per parameter, half
    of Adam's memory.
    """

    name = "lion"

    def __init__(self, lr: ArrayLike | Schedule = 1e-4, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.99, weight_decay: ArrayLike = 0.0) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def init(self, x: Array) -> LionState:
        return LionState(0, np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: LionState) -> tuple[Array, LionState]:
        interpolated = self.beta1 * state.mu + (1 - self.beta1) * grad
        lr = self.step_size(state.count)
        x_next = x - lr * (np.sign(interpolated) + self.weight_decay * x)
        m = self.beta2 * state.mu + (1 - self.beta2) * grad
        return x_next, LionState(state.count + 1, m)
