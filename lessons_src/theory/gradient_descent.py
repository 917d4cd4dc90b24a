r"""Closed-form results that the chapters prove, so notebooks and tests can check runs against them.

For gradient descent on a quadratic with Hessian eigenvalues :math:`\lambda_i`, the error along
each eigenvector is multiplied by :math:`1 - \eta\lambda_i` at every step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array


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


def observed_rate(errors: ArrayLike, tail: int = 20) -> Array:
    r"""Measured contraction per step: the geometric mean of :math:`e_{k+1}/e_k` over the last ``tail`` steps.

    ``errors`` has steps on its first axis (e.g. :meth:`Trajectory.distances`). Steps where the
    error has reached zero or the floor of float arithmetic are left out.
    """
    e = np.asarray(errors, dtype=float)[-(tail + 1):]
    with np.errstate(all="ignore"):
        ratios = e[1:] / e[:-1]
        usable = (e[:-1] > 1e-300) & np.isfinite(ratios) & (ratios > 0)
        logs = np.where(usable, np.log(np.where(usable, ratios, 1.0)), 0.0)
        return np.exp(logs.sum(axis=0) / np.maximum(usable.sum(axis=0), 1))
