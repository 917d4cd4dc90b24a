r"""The interface every objective follows: value, gradient and Hessian on batches of points.

Every objective works on *batches of points*: an array of shape ``(..., d)`` holds one point per
leading index, its last axis being the ``d`` coordinates. Then

* ``value(x)`` has shape ``(...)``,
* ``grad(x)`` has shape ``(..., d)``,
* ``hessian(x)`` has shape ``(..., d, d)``.

One-dimensional objectives use ``d = 1``, so a single point is ``np.array([5.0])`` and a sweep of
start points is a column ``x0[:, None]``. A *finite sum* (a loss with one term per training
example) also offers ``n_examples`` and ``minibatch_grad`` (:class:`FiniteSum`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

def as_points(x: ArrayLike, dim: int) -> Array:
    """Return ``x`` as a float array of points whose last axis has length ``dim``.

    A bare number is accepted for one-dimensional objectives.
    """
    points = np.asarray(x, dtype=float)
    if dim == 1 and points.ndim == 0:
        points = points[None]
    if points.ndim == 0 or points.shape[-1] != dim:
        raise ValueError(
            f"points must have shape (..., {dim}) for this {dim}-D objective, "
            f"got shape {points.shape}"
        )
    return points


def as_direction(vector: ArrayLike, dim: int, point_name: str = "x") -> Array:
    """Return ``vector`` as a float array of directions in :math:`\\mathbb{R}^{dim}`, or raise a
    ``ValueError`` that names ``vector`` (and the point ``point_name`` it must match)."""
    try:
        return as_points(vector, dim)
    except ValueError:
        raise ValueError(f"vector must have shape (..., {dim}) like {point_name}, "
                         f"got shape {np.shape(vector)}") from None


class Objective(ABC):
    """A twice-differentiable function :math:`f:\\mathbb{R}^d \\to \\mathbb{R}`."""

    dim: int
    name: str

    def __call__(self, x: ArrayLike) -> Array:
        return self.value(x)

    @abstractmethod
    def value(self, x: ArrayLike) -> Array:
        """:math:`f(x)`, shape ``(...)``."""

    @abstractmethod
    def grad(self, x: ArrayLike) -> Array:
        """:math:`\\nabla f(x)`, shape ``(..., d)``."""

    @abstractmethod
    def hessian(self, x: ArrayLike) -> Array:
        """:math:`\\nabla^2 f(x)`, shape ``(..., d, d)``."""

    def hvp(self, x: ArrayLike, vector: ArrayLike) -> Array:
        r"""The Hessian-vector product :math:`\nabla^2 f(x)\, v`, shape ``(..., d)``.

        This default multiplies :meth:`hessian` by ``vector``; a model with many parameters
        overrides it with a product that never forms the :math:`d \times d` Hessian.
        """
        x = as_points(x, self.dim)
        vector = as_direction(vector, self.dim)
        return (self.hessian(x) @ vector[..., None])[..., 0]

    def hvp_at(self, x: ArrayLike) -> Callable[[ArrayLike], Array]:
        r"""The product :math:`v \mapsto \nabla^2 f(x)\, v` at a fixed point ``x``, for many
        products at one point (power iteration). This default calls :meth:`hvp` each time; a model
        overrides it to compute once what depends on ``x`` alone (its forward pass)."""
        x = as_points(x, self.dim)
        return lambda vector: self.hvp(x, vector)

    def __repr__(self) -> str:
        return self.name


@runtime_checkable
class FiniteSum(Protocol):
    """An objective that is a sum or mean over ``n_examples`` training examples."""

    dim: int

    @property
    def n_examples(self) -> int: ...

    def minibatch_grad(self, x: ArrayLike, index: ArrayLike) -> Array: ...

