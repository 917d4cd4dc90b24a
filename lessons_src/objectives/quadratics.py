r"""Quadratics: the parabola of chapter 1, quadratic bowls in any dimension, and a linear loss.

Two conventions, each the natural one for its use: :class:`Parabola` takes the coefficients of
:math:`a x^2 + b x + c` as a school book writes them (curvature :math:`f'' = 2a`), and
:class:`QuadraticND` takes the Hessian, :math:`\tfrac12 x^\top A x - b^\top x` (curvature
:math:`A`). Both say their curvature: ``Parabola.curvature`` is :math:`2a`, and
``Parabola(a, b, c).as_quadratic()`` is the same function as a :class:`QuadraticND`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .base import Array, Objective, as_points


class Parabola(Objective):
    r"""The parabola :math:`f(x) = a x^2 + b x + c`, with :math:`f'(x) = 2ax + b` and :math:`f''(x) = 2a`.

    The coefficients are the school-book ones (chapter 1's :math:`x^2 - 2x + 1` is
    ``Parabola(1, -2, 1)``); its curvature is :math:`2a` (:attr:`curvature`).
    """

    dim = 1

    def __init__(self, a: float, b: float = 0.0, c: float = 0.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.name = _format_poly(self.a, self.b, self.c)

    @property
    def curvature(self) -> float:
        """The constant second derivative :math:`f'' = 2a`."""
        return 2 * self.a

    def as_quadratic(self) -> QuadraticND:
        r"""The same function in :class:`QuadraticND`'s convention, :math:`\tfrac12 A x^2 - b' x + c`
        with :math:`A = 2a`, :math:`b' = -b` (the constant :math:`c` is dropped: it moves no
        iterate)."""
        return QuadraticND([[2 * self.a]], [-self.b], name=self.name)

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


class LinearLoss(Objective):
    r"""The 1-D linear loss :math:`f(x) = a x`, with :math:`f'(x) = a` and :math:`f'' = 0`."""

    dim = 1

    def __init__(self, slope: float) -> None:
        self.slope = float(slope)
        self.name = f"{self.slope:g}x"

    def value(self, x: ArrayLike) -> Array:
        return self.slope * as_points(x, 1)[..., 0]

    def grad(self, x: ArrayLike) -> Array:
        return np.full_like(as_points(x, 1), self.slope)

    def hessian(self, x: ArrayLike) -> Array:
        return np.zeros((*as_points(x, 1).shape, 1))


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



#: The earlier name of :class:`Parabola`, kept so that old notebooks still run.
Quadratic1D = Parabola
