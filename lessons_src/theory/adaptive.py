r"""Closed forms behind the adaptive methods: the step multiplier, moving averages started at zero
and their bias, the factor by which writing corrected moments back inflates them, and the drift
of Adam on Reddi et al.'s online problem.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..optim.adaptive import bias_correction
from ..optim.base import validate_decay


def step_multiplier(squares: ArrayLike, lr: ArrayLike = 1.0, eps: ArrayLike = 1e-8, *,
                    inside: bool = False) -> Array:
    r"""The gradient's multiplier :math:`\eta/(\sqrt s + \varepsilon)`.

    With ``inside=True`` it is :math:`\eta/\sqrt{s + \varepsilon}` instead.
    """
    s = np.asarray(squares, dtype=float)
    lr, eps = np.asarray(lr, dtype=float), np.asarray(eps, dtype=float)
    return lr / np.sqrt(s + eps) if inside else lr / (np.sqrt(s) + eps)


def ema_from_zero(samples: ArrayLike, beta: ArrayLike) -> Array:
    r"""The running averages :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` from :math:`m_0 = 0`.

    ``samples`` has the steps on its first axis (:math:`g_1, \dots, g_T`); the result has the
    same shape. ``beta`` broadcasts against one step's shape.
    """
    g = np.asarray(samples, dtype=float)
    beta = np.asarray(beta, dtype=float)
    out = np.empty(np.broadcast_shapes(g.shape, (1, *np.shape(beta))))
    m = np.zeros(out.shape[1:])
    for t in range(g.shape[0]):
        m = beta * m + (1 - beta) * g[t]
        out[t] = m
    return out


def ema_weights(beta: float, t: int) -> Array:
    r"""The weights of the unrolled average, :math:`m_t = \sum_{k=1}^{t} (1-\beta)\beta^{t-k} g_k`.

    Entry :math:`k-1` is the weight of :math:`g_k`; they add up to :math:`1 - \beta^t`.
    """
    k = np.arange(1, t + 1)
    return (1 - beta) * float(beta) ** (t - k)


def bias_factor(beta: ArrayLike, t: ArrayLike) -> Array:
    r""":math:`1 - \beta^t`.

    Under stationary gradients :math:`\mathbb E[m_t] = (1 - \beta^t)\,\mathbb E[g]`. The same
    weight Adam divides by (:func:`lessons_src.optim.bias_correction`, which this calls).
    """
    return bias_correction(np.asarray(beta, dtype=float), np.asarray(t, dtype=float))


def uncorrected_step_factor(beta1: ArrayLike, beta2: ArrayLike, t: ArrayLike) -> Array:
    r"""Adam's step without bias correction, in units of :math:`\eta`, for a constant gradient:
    :math:`|m_t|/\sqrt{v_t} = (1 - \beta_1^t)/\sqrt{1 - \beta_2^t}` (with :math:`\varepsilon = 0`).
    With the correction the same ratio is exactly 1.
    """
    return bias_factor(beta1, t) / np.sqrt(bias_factor(beta2, t))


def log10_writeback_factor(beta: float, t: ArrayLike) -> Array:
    r""":math:`\log_{10} P_t` with :math:`P_t = \prod_{k=1}^{t} \frac{1}{1 - \beta^k}`: the factor by which
    writing the corrected average back inflates it after :math:`t` steps.

    For the seed's recursion :math:`r_t = (\beta r_{t-1} + (1-\beta) g_t^2)/(1-\beta^t)` with
    :math:`|g_k| \le G` one has
    :math:`(1-\beta)\beta^{t-1} g_1^2\, P_t \le r_t \le G^2 P_t`.
    """
    t = np.asarray(t, dtype=int)
    if np.any(t < 1):
        raise ValueError("t must be at least 1")
    k = np.arange(1, int(np.max(t)) + 1)
    partial = np.cumsum(-np.log10(1 - float(beta) ** k))
    return partial[t - 1]


def reddi_period_drift(C: float, beta2: float, *, amsgrad: bool = False) -> float:
    r"""Adam's steady displacement over one period of :class:`ReddiProblem`, per unit step size.

    With :math:`\beta_1 = 0`, no bias correction and :math:`\varepsilon = 0`, the gradients
    cycle through :math:`(C, -1, -1)` and :math:`v` settles into a cycle
    :math:`(v_1, v_2, v_3)`; one period then moves :math:`x` by
    :math:`\eta\,(-C/\sqrt{v_1} + 1/\sqrt{v_2} + 1/\sqrt{v_3})` (away from the boundary, with a
    step size that changes little over three steps). AMSGrad divides all three by
    :math:`\sqrt{\max_j v_j} = \sqrt{v_1}`, which gives :math:`\eta\,(2 - C)/\sqrt{v_1} < 0`.
    """
    beta2 = float(validate_decay("beta2", beta2)[0])
    g = np.array([C, -1.0, -1.0])
    v = np.zeros(3)
    last = 0.0
    for _ in range(2000):  # iterate whole periods until the cycle of v is reached
        for j in range(3):
            last = beta2 * last + (1 - beta2) * g[j] ** 2
            v[j] = last
    denominator = np.full(3, v.max()) if amsgrad else v
    return float(np.sum(-g / np.sqrt(denominator)))

