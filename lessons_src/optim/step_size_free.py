r"""Step sizes that estimate themselves: Prodigy, Adam with a running estimate of the distance to
the solution (D-adaptation).

Symbols: :math:`d_t` the estimate of the distance :math:`D = \lVert x_0 - x^\star\rVert`,
:math:`d_0` its (tiny) start, :math:`\eta` a multiplier of the estimated step (1 by default).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import (
    GradientOptimizer,
    validate_decay,
    validate_guard,
    validate_positive,
    validate_range,
    validate_step_size,
)

__all__ = ["Prodigy", "ProdigyState"]


class ProdigyState(NamedTuple):
    count: int
    x0: Array
    mu: Array
    nu: Array
    s: Array
    numerator: Array
    d: Array
    d_max: Array


class Prodigy(GradientOptimizer):
    r"""Prodigy (Mishchenko and Defazio, 2024): Adam whose step size is :math:`d_t\,\eta`, with
    :math:`d_t` a lower estimate of the distance to the solution that only grows,

    .. math::
        &m_t = \beta_1 m_{t-1} + (1-\beta_1)\, d_t\, g_t, \qquad
         v_t = \beta_2 v_{t-1} + (1-\beta_2)\, d_t^2\, g_t^2, \\
        &r_t = \beta_3 r_{t-1} + \frac{d_t}{d_0}\, d_t\eta\, \langle g_t, x_0 - x_t\rangle, \qquad
         s_t = \beta_3 s_{t-1} + \frac{d_t}{d_0}\, d_t\eta\, g_t, \\
        &d_{t+1} = \max\Bigl(d_t,\ \frac{r_t}{\lVert s_t\rVert_1}\Bigr), \qquad
         x_{t+1} = x_t - d_t\eta\, \frac{m_t}{\sqrt{v_t} + d_{t+1}\varepsilon},

    for :math:`t = 0, 1, \dots` from :math:`x_0`, the start estimate :math:`d_0` (``d0``) and
    :math:`m_{-1} = v_{-1} = r_{-1} = s_{-1} = 0`, with :math:`\beta_3 = \sqrt{\beta_2}` by
    default. The estimate
    :math:`r_t/\lVert s_t\rVert_1` is D-adaptation's: by convexity
    :math:`\langle g_t, x_t - x^\star\rangle \ge 0`, so :math:`r_t`, which weighs the
    :math:`\langle g_t, x_0 - x_t\rangle` as :math:`s_t` weighs the :math:`g_t`, is at most
    :math:`\lVert x_0 - x^\star\rVert_\infty \lVert s_t\rVert_1`: on a convex problem with exact
    gradients :math:`d_t` stays below :math:`\max(d_0, \lVert x_0 - x^\star\rVert_\infty)`, for any
    :math:`\beta_3`.

    Options as the reference's: ``d_coef`` multiplies the estimate; ``growth_rate`` caps
    :math:`d_{t+1} \le` ``growth_rate`` :math:`\cdot\, d_t` (``None``: no cap, the reference's
    ``inf``); ``use_bias_correction`` multiplies the
    step by :math:`\sqrt{1-\beta_2^t}/(1-\beta_1^t)`; ``safeguard_warmup`` leaves :math:`\eta` out
    of :math:`s_t`; ``weight_decay=λ`` shrinks :math:`x_t` by :math:`1 - \lambda d_t\eta` first
    (``decouple=True``) or adds :math:`\lambda x_t` to the gradient (``decouple=False``).
    ``x`` is one vector per run (shape ``(..., d)``): the inner product and the norm run over its
    last axis.

    Defaults (``prodigyopt.Prodigy`` 1.1's): ``lr=1.0`` (:math:`\eta`), ``beta1=0.9``,
    ``beta2=0.999``, ``beta3=None``, ``eps=1e-8``, ``d0=1e-6``, ``d_coef=1.0``,
    ``growth_rate=None``, ``weight_decay=0``, ``decouple=True``, ``use_bias_correction=False``,
    ``safeguard_warmup=False``. Agrees with it (``tests/test_schedule_free_parity.py``).

    >>> from lessons_src import Parabola, Prodigy, run
    >>> trajectory = run(Parabola(1, -2, 1), Prodigy(), x0=5.0, steps=300, record=("d",))
    >>> 1 < trajectory.states["d"][-1].item() < 8
    True
    """

    name = "prodigy"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, beta3: ArrayLike | None = None, eps: ArrayLike = 1e-8, *,
                 d0: ArrayLike = 1e-6, d_coef: ArrayLike = 1.0, growth_rate: ArrayLike | None = None,
                 weight_decay: ArrayLike = 0.0, decouple: bool = True,
                 use_bias_correction: bool = False, safeguard_warmup: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.beta3 = np.sqrt(self.beta2) if beta3 is None else validate_decay("beta3", beta3)
        self.eps = validate_guard(eps)
        self.d0 = validate_positive("d0", d0)
        self.d_coef = validate_positive("d_coef", d_coef)
        self.growth_rate = None if growth_rate is None else validate_range("growth_rate", growth_rate,
                                                                           low=1.0)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)
        self.decouple = bool(decouple)
        self.use_bias_correction = bool(use_bias_correction)
        self.safeguard_warmup = bool(safeguard_warmup)

    def init(self, x: Array) -> ProdigyState:
        runs = np.zeros_like(x[..., :1])
        return ProdigyState(0, np.array(x, dtype=float, copy=True), np.zeros_like(x), np.zeros_like(x),
                            np.zeros_like(x), runs.copy(), runs + self.d0, runs + self.d0)

    def update(self, grad: Array, x: Array, state: ProdigyState) -> tuple[Array, ProdigyState]:
        t = state.count + 1
        d = state.d
        if self.use_bias_correction:
            correction = np.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        else:
            correction = 1.0
        dlr = d * self.step_size(state.count) * correction
        if np.any(self.weight_decay) and not self.decouple:
            grad = grad + self.weight_decay * x
        progress = np.sum(grad * (state.x0 - x), axis=-1, keepdims=True)
        numerator = state.numerator * self.beta3 + (d / self.d0) * dlr * progress
        mu = state.mu * self.beta1 + grad * (d * (1 - self.beta1))
        nu = state.nu * self.beta2 + grad * grad * (d * d * (1 - self.beta2))
        s = state.s * self.beta3 + grad * ((d / self.d0) * (d if self.safeguard_warmup else dlr))
        norm = np.sum(np.abs(s), axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_hat = np.where(norm > 0, self.d_coef * numerator / norm, 0.0)
        d_next = np.where(d == self.d0, np.maximum(d, d_hat), d)
        d_max = np.maximum(state.d_max, d_hat)
        d_next = d_max.copy() if self.growth_rate is None else np.minimum(d_max, d_next * self.growth_rate)
        denominator = np.sqrt(nu) + d_next * self.eps
        if np.any(self.weight_decay) and self.decouple:
            x = x + x * (-self.weight_decay * dlr)
        x_next = x - dlr * (mu / denominator)
        return x_next, ProdigyState(t, state.x0, mu, nu, s, numerator, d_next, d_max)
