r"""Objectives built from other objectives: rescaled, gradient clipped, value capped.

Gradient clipping is a gradient transformation, so it comes both as a wrapper objective here
(:class:`ClippedGradient`, whose ``grad`` is the clipped gradient) and as a wrapper optimizer
(:class:`lessons_src.optim.Clip`, like ``optax.chain(optax.clip_by_global_norm(τ), ...)``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..validation import validate_max_norm
from .base import Array, Objective

__all__ = ["ClippedGradient", "Scaled", "ValueClipped", "clip_by_norm", "validate_max_norm"]


class Scaled(Objective):
    r"""The objective :math:`c\,f(x)` for a constant :math:`c > 0`.

    Its gradient is :math:`c\nabla f` and its Hessian :math:`c\nabla^2 f`.
    """

    def __init__(self, objective: Objective, factor: float) -> None:
        if not (np.isfinite(factor) and factor > 0):
            raise ValueError(f"factor must be positive and finite, got {factor}")
        self.objective, self.factor = objective, float(factor)
        self.dim = objective.dim
        self.name = f"{self.factor:g} × {objective.name}"

    def value(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.grad(x)

    def hessian(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.hessian(x)


def clip_by_norm(g: ArrayLike, max_norm: ArrayLike) -> Array:
    r"""Rescale each gradient to length at most :math:`\tau`: :math:`g \min(1, \tau / \|g\|)`.

    ``g`` has shape ``(..., d)``; ``max_norm`` broadcasts against ``g[..., :1]`` (give it a
    trailing axis for a sweep). The direction never changes; a zero gradient stays zero.
    """
    g = np.asarray(g, dtype=float)
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    scale = np.minimum(1.0, np.asarray(max_norm, dtype=float) / np.maximum(norm, 1e-300))
    return g * scale


class ClippedGradient(Objective):
    r"""An objective whose ``grad`` is clipped: :math:`\operatorname{clip}_\tau(\nabla f(x))`.

    ``value`` and ``hessian`` are the wrapped objective's (so ``grad`` is no longer the
    derivative of ``value``: that is the point). Any optimizer run on this object
    sees clipped gradients, exactly as if ``clip_grad_norm_`` ran before each step.
    """

    def __init__(self, objective: Objective, max_norm: ArrayLike) -> None:
        self.objective = objective
        self.dim = objective.dim
        self.max_norm = validate_max_norm(max_norm)
        self.name = f"{objective.name}, gradient clipped"

    def value(self, x: ArrayLike) -> Array:
        return self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return clip_by_norm(self.objective.grad(x), self.max_norm)

    def hessian(self, x: ArrayLike) -> Array:
        return self.objective.hessian(x)



class ValueClipped(Objective):
    r"""An objective whose gradient is clipped coordinate by coordinate to :math:`[-\tau, \tau]`:
    :math:`\tilde g_i = \min(\max(g_i, -\tau), \tau)` (PyTorch's ``clip_grad_value_``).

    Unlike clipping by norm (:class:`ClippedGradient`), this can turn the gradient's direction.
    ``value`` and ``hessian`` are the wrapped objective's.
    """

    def __init__(self, objective: Objective, max_value: float) -> None:
        if not (np.isfinite(max_value) and max_value > 0):
            raise ValueError(f"max_value must be positive and finite, got {max_value!r}")
        self.objective, self.max_value = objective, float(max_value)
        self.dim = objective.dim
        self.name = f"{objective.name}, gradient clipped by value"

    def value(self, x: ArrayLike) -> Array:
        return self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return np.clip(self.objective.grad(x), -self.max_value, self.max_value)

    def hessian(self, x: ArrayLike) -> Array:
        return self.objective.hessian(x)
