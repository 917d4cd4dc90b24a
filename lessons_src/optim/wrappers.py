r"""Optimizers built around another optimizer: gradient clipping and projection onto an interval.

Like ``optax.chain``, a wrapper changes what the inner rule sees or where its step lands and
keeps the inner rule's state as its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..objectives.wrappers import ClippedGradient, clip_by_norm, validate_max_norm
from .base import GradientOptimizer, Optimizer, validate_number


def _check_inner(inner: Any) -> Optimizer:
    if not isinstance(inner, Optimizer):
        raise TypeError(f"inner must be an Optimizer, got {type(inner).__name__}")
    return inner


class _Wrapper(GradientOptimizer):
    """Asks for the gradient the inner rule asks for (its point, its sampler); an inner rule
    that needs more than the gradient (Newton, a line search) is stepped through ``step``."""

    inner: Optimizer

    def init(self, x: Array) -> Any:
        return self.inner.init(x)

    def grad_point(self, x: Array, state: Any) -> Array:
        return self.inner.grad_point(x, state)

    def gradient(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        return self.inner.gradient(objective, x, state)


class Clip(_Wrapper):
    r"""Any optimizer, fed gradients clipped to norm at most :math:`\tau`:

    .. math::
        \tilde g_k = g_k \min\!\left(1, \frac{\tau}{\|g_k\|}\right),

    then the inner optimizer's update with :math:`\tilde g_k` in place of :math:`g_k`. For
    gradient descent every step is at most :math:`\eta\tau` long. ``max_norm`` may be an array
    (a sweep over thresholds); ``np.inf`` switches clipping off.
    """

    name = "clip"

    def __init__(self, inner: Optimizer, max_norm: ArrayLike) -> None:
        self.inner = _check_inner(inner)
        self.max_norm = validate_max_norm(max_norm)

    def update(self, grad: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return self.inner.update(clip_by_norm(grad, self.max_norm), x, state)

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        if isinstance(self.inner, GradientOptimizer):
            return super().step(objective, x, state)
        return self.inner.step(ClippedGradient(objective, self.max_norm[..., 0]), x, state)


class Projected(_Wrapper):
    r"""Keep an optimizer inside an interval: :math:`x_{t} = \min(\max(\tilde x_t, \ell), h)`,
    where :math:`\tilde x_t` is the inner rule's next point.

    In one dimension this clip is also the projection in any metric
    :math:`\|\cdot\|_{\sqrt{\hat v}}` that AMSGrad's analysis uses, because every positive
    weighting of a line keeps its order.
    """

    name = "projected"

    def __init__(self, inner: Optimizer, lo: float, hi: float) -> None:
        self.inner = _check_inner(inner)
        self.lo, self.hi = validate_number("lo", lo), validate_number("hi", hi)
        if not self.lo < self.hi:
            raise ValueError(f"the interval must have lo < hi, got lo={lo}, hi={hi}")

    def update(self, grad: Array, x: Array, state: Any) -> tuple[Array, Any]:
        x_next, state = self.inner.update(grad, x, state)
        return np.clip(x_next, self.lo, self.hi), state

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        if isinstance(self.inner, GradientOptimizer):
            return super().step(objective, x, state)
        x_next, state = self.inner.step(objective, x, state)
        return np.clip(x_next, self.lo, self.hi), state
