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


class RpropState(NamedTuple):
    count: int
    prev: Array
    step_sizes: Array


class Rprop(GradientOptimizer):
    r"""Rprop (Riedmiller and Braun, 1993), PyTorch's ``Rprop``: every coordinate keeps its own
    step size, which grows while the gradient keeps its sign and shrinks when it flips,

    .. math::
        s_t = \operatorname{clip}\Bigl(s_{t-1}\cdot
            \begin{cases} \eta_+ & g_t\, p_{t-1} > 0\\ \eta_- & g_t\, p_{t-1} < 0\\
            1 & \text{otherwise}\end{cases},\ s_{\min},\ s_{\max}\Bigr), \qquad
        p_t = \begin{cases} 0 & g_t\, p_{t-1} < 0\\ g_t & \text{otherwise}\end{cases}, \qquad
        x_t = x_{t-1} - s_t \operatorname{sign}(p_t),

    with :math:`s_0 = \eta` (``lr``) and :math:`p_0 = 0`: after a sign flip the coordinate rests
    one step (its gradient is forgotten), as in PyTorch's iRprop⁻ variant.

    Defaults (PyTorch's): ``lr=0.01`` (the initial step size, not a step size schedule: it is
    read once, by ``init``), ``etaminus=0.5``, ``etaplus=1.2``, ``step_size_min=1e-6``,
    ``step_size_max=50``. ``torch.optim.Rprop(etas=(η₋, η₊), step_sizes=(s_min, s_max))``.

    >>> from lessons_src import Parabola, Rprop, run
    >>> run(Parabola(1, -2, 1), Rprop(lr=0.1), x0=5.0, steps=100).final
    array([1.00000057])
    """

    name = "rprop"

    def __init__(self, lr: ArrayLike = 0.01, etaminus: ArrayLike = 0.5,
                 etaplus: ArrayLike = 1.2, step_size_min: ArrayLike = 1e-6,
                 step_size_max: ArrayLike = 50.0) -> None:
        self.lr = validate_range("lr", lr, low=0.0, low_open=True)
        self.etaminus = validate_range("etaminus", etaminus, low=0.0, high=1.0, low_open=True)
        self.etaplus = validate_range("etaplus", etaplus, low=1.0, low_open=True)
        self.step_size_min = validate_range("step_size_min", step_size_min, low=0.0)
        self.step_size_max = validate_range("step_size_max", step_size_max, low=0.0,
                                            low_open=True)

    def init(self, x: Array) -> RpropState:
        return RpropState(0, np.zeros_like(x), np.zeros_like(x) + self.lr)

    def update(self, grad: Array, x: Array, state: RpropState) -> tuple[Array, RpropState]:
        agreement = np.sign(grad * state.prev)
        factor = np.where(agreement > 0, self.etaplus,
                          np.where(agreement < 0, self.etaminus, 1.0))
        step_sizes = np.clip(state.step_sizes * factor, self.step_size_min, self.step_size_max)
        prev = np.where(agreement < 0, 0.0, grad)
        x_next = x - np.sign(prev) * step_sizes
        return x_next, RpropState(state.count + 1, prev, step_sizes)
