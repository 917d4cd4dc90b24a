r"""Closed forms for hard landscapes: escaping a saddle, straying on ripples, and the linear algebra
of repeated multiplication (eigenvalues, non-normal bursts, random Hessians).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array


def saddle_escape_steps(lr: ArrayLike, negative_curvature: ArrayLike, offset: ArrayLike,
                        reach: ArrayLike) -> Array:
    r"""Steps gradient descent needs to leave a quadratic saddle.

    Along the direction of curvature :math:`-c < 0` the offset grows as
    :math:`|y_k| = (1 + \eta c)^k |y_0|`, so :math:`|y_k| \ge r` first when

    .. math::
        k = \left\lceil \frac{\ln(r / |y_0|)}{\ln(1 + \eta c)} \right\rceil .
    """
    lr, c = np.asarray(lr, dtype=float), np.asarray(negative_curvature, dtype=float)
    ratio = np.asarray(reach, dtype=float) / np.abs(np.asarray(offset, dtype=float))
    return np.ceil(np.log(ratio) / np.log1p(lr * c) - 1e-12).astype(int)


def ripple_radius(lr: ArrayLike, bowl_curvature: float, ripple_bound: float) -> Array:
    r"""How far gradient descent strays on a bowl with ripples, :math:`f'(x) = a x + r(x)`.

    If :math:`|r| \le R` and :math:`0 < \eta < 2/a`, then with :math:`q = |1 - \eta a| < 1`,
    :math:`\limsup_k |x_k| \le \eta R / (1 - q)`; for :math:`\eta \le 1/a` that is :math:`R/a`.
    """
    lr = np.asarray(lr, dtype=float)
    q = np.abs(1 - lr * bowl_curvature)
    with np.errstate(divide="ignore"):
        return np.where(q < 1, lr * ripple_bound / (1 - np.minimum(q, 1.0)), np.inf)


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

