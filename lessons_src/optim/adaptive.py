r"""Adaptive step sizes: AdaGrad, RMSProp, Adam (with AMSGrad), and an Adam that goes wrong.

Each divides the step by a running measure of the squared gradients, coordinate by coordinate.
Symbols follow the chapters: :math:`s_t` accumulated squares, :math:`\rho` RMSProp's decay,
:math:`m_t, v_t` Adam's moments, :math:`\beta_1, \beta_2` their decay rates, :math:`\varepsilon`
the guard of the division.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..schedules import Schedule
from .base import Optimizer, validate_decay, validate_guard, validate_step_size


class SquaresState(NamedTuple):
    count: int
    squares: Array


def _denominator(squares: Array, eps: Array, inside: bool) -> Array:
    r""":math:`\sqrt s + \varepsilon`, or :math:`\sqrt{s + \varepsilon}` with ``inside``."""
    return np.sqrt(squares + eps) if inside else np.sqrt(squares) + eps


class AdaGrad(Optimizer):
    r"""AdaGrad: per-coordinate steps shrunk by all past squared gradients,

    .. math::
        s_{k+1} = s_k + g_k^2, \qquad x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.

    ``eps_inside=True`` divides by :math:`\sqrt{s_{k+1} + \varepsilon}` instead.
    """

    name = "adagrad"

    def __init__(self, lr: ArrayLike | Schedule, eps: ArrayLike = 1e-10, *,
                 eps_inside: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.eps = validate_guard(eps)
        self.eps_inside = bool(eps_inside)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(0, np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = state.squares + g**2
        x_next = x - self.step_size(state.count) * g / _denominator(s, self.eps, self.eps_inside)
        return x_next, SquaresState(state.count + 1, s)


class RMSProp(Optimizer):
    r"""RMSProp: AdaGrad with an exponential moving average of squared gradients,

    .. math::
        s_{k+1} = \rho s_k + (1 - \rho) g_k^2, \qquad
        x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.

    :math:`\rho` is PyTorch's ``alpha``. ``eps_inside=True`` divides by
    :math:`\sqrt{s_{k+1} + \varepsilon}` instead (as in Goodfellow et al., Algorithm 8.5).
    """

    name = "rmsprop"

    def __init__(self, lr: ArrayLike | Schedule, rho: ArrayLike = 0.99, eps: ArrayLike = 1e-8, *,
                 eps_inside: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.rho = validate_decay("rho", rho)
        self.eps = validate_guard(eps)
        self.eps_inside = bool(eps_inside)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(0, np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = self.rho * state.squares + (1 - self.rho) * g**2
        x_next = x - self.step_size(state.count) * g / _denominator(s, self.eps, self.eps_inside)
        return x_next, SquaresState(state.count + 1, s)


class AdamState(NamedTuple):
    count: int
    mu: Array
    nu: Array
    nu_max: Array


def debias(moment: Array, decay: ArrayLike, count: int) -> Array:
    r"""Undo the pull towards zero of an average started at zero: :math:`\hat m_t = m_t / (1 - \beta^t)`."""
    return moment / (1 - decay**count)


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected,

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        x_t = x_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},

    with :math:`\hat m_t = m_t / (1-\beta_1^t)` and :math:`\hat v_t = v_t / (1-\beta_2^t)`
    (:func:`debias`). ``bias_correction=False`` uses :math:`m_t, v_t` as they are.
    ``amsgrad=True`` (Reddi et al., 2018, in PyTorch's form) keeps
    :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)` and divides by
    :math:`\sqrt{v^{\max}_t / (1-\beta_2^t)} + \varepsilon`.
    """

    name = "adam"

    def __init__(self, lr: ArrayLike | Schedule, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8, *, bias_correction: bool = True,
                 amsgrad: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)
        self.bias_correction = bool(bias_correction)
        self.amsgrad = bool(amsgrad)

    def init(self, x: Array) -> AdamState:
        zeros = np.zeros_like(x)
        return AdamState(0, zeros, zeros, zeros)

    def step(self, objective: Objective, x: Array, state: AdamState):
        t = state.count + 1
        g = objective.grad(x)
        m = self.beta1 * state.mu + (1 - self.beta1) * g
        v = self.beta2 * state.nu + (1 - self.beta2) * g**2
        v_max = np.maximum(state.nu_max, v) if self.amsgrad else v
        if self.bias_correction:
            m_hat = debias(m, self.beta1, t)
            v_hat = debias(v_max, self.beta2, t)
        else:
            m_hat, v_hat = m, v_max
        x_next = x - self.step_size(state.count) * m_hat / (np.sqrt(v_hat) + self.eps)
        return x_next, AdamState(t, m, v, v_max)


class WriteBackState(NamedTuple):
    count: int
    m: Array
    v: Array


class WriteBackAdam(Optimizer):
    r"""Adam with a bug found in published code: the corrected moments are written back,

    .. math::
        m_t = \frac{\beta_1 m_{t-1} + (1-\beta_1) g_t}{1 - \beta_1^t}, \qquad
        v_t = \frac{\beta_2 v_{t-1} + (1-\beta_2) g_t^2}{1 - \beta_2^t}, \qquad
        x_t = x_{t-1} - \frac{\eta}{\varepsilon + \sqrt{v_t}}\, m_t .

    Because the corrected values replace the running averages, the next step corrects them again
    and the corrections compound (:func:`lessons_src.theory.log10_writeback_factor`). Real Adam
    (:class:`Adam`) keeps :math:`m_t, v_t` and corrects copies.
    """

    name = "write-back-adam"

    def __init__(self, lr: ArrayLike | Schedule, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> WriteBackState:
        zeros = np.zeros_like(x)
        return WriteBackState(0, zeros, zeros)

    def step(self, objective: Objective, x: Array, state: WriteBackState):
        t = state.count + 1
        g = objective.grad(x)
        m = (self.beta1 * state.m + (1 - self.beta1) * g) / (1 - self.beta1**t)
        v = (self.beta2 * state.v + (1 - self.beta2) * g**2) / (1 - self.beta2**t)
        lr = self.step_size(state.count)
        return x - lr / (self.eps + np.sqrt(v)) * m, WriteBackState(t, m, v)
