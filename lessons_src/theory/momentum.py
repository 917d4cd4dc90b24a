r"""Momentum and Nesterov on quadratics: iteration matrices, rates, stability limits, best tunings.

On a quadratic with Hessian eigenvalue :math:`\lambda`, the error :math:`e_k = x_k - x^*` along
that eigenvector and the velocity :math:`v_k` evolve by a fixed :math:`2\times 2` matrix,

.. math::
    \begin{pmatrix} e_{k+1} \\ v_{k+1} \end{pmatrix} = M(\eta, \beta, \lambda)
    \begin{pmatrix} e_k \\ v_k \end{pmatrix},

so the run converges iff both eigenvalues of :math:`M` lie inside the unit circle, and the
largest eigenvalue magnitude (the spectral radius) is the rate. Every function here is
vectorised: ``lr`` and ``beta`` broadcast against each other (a grid is ``lr[:, None]`` and
``beta[None, :]``); the ``*_rate`` functions take the maximum over a last axis of eigenvalues,
like :func:`lessons_src.theory.gd_rate`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array


def _floats(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=float) for v in values]


def _matrix(a: Array, b: Array, c: Array, d: Array) -> Array:
    a, b, c, d = np.broadcast_arrays(a, b, c, d)
    return np.stack([np.stack([a, b], -1), np.stack([c, d], -1)], -2)


def heavy_ball_matrix(lr: ArrayLike, beta: ArrayLike, curvature: ArrayLike) -> Array:
    r"""Heavy ball's iteration matrix on curvature :math:`\lambda`, acting on :math:`(e_k, v_k)`:

    .. math::
        M = \begin{pmatrix} 1 - \eta\lambda & \beta \\ -\eta\lambda & \beta \end{pmatrix},

    from :math:`v_{k+1} = \beta v_k - \eta\lambda e_k` and :math:`e_{k+1} = e_k + v_{k+1}`.
    Shape ``(..., 2, 2)``.
    """
    lr, beta, lam = _floats(lr, beta, curvature)
    h = lr * lam
    return _matrix(1 - h, beta, -h, beta)


def nesterov_matrix(lr: ArrayLike, beta: ArrayLike, curvature: ArrayLike) -> Array:
    r"""Nesterov's (look-ahead form) iteration matrix on curvature :math:`\lambda`:

    .. math::
        M = \begin{pmatrix} 1 - \eta\lambda & \beta(1 - \eta\lambda) \\
                            -\eta\lambda & \beta(1 - \eta\lambda) \end{pmatrix},

    from :math:`v_{k+1} = \beta v_k - \eta\lambda (e_k + \beta v_k)` and
    :math:`e_{k+1} = e_k + v_{k+1}`. Shape ``(..., 2, 2)``.
    """
    lr, beta, lam = _floats(lr, beta, curvature)
    h = lr * lam
    return _matrix(1 - h, beta * (1 - h), -h, beta * (1 - h))


def _roots(trace: Array, det: Array) -> Array:
    r"""Both roots of :math:`z^2 - t z + d = 0` (complex), stacked on a last axis of length 2."""
    disc = np.sqrt((trace * trace - 4 * det).astype(complex))
    return np.stack([(trace + disc) / 2, (trace - disc) / 2], axis=-1)


def heavy_ball_roots(lr: ArrayLike, beta: ArrayLike, curvature: ArrayLike) -> Array:
    r"""Eigenvalues of :func:`heavy_ball_matrix`: the roots of
    :math:`z^2 - (1 + \beta - \eta\lambda) z + \beta = 0`, shape ``(..., 2)``, complex."""
    lr, beta, lam = _floats(lr, beta, curvature)
    return _roots(1 + beta - lr * lam, beta + 0 * lam)


def nesterov_roots(lr: ArrayLike, beta: ArrayLike, curvature: ArrayLike) -> Array:
    r"""Eigenvalues of :func:`nesterov_matrix`: the roots of
    :math:`z^2 - (1 + \beta)(1 - \eta\lambda) z + \beta(1 - \eta\lambda) = 0`, shape
    ``(..., 2)``, complex."""
    lr, beta, lam = _floats(lr, beta, curvature)
    u = 1 - lr * lam
    return _roots((1 + beta) * u, beta * u)


def heavy_ball_rate(lr: ArrayLike, beta: ArrayLike, eigenvalues: ArrayLike) -> Array:
    r"""Worst-case rate of heavy ball on a quadratic,
    :math:`\max_i \max |z(\eta, \beta, \lambda_i)|` over the Hessian eigenvalues (last axis).
    Converges iff the rate is below 1."""
    lr, beta = _floats(lr, beta)
    roots = heavy_ball_roots(lr[..., None], beta[..., None], eigenvalues)
    return np.abs(roots).max(axis=(-1, -2))


def nesterov_rate(lr: ArrayLike, beta: ArrayLike, eigenvalues: ArrayLike) -> Array:
    r"""Worst-case rate of Nesterov's method on a quadratic, as :func:`heavy_ball_rate`."""
    lr, beta = _floats(lr, beta)
    roots = nesterov_roots(lr[..., None], beta[..., None], eigenvalues)
    return np.abs(roots).max(axis=(-1, -2))


def heavy_ball_limit(beta: ArrayLike) -> Array:
    r"""The largest stable :math:`\eta\lambda` for heavy ball: converges iff
    :math:`0 < \eta\lambda < 2 + 2\beta` (for :math:`0 \le \beta < 1`)."""
    return 2 + 2 * np.asarray(beta, dtype=float)


def nesterov_limit(beta: ArrayLike) -> Array:
    r"""The largest stable :math:`\eta\lambda` for Nesterov: converges iff
    :math:`0 < \eta\lambda < (2 + 2\beta)/(1 + 2\beta)` (for :math:`0 \le \beta < 1`)."""
    beta = np.asarray(beta, dtype=float)
    return (2 + 2 * beta) / (1 + 2 * beta)


def critical_damping(lr: ArrayLike, curvature: ArrayLike) -> Array:
    r"""The momentum :math:`\beta = (1 - \sqrt{\eta\lambda})^2` where heavy ball's roots meet.

    For :math:`0 < \eta\lambda \le 1`, smaller :math:`\beta` gives two real roots (overdamped,
    no oscillation), larger :math:`\beta` a complex pair of magnitude :math:`\sqrt\beta`
    (underdamped). At the meeting point both roots equal
    :math:`\sqrt\beta = 1 - \sqrt{\eta\lambda}`.
    """
    lr, lam = _floats(lr, curvature)
    return (1 - np.sqrt(lr * lam)) ** 2


def optimal_heavy_ball(smallest: float, largest: float) -> tuple[float, float]:
    r"""The :math:`(\eta, \beta)` that minimise :func:`heavy_ball_rate` for eigenvalues in
    :math:`[\mu, L]`: :math:`\eta = 4/(\sqrt L + \sqrt\mu)^2`,
    :math:`\beta = \bigl((\sqrt\kappa - 1)/(\sqrt\kappa + 1)\bigr)^2`, :math:`\kappa = L/\mu`."""
    if not 0 < smallest <= largest:
        raise ValueError(f"need 0 < smallest <= largest, got {smallest}, {largest}")
    root_kappa = np.sqrt(largest / smallest)
    lr = 4 / (np.sqrt(largest) + np.sqrt(smallest)) ** 2
    return float(lr), float(((root_kappa - 1) / (root_kappa + 1)) ** 2)


def optimal_heavy_ball_rate(kappa: ArrayLike) -> Array:
    r"""Heavy ball's rate at its best tuning: :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`."""
    root_kappa = np.sqrt(np.asarray(kappa, dtype=float))
    return (root_kappa - 1) / (root_kappa + 1)


def optimal_nesterov_rate(kappa: ArrayLike) -> Array:
    r"""Nesterov's best rate on quadratics with condition number :math:`\kappa`,
    :math:`1 - 2/\sqrt{3\kappa + 1}`, reached at :math:`\eta = 4/(3L + \mu)`
    (Lessard, Recht and Packard, 2016; the tests check it against a grid search)."""
    return 1 - 2 / np.sqrt(3 * np.asarray(kappa, dtype=float) + 1)

