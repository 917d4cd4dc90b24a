r"""Hard landscapes: saddles, plateaus, cliffs, gradient clipping, and repeated multiplication.

Chapter 3 leaves the bowl. Its objectives follow :mod:`lessons_src.objectives` (points of shape
``(..., d)``, ``value``/``grad``/``hessian``); gradient clipping is a gradient transformation, so
it comes both as a wrapper objective (:class:`ClippedGradient`, whose ``grad`` is the clipped
gradient) and as a wrapper optimizer (:class:`Clip`, any optimizer fed clipped gradients, like
``optax.chain(optax.clip_by_global_norm(τ), ...)``). The remaining functions are the closed forms
and measurements that the chapter proves or plots.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, as_points
from .optimizers import Optimizer


def _logistic_parts(z: Array) -> tuple[Array, Array]:
    r"""The logistic :math:`\sigma(z)` and :math:`\sigma(z)(1-\sigma(z))`, without overflow."""
    t = np.tanh(z / 2)
    return (1 + t) / 2, (1 - t**2) / 4


class DoubleWell(Objective):
    r"""A saddle between two valleys:

    .. math::
        f(x_1, x_2) = \tfrac12 a x_1^2 + \tfrac{b}{4}\,(x_2^2 - 1)^2 .

    :math:`\nabla f = (a x_1,\; b x_2 (x_2^2 - 1))` and
    :math:`\nabla^2 f = \mathrm{diag}(a,\; b(3x_2^2 - 1))`. The origin is a saddle with Hessian
    :math:`\mathrm{diag}(a, -b)` and value :math:`b/4`; the minima are :math:`(0, \pm 1)` with
    Hessian :math:`\mathrm{diag}(a, 2b)` and value 0.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        if not (a > 0 and b > 0):
            raise ValueError(f"a and b must be positive, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.name = f"double well (a={self.a:g}, b={self.b:g})"

    @property
    def minimizers(self) -> Array:
        """The two minima :math:`(0, -1)` and :math:`(0, 1)`, one per row."""
        return np.array([[0.0, -1.0], [0.0, 1.0]])

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return 0.5 * self.a * x[..., 0] ** 2 + 0.25 * self.b * (x[..., 1] ** 2 - 1) ** 2

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        return np.stack([self.a * u, self.b * v * (v**2 - 1)], axis=-1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        v = x[..., 1]
        h11 = np.full_like(v, self.a)
        h22 = self.b * (3 * v**2 - 1)
        zero = np.zeros_like(v)
        return np.stack([np.stack([h11, zero], -1), np.stack([zero, h22], -1)], -2)


class Cliff(Objective):
    r"""A gentle bowl with a cliff: a drop of height :math:`h`, width about :math:`w`, at :math:`c`,

    .. math::
        f(x) = \tfrac12 a x^2 + h\,\sigma\!\left(\frac{c - x}{w}\right), \qquad
        \sigma(z) = \frac{1}{1 + e^{-z}} .

    With :math:`u = (c - x)/w` and :math:`s = \sigma(u)(1 - \sigma(u))`:
    :math:`f'(x) = a x - \frac{h}{w} s` and
    :math:`f''(x) = a + \frac{h}{w^2}\, s\,(1 - 2\sigma(u))`.
    On the cliff face the slope reaches about :math:`h/(4w)`, far steeper than the bowl.
    """

    dim = 1

    def __init__(self, a: float = 0.5, height: float = 40.0, at: float = -1.0,
                 width: float = 0.1) -> None:
        if not (a > 0 and height > 0 and width > 0):
            raise ValueError(
                f"a, height and width must be positive, got a={a}, height={height}, width={width}"
            )
        self.a, self.height, self.at, self.width = float(a), float(height), float(at), float(width)
        self.name = f"cliff (drop {self.height:g} at x={self.at:g})"

    @property
    def steepest(self) -> float:
        r"""The largest slope of the drop alone, :math:`h / (4w)` (at :math:`x = c`)."""
        return self.height / (4 * self.width)

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        sig, _ = _logistic_parts((self.at - x) / self.width)
        return 0.5 * self.a * x**2 + self.height * sig

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        _, s = _logistic_parts((self.at - x) / self.width)
        return self.a * x - self.height / self.width * s

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        sig, s = _logistic_parts((self.at - x) / self.width)
        second = self.a + self.height / self.width**2 * s * (1 - 2 * sig)
        return second[..., None]


def _threshold(max_norm: ArrayLike) -> Array:
    """Check a clipping threshold (positive; ``np.inf``: no clipping); add a trailing axis."""
    array = np.asarray(max_norm, dtype=float)
    if np.any(np.isnan(array)) or np.any(array <= 0):
        bad = float(array[np.isnan(array) | (array <= 0)].flat[0])
        raise ValueError(f"max_norm must be positive (np.inf for no clipping), got {bad:g}")
    return array[..., None]


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
        self.max_norm = _threshold(max_norm)
        self.name = f"{objective.name}, gradient clipped"

    def value(self, x: ArrayLike) -> Array:
        return self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return clip_by_norm(self.objective.grad(x), self.max_norm)

    def hessian(self, x: ArrayLike) -> Array:
        return self.objective.hessian(x)


class Clip(Optimizer):
    r"""Any optimizer, fed gradients clipped to norm at most :math:`\tau`:

    .. math::
        \tilde g_k = g_k \min\!\left(1, \frac{\tau}{\|g_k\|}\right),

    then the inner optimizer's update with :math:`\tilde g_k` in place of :math:`g_k`. For
    gradient descent every step is at most :math:`\eta\tau` long. ``max_norm`` may be an array
    (a sweep over thresholds); ``np.inf`` switches clipping off.
    """

    name = "clip"

    def __init__(self, inner: Optimizer, max_norm: ArrayLike) -> None:
        if not isinstance(inner, Optimizer):
            raise TypeError(f"inner must be an Optimizer, got {type(inner).__name__}")
        self.inner = inner
        self.max_norm = _threshold(max_norm)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(self.inner.batch_shape, self.max_norm.shape[:-1])

    def init(self, x: Array) -> Any:
        return self.inner.init(x)

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        return self.inner.step(ClippedGradient(objective, self.max_norm[..., 0]), x, state)


def saddle_escape_steps(lr: ArrayLike, negative_curvature: ArrayLike, offset: ArrayLike,
                        reach: ArrayLike) -> Array:
    r"""Steps gradient descent needs to leave a quadratic saddle.

    Along the direction of curvature :math:`-\mu < 0` the offset grows as
    :math:`|y_k| = (1 + \eta\mu)^k |y_0|`, so :math:`|y_k| \ge r` first when

    .. math::
        k = \left\lceil \frac{\ln(r / |y_0|)}{\ln(1 + \eta\mu)} \right\rceil .
    """
    lr, mu = np.asarray(lr, dtype=float), np.asarray(negative_curvature, dtype=float)
    ratio = np.asarray(reach, dtype=float) / np.abs(np.asarray(offset, dtype=float))
    return np.ceil(np.log(ratio) / np.log1p(lr * mu) - 1e-12).astype(int)


def ripple_radius(lr: ArrayLike, bowl_curvature: float, ripple_bound: float) -> Array:
    r"""How far gradient descent strays on a bowl with ripples, :math:`f'(x) = a x + r(x)`.

    If :math:`|r| \le B` and :math:`0 < \eta < 2/a`, then with :math:`q = |1 - \eta a| < 1`,
    :math:`\limsup_k |x_k| \le \eta B / (1 - q)`; for :math:`\eta \le 1/a` that is :math:`B/a`.
    """
    lr = np.asarray(lr, dtype=float)
    q = np.abs(1 - lr * bowl_curvature)
    with np.errstate(divide="ignore"):
        return np.where(q < 1, lr * ripple_bound / (1 - np.minimum(q, 1.0)), np.inf)


def local_minima_1d(objective: Objective, lo: float, hi: float, n: int = 200_001) -> Array:
    """All local minima of a 1-D objective in ``[lo, hi]``: where :math:`f'` turns from - to +.

    Found on a grid of ``n`` points, then polished by Newton steps :math:`x - f'(x)/f''(x)`.
    """
    grid = np.linspace(lo, hi, n)
    slope = objective.grad(grid[:, None])[:, 0]
    crossing = np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0))
    x = (grid[crossing] + grid[crossing + 1])[:, None] / 2
    for _ in range(8):
        x = x - objective.grad(x) / objective.hessian(x)[..., 0]
    return x[:, 0]


def matrix_from_eigen(eigenvalues: ArrayLike, eigenvectors: ArrayLike) -> Array:
    r""":math:`W = V \operatorname{diag}(\lambda) V^{-1}`, batched over leading axes of λ."""
    lam = np.asarray(eigenvalues, dtype=float)
    V = np.asarray(eigenvectors, dtype=float)
    return (V * lam[..., None, :]) @ np.linalg.inv(V)


def power_norms(W: ArrayLike, x: ArrayLike, steps: int) -> Array:
    r""":math:`\|W^t x\|` for :math:`t = 0, \dots,` ``steps``, shape ``(steps + 1, *batch)``.

    ``W`` has shape ``(*batch, d, d)`` and ``x`` shape ``(d,)``; each product is one matrix-vector
    multiplication, never an explicit matrix power.
    """
    W = np.asarray(W, dtype=float)
    v = np.broadcast_to(np.asarray(x, dtype=float), W.shape[:-1]).copy()
    norms = np.empty((steps + 1, *W.shape[:-2]))
    norms[0] = np.linalg.norm(v, axis=-1)
    for t in range(1, steps + 1):
        v = np.einsum("...ij,...j->...i", W, v)
        norms[t] = np.linalg.norm(v, axis=-1)
    return norms


def random_symmetric(n: int, samples: int, rng: np.random.Generator) -> Array:
    r"""``samples`` random symmetric matrices :math:`(G + G^\top)/2`, :math:`G_{ij} \sim N(0, 1)`.

    (The Gaussian orthogonal ensemble: diagonal entries have variance 1, off-diagonal 1/2.)
    """
    G = rng.standard_normal((samples, n, n))
    return (G + np.swapaxes(G, -1, -2)) / 2


def fraction_positive_definite(matrices: ArrayLike) -> float:
    """The fraction of symmetric matrices whose eigenvalues are all positive."""
    lam = np.linalg.eigvalsh(np.asarray(matrices, dtype=float))
    return float(np.mean(np.all(lam > 0, axis=-1)))


def tail_range(points: ArrayLike, tail: int) -> Array:
    """The width ``max - min`` of the last ``tail`` iterates of each run (0 for a run that settled).

    ``points`` is a 1-D trajectory's ``points`` array, shape ``(steps + 1, *batch, 1)``.
    """
    last = np.asarray(points, dtype=float)[-tail:, ..., 0]
    return last.max(axis=0) - last.min(axis=0)


__all__ = [
    "Cliff",
    "Clip",
    "ClippedGradient",
    "DoubleWell",
    "clip_by_norm",
    "fraction_positive_definite",
    "local_minima_1d",
    "matrix_from_eigen",
    "power_norms",
    "random_symmetric",
    "ripple_radius",
    "saddle_escape_steps",
    "tail_range",
]
