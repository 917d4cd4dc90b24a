r"""Sharpness: the largest eigenvalue of the Hessian, by power iteration on Hessian-vector products.

The *sharpness* of a loss at :math:`\theta` is :math:`\lambda_{\max}(\nabla^2 f(\theta))`, the
largest curvature. On a quadratic, gradient descent with step size :math:`\eta` is stable exactly
when :math:`\eta\,\lambda_{\max} < 2` (chapter 2). For a preconditioned method that steps
:math:`\theta \leftarrow \theta - \eta P^{-1} g`, the curvature that counts is the
*preconditioned sharpness* :math:`\lambda_{\max}(P^{-1/2} \nabla^2 f\, P^{-1/2})`, the largest
eigenvalue of :math:`P^{-1}\nabla^2 f` (the two matrices are similar).

Neither forms the Hessian: both run power iteration on :meth:`Objective.hvp_at
<lessons_src.objectives.base.Objective.hvp_at>`, the Hessian-vector product at a fixed point, which
the digits models compute exactly at the cost of about two gradients (the forward pass at the point
once per estimate, not once per product). A batch of points ``(..., p)`` gives a batch of
estimates, one per run.

>>> from lessons_src.objectives import QuadraticND
>>> round(float(sharpness(QuadraticND.from_eigenvalues([3.0, 1.0]), [1.0, 1.0]).value), 6)
3.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives.base import Array, Objective, as_points
from .validation import validate_count


class Eigenpair(NamedTuple):
    """The estimate of power iteration: the eigenvalue, its unit eigenvector, the iterations
    taken and whether the relative change of the eigenvalue fell below the tolerance."""

    value: Array
    vector: Array
    iterations: int
    converged: np.ndarray


def _check_settings(tol: float, max_iter: int) -> None:
    if isinstance(tol, bool) or not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    validate_count("max_iter", max_iter, low=1)


def _start_vector(vector: ArrayLike | None, shape: tuple[int, ...], seed: int) -> Array:
    if vector is None:
        start = np.random.default_rng(seed).normal(size=shape)
    else:
        start = np.asarray(vector, dtype=float)
        if start.shape[-1:] != shape[-1:]:
            raise ValueError(f"vector must have shape (..., {shape[-1]}) like theta, "
                             f"got shape {start.shape}")
        start = np.broadcast_to(start, shape).copy()
        if not np.all(np.isfinite(start)) or np.any(np.linalg.norm(start, axis=-1) == 0):
            raise ValueError("vector must be finite and nonzero (a warm start: the last eigenvector)")
    return start / np.linalg.norm(start, axis=-1, keepdims=True)


def top_eigenvalue(matvec: Callable[[Array], Array], start: Array, *, tol: float = 1e-6,
                   max_iter: int = 500) -> Eigenpair:
    r"""The algebraically largest eigenvalue of a symmetric operator, by power iteration.

    .. math::
        u_{j+1} = \frac{A u_j}{\|A u_j\|}, \qquad \lambda_j = u_j^\top A u_j,

    stopping when :math:`|\lambda_{j} - \lambda_{j-1}| \le \mathrm{tol}\,|\lambda_j|` for every
    run of the batch. Power iteration finds the eigenvalue of largest *magnitude*; if that one is
    negative, the iteration is repeated on :math:`A - \lambda I`, whose eigenvalue of largest
    magnitude is :math:`\lambda_{\max} - \lambda`. ``matvec`` maps ``(..., p)`` to ``(..., p)``;
    ``start`` is a unit vector per run (the previous eigenvector, to warm-start).
    """
    _check_settings(tol, max_iter)
    pair = _power(matvec, start, tol, max_iter)
    negative = pair.value < 0
    if not np.any(negative):
        return pair
    shift = np.where(negative, pair.value, 0.0)
    shifted = _power(lambda u: matvec(u) - shift[..., None] * u, start, tol, max_iter)
    value = np.where(negative, shifted.value + shift, pair.value)
    vector = np.where(negative[..., None], shifted.vector, pair.vector)
    return Eigenpair(value, vector, pair.iterations + shifted.iterations,
                     np.where(negative, shifted.converged, pair.converged))


def _power(matvec: Callable[[Array], Array], start: Array, tol: float, max_iter: int) -> Eigenpair:
    u = start
    value = np.full(u.shape[:-1], np.nan)
    converged = np.zeros(u.shape[:-1], dtype=bool)
    for iteration in range(1, max_iter + 1):
        image = matvec(u)
        new_value = np.sum(u * image, axis=-1)
        converged = np.abs(new_value - value) <= tol * np.abs(new_value)
        value = new_value
        norm = np.linalg.norm(image, axis=-1, keepdims=True)
        if np.all(norm == 0):  # A u = 0: the operator is zero on u, the eigenvalue 0
            return Eigenpair(value, u, iteration, np.ones_like(converged))
        u = np.where(norm > 0, image / np.where(norm > 0, norm, 1.0), u)
        if np.all(converged):
            break
    return Eigenpair(value, u, iteration, converged)


def sharpness(objective: Objective, theta: ArrayLike, *, vector: ArrayLike | None = None,
              tol: float = 1e-6, max_iter: int = 500, seed: int = 0) -> Eigenpair:
    r"""The sharpness :math:`\lambda_{\max}(\nabla^2 f(\theta))`, by power iteration on
    Hessian-vector products (see :func:`top_eigenvalue`).

    ``theta`` is one point ``(p,)`` or a batch ``(..., p)`` (one estimate per point). ``vector``
    warm-starts the iteration, typically with the eigenvector of the previous call along a run;
    without it the start is a seeded random direction. Gradient descent on a quadratic is stable
    while :math:`\eta < 2/\lambda_{\max}`.

    >>> from lessons_src.objectives import MLP, load_digits
    >>> digits = load_digits()
    >>> model = MLP(digits.images[:100], digits.labels[:100], hidden=8)
    >>> estimate = sharpness(model, model.initial_point(0))
    >>> bool(estimate.converged), estimate.vector.shape
    (True, (610,))
    """
    theta = as_points(theta, objective.dim)
    start = _start_vector(vector, theta.shape, seed)
    return top_eigenvalue(objective.hvp_at(theta), start, tol=tol, max_iter=max_iter)


def preconditioned_sharpness(objective: Objective, theta: ArrayLike, preconditioner: ArrayLike, *,
                             vector: ArrayLike | None = None, tol: float = 1e-6,
                             max_iter: int = 500, seed: int = 0) -> Eigenpair:
    r"""The preconditioned sharpness :math:`\lambda_{\max}(P^{-1/2} \nabla^2 f(\theta)\, P^{-1/2})`
    for a diagonal preconditioner :math:`P = \operatorname{diag}(d)`, :math:`d > 0`.

    A method that steps :math:`\theta \leftarrow \theta - \eta P^{-1} g` is, on a quadratic,
    gradient descent in the coordinates :math:`P^{1/2}\theta`, where the Hessian is
    :math:`P^{-1/2} H P^{-1/2}`. For Adam, :math:`d = \sqrt{\hat v_t} + \varepsilon`
    (Cohen et al., 2022). ``preconditioner`` is :math:`d`, with the shape of ``theta``; the
    eigenvector returned is that of :math:`P^{-1/2} H P^{-1/2}`.
    """
    theta = as_points(theta, objective.dim)
    diagonal = np.asarray(preconditioner, dtype=float)
    if diagonal.shape[-1:] != theta.shape[-1:]:
        raise ValueError(f"preconditioner must have shape (..., {objective.dim}) like theta, "
                         f"got shape {diagonal.shape}")
    if not (np.all(np.isfinite(diagonal)) and np.all(diagonal > 0)):
        raise ValueError("preconditioner must be finite and positive (the diagonal of P)")
    scale = 1 / np.sqrt(diagonal)
    start = _start_vector(vector, np.broadcast_shapes(theta.shape, diagonal.shape), seed)
    product = objective.hvp_at(theta)
    return top_eigenvalue(lambda u: scale * product(scale * u), start, tol=tol, max_iter=max_iter)


class SharpnessTrace(NamedTuple):
    """The sharpness along a run: ``steps`` (the step of each estimate) and ``values``, shape
    ``(len(steps), *batch)``, NaN where the run had diverged."""

    steps: np.ndarray
    values: Array


def sharpness_along(objective: Objective, points: ArrayLike, every: int, *,
                    preconditioners: ArrayLike | None = None, tol: float = 1e-3,
                    max_iter: int = 100, seed: int = 0) -> SharpnessTrace:
    r"""The sharpness at every ``every``-th point of a run, each estimate warm-started from the
    eigenvector of the one before.

    ``points`` is :attr:`Trajectory.points <lessons_src.runner.Trajectory.points>`, shape
    ``(steps + 1, *batch, p)``. With ``preconditioners`` (the same shape: the diagonal of
    :math:`P_k` at each step, for Adam :math:`\sqrt{\hat v_k} + \varepsilon`) the estimates are
    the preconditioned sharpness :math:`\lambda_{\max}(P_k^{-1/2} \nabla^2 f(\theta_k) P_k^{-1/2})`
    (:func:`preconditioned_sharpness`).

    The defaults (``tol=1e-3``, ``max_iter=100``) are loose and cheap, and the warm start does not
    make them precise: at the edge of stability the top eigenvalues cluster and the top eigenvector
    turns between estimates, so the iteration stops early and the estimate can fall well below
    :math:`\lambda_{\max}` (by up to about 20 % on the digits perceptron). Power iteration's
    Rayleigh quotient never exceeds :math:`\lambda_{\max}`, so these estimates are lower bounds;
    for numbers to quote pass ``tol=1e-6, max_iter=1000`` or tighter, at the cost of hundreds of
    Hessian-vector products per estimate.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim < 2 or points.shape[-1] != objective.dim:
        raise ValueError(f"points must have shape (steps + 1, ..., {objective.dim}), got {points.shape}")
    every = validate_count("every", every, low=1)
    if preconditioners is not None:
        preconditioners = np.asarray(preconditioners, dtype=float)
        if preconditioners.shape != points.shape:
            raise ValueError(f"preconditioners must have the shape of points {points.shape}, "
                             f"got {preconditioners.shape}")
    steps = np.arange(0, points.shape[0], every)
    values = np.full((steps.size, *points.shape[1:-1]), np.nan)
    vector = None
    for row, step in enumerate(steps):
        theta = points[step]
        alive = np.all(np.isfinite(theta), axis=-1)
        if not np.any(alive):
            break
        theta = np.where(alive[..., None], theta, 0.0)   # a diverged run: any finite point, result dropped
        if preconditioners is None:
            pair = sharpness(objective, theta, vector=vector, tol=tol, max_iter=max_iter, seed=seed)
        else:
            diagonal = np.where(alive[..., None], preconditioners[step], 1.0)
            pair = preconditioned_sharpness(objective, theta, diagonal, vector=vector, tol=tol,
                                            max_iter=max_iter, seed=seed)
        values[row] = np.where(alive, pair.value, np.nan)
        vector = pair.vector
    return SharpnessTrace(steps, values)
