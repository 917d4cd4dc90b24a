r"""Gradient descent on quadratics: the per-step multiplier, the rate, the stability threshold, the
best fixed step, and the step a backtracking line search guarantees.

For gradient descent on a quadratic with Hessian eigenvalues :math:`\lambda_i`, the error along
each eigenvector is multiplied by :math:`1 - \eta\lambda_i` at every step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array


def gd_multiplier(lr: ArrayLike, curvature: ArrayLike) -> Array:
    r"""The factor :math:`1 - \eta\lambda` by which one step scales the error
    along curvature :math:`\lambda`.
    """
    return 1 - np.asarray(lr, dtype=float) * np.asarray(curvature, dtype=float)


def gd_rate(lr: ArrayLike, eigenvalues: ArrayLike) -> Array:
    r"""Worst-case contraction per step, :math:`\max_i |1 - \eta\lambda_i|` (converges iff < 1)."""
    lam = np.asarray(eigenvalues, dtype=float)
    return np.max(np.abs(gd_multiplier(np.asarray(lr, dtype=float)[..., None], lam)), axis=-1)


def stability_threshold(largest_curvature: ArrayLike) -> Array:
    r"""The step :math:`2/\lambda_{\max}` at which gradient descent stops converging."""
    return 2 / np.asarray(largest_curvature, dtype=float)


def best_gd_step(smallest: float, largest: float) -> float:
    r"""The fixed step :math:`2/(\lambda_{\min} + \lambda_{\max})` that minimises :func:`gd_rate`."""
    return 2 / (smallest + largest)


def best_gd_rate(kappa: ArrayLike) -> Array:
    r"""The rate at the best fixed step, :math:`(\kappa - 1)/(\kappa + 1)`."""
    kappa = np.asarray(kappa, dtype=float)
    return (kappa - 1) / (kappa + 1)


def armijo_safe_step(smoothness: ArrayLike, c: ArrayLike) -> Array:
    r"""The largest step that the sufficient-decrease theorem guarantees: :math:`(2 - 2c)/L`."""
    L = np.asarray(smoothness, dtype=float)
    return (2 - 2 * np.asarray(c, dtype=float)) / L
