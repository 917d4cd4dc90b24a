r"""Objective functions that know their value, gradient and Hessian.

Every objective works on *batches of points*: an array of shape ``(..., d)`` holds one point per
leading index, its last axis being the ``d`` coordinates. Then

* ``value(x)`` has shape ``(...)``,
* ``grad(x)`` has shape ``(..., d)``,
* ``hessian(x)`` has shape ``(..., d, d)``.

One-dimensional objectives use ``d = 1``, so a single point is ``np.array([5.0])`` and a sweep of
start points is a column ``x0[:, None]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

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

    def __repr__(self) -> str:
        return self.name


class Quadratic1D(Objective):
    r"""The parabola :math:`f(x) = a x^2 + b x + c`, with :math:`f'(x) = 2ax + b` and :math:`f''(x) = 2a`."""

    dim = 1

    def __init__(self, a: float, b: float = 0.0, c: float = 0.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.name = _format_poly(self.a, self.b, self.c)

    @property
    def curvature(self) -> float:
        """The constant second derivative :math:`f'' = 2a`."""
        return 2 * self.a

    @property
    def minimizer(self) -> float:
        """:math:`x^* = -b / 2a` (only a minimum when :math:`a > 0`)."""
        if self.a <= 0:
            raise ValueError(f"{self.name} has no minimum: a = {self.a} is not positive")
        return -self.b / (2 * self.a)

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return self.a * x**2 + self.b * x + self.c

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return 2 * self.a * x + self.b

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return np.full((*x.shape, 1), 2 * self.a)


class QuadraticND(Objective):
    r"""The quadratic bowl :math:`f(x) = \tfrac12 x^\top A x - b^\top x`.

    :math:`\nabla f(x) = Ax - b`, :math:`\nabla^2 f = A`, minimiser :math:`x^* = A^{-1} b` when
    :math:`A` is positive definite. ``A`` must be symmetric.
    """

    def __init__(self, A: ArrayLike, b: ArrayLike | None = None, name: str | None = None) -> None:
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if not np.allclose(A, A.T):
            raise ValueError("A must be symmetric")
        self.A = A
        self.dim = A.shape[0]
        self.b = np.zeros(self.dim) if b is None else np.asarray(b, dtype=float)
        if self.b.shape != (self.dim,):
            raise ValueError(f"b must have shape ({self.dim},) to match A, got {self.b.shape}")
        self.name = name or f"{self.dim}-D quadratic"

    @classmethod
    def from_eigenvalues(
        cls, eigenvalues: ArrayLike, angle: float = 0.0, minimizer: ArrayLike | None = None
    ) -> QuadraticND:
        """A quadratic with the given Hessian eigenvalues.

        In 2-D the eigenvectors are the axes rotated by ``angle`` radians; in higher dimensions
        they are the coordinate axes. ``minimizer`` (default: the origin) sets ``b = A x*``.
        """
        lam = np.asarray(eigenvalues, dtype=float)
        if lam.ndim != 1:
            raise ValueError("eigenvalues must be a 1-D sequence")
        Q = np.eye(lam.size)
        if angle and lam.size != 2:
            raise ValueError(f"angle only applies to 2-D quadratics, got {lam.size} eigenvalues")
        if angle:
            c, s = np.cos(angle), np.sin(angle)
            Q = np.array([[c, -s], [s, c]])
        A = (Q * lam) @ Q.T
        x_star = np.zeros(lam.size) if minimizer is None else np.asarray(minimizer, dtype=float)
        if x_star.shape != (lam.size,):
            raise ValueError(f"minimizer must have shape ({lam.size},), got {x_star.shape}")
        return cls(A, A @ x_star, name=f"quadratic with eigenvalues {np.round(lam, 4).tolist()}")

    @classmethod
    def with_condition_number(
        cls, kappa: float, smallest: float = 1.0, angle: float = 0.0
    ) -> QuadraticND:
        r"""A 2-D bowl with eigenvalues ``smallest`` and ``kappa * smallest``."""
        if not kappa >= 1:
            raise ValueError(f"the condition number must be at least 1, got {kappa}")
        return cls.from_eigenvalues([smallest, kappa * smallest], angle=angle)

    @property
    def eigenvalues(self) -> Array:
        """Eigenvalues of the Hessian, ascending."""
        return np.linalg.eigvalsh(self.A)

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_{\max} / \lambda_{\min}`."""
        lam = self.eigenvalues
        return float(lam[-1] / lam[0])

    @property
    def minimizer(self) -> Array:
        return np.linalg.solve(self.A, self.b)

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, self.dim)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) - x @ self.b

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, self.dim)
        # einsum sums in the same order for every point, so a batch of runs gives bit-for-bit
        # the iterates of the same runs done one at a time (a matrix product would pick a
        # different BLAS kernel, and rounding, for a batch than for a single point).
        return np.einsum("...i,ij->...j", x, self.A) - self.b  # A is symmetric

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, self.dim)
        return np.broadcast_to(self.A, (*x.shape, self.dim)).copy()


class Wiggly(Objective):
    r"""A bowl covered in ripples, with cliffs and many local minima:

    .. math::
        f(x) = (0.15x)^2 + \cos x + \tfrac13\sin 3x + \tfrac15\cos 5x + \tfrac17\sin 7x,

    :math:`f'(x) = 0.045x - \sin x + \cos 3x - \sin 5x + \cos 7x` and
    :math:`f''(x) = 0.045 - \cos x - 3\sin 3x - 5\cos 5x - 7\sin 7x`.
    """

    dim = 1
    name = "wiggly"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return (
            (0.15 * x) ** 2
            + np.cos(x)
            + np.sin(3 * x) / 3
            + np.cos(5 * x) / 5
            + np.sin(7 * x) / 7
        )

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return 0.045 * x - np.sin(x) + np.cos(3 * x) - np.sin(5 * x) + np.cos(7 * x)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        second = 0.045 - np.cos(x) - 3 * np.sin(3 * x) - 5 * np.cos(5 * x) - 7 * np.sin(7 * x)
        return second[..., None]

    def global_minimizer(self, lo: float = -20.0, hi: float = 20.0, n: int = 400_001) -> float:
        """The lowest point on a fine grid over ``[lo, hi]``, polished by a few Newton steps."""
        grid = np.linspace(lo, hi, n)[:, None]
        x = grid[np.argmin(self.value(grid))]
        for _ in range(5):
            x = x - self.grad(x) / self.hessian(x)[..., 0]
        return float(x[0])


class Rosenbrock(Objective):
    r"""Rosenbrock's banana valley :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    Its minimum is at :math:`(a, a^2)`, at the end of a long, curved, flat-bottomed valley.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a, self.b = float(a), float(b)
        self.name = f"Rosenbrock (a={self.a:g}, b={self.b:g})"

    @property
    def minimizer(self) -> Array:
        return np.array([self.a, self.a**2])

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        return (self.a - u) ** 2 + self.b * (v - u**2) ** 2

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        r = v - u**2
        return np.stack([-2 * (self.a - u) - 4 * self.b * u * r, 2 * self.b * r], axis=-1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        h11 = 2 - 4 * self.b * (v - u**2) + 8 * self.b * u**2
        h12 = -4 * self.b * u
        h22 = np.full_like(u, 2 * self.b)
        return np.stack([np.stack([h11, h12], -1), np.stack([h12, h22], -1)], -2)


class Saddle(Objective):
    r"""The saddle :math:`f(x, y) = \tfrac12(a x^2 - b y^2)`.

    The origin is a minimum along :math:`x` and a maximum along :math:`y`.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        if not (a > 0 and b > 0):
            raise ValueError(f"a and b must be positive, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.name = f"saddle (a={self.a:g}, b={self.b:g})"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return 0.5 * (self.a * x[..., 0] ** 2 - self.b * x[..., 1] ** 2)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return x * np.array([self.a, -self.b])

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return np.broadcast_to(np.diag([self.a, -self.b]), (*x.shape, 2)).copy()


def _format_poly(a: float, b: float, c: float) -> str:
    """``4x² − 4x + 1`` style text for a parabola's coefficients."""
    terms = [(a, "x²"), (b, "x"), (c, "")]
    text = ""
    for coef, power in terms:
        if coef == 0:
            continue
        sign = "−" if coef < 0 else "+"
        size = abs(coef)
        number = "" if (size == 1 and power) else f"{size:g}"
        text += f" {sign} {number}{power}" if text else f"{'−' if coef < 0 else ''}{number}{power}"
    return text or "0"
