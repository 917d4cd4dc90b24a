r"""Momentum and Nesterov on quadratics: iteration matrices, rates, stability, and PyTorch's form.

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

The two optimizers at the end write momentum the way PyTorch does,
:math:`b_{k+1} = \mu b_k + g_k,\ x_{k+1} = x_k - \gamma_k b_{k+1}`, and the course's way with a
changing step, so the chapters can show where the two forms part.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective
from .optimizers import Momentum, Optimizer, _decay, _step_size
from .schedules import Schedule


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


def lookahead_points(points: ArrayLike, beta: ArrayLike) -> Array:
    r"""The look-ahead points :math:`p_k = x_k + \beta v_k` of a momentum or Nesterov run.

    ``points`` are the iterates :math:`x_k` (steps on the first axis); the velocity is recovered
    as :math:`v_k = x_k - x_{k-1}` with :math:`v_0 = 0`. For Nesterov these :math:`p_k` are the
    iterates of PyTorch's ``SGD(nesterov=True)``.
    """
    x = np.asarray(points, dtype=float)
    v = np.concatenate([np.zeros_like(x[:1]), np.diff(x, axis=0)], axis=0)
    return x + np.asarray(beta, dtype=float)[..., None] * v


def measured_rate(errors: ArrayLike, span: int = 150, window: int = 12) -> Array:
    r"""Measured contraction per step of an oscillating error, from its envelope:

    .. math::
        \Bigl(\max_{\text{last } w \text{ steps}} e \big/
        \max_{w \text{ steps, } s \text{ earlier}} e\Bigr)^{1/s}.

    ``errors`` has steps on its first axis (e.g. :meth:`Trajectory.distances`). Taking maxima
    over a window of ``window`` steps ignores the zero crossings of a spiralling error, which
    make :func:`lessons_src.theory.observed_rate` noisy. Needs ``span + window`` steps.
    """
    e = np.asarray(errors, dtype=float)
    if e.shape[0] < span + window:
        raise ValueError(f"need at least {span + window} steps, got {e.shape[0]}")
    with np.errstate(all="ignore"):
        late = np.max(e[-window:], axis=0)
        early = np.max(e[-window - span:-span], axis=0)
        return (late / early) ** (1 / span)


def u_turns(coordinate: ArrayLike, tol: float = 1e-3) -> Array:
    r"""How many times a run crosses the line :math:`x_i = x_i^*` (sign changes of the error
    ``coordinate``, steps on the first axis); values within ``tol`` of zero are skipped."""
    c = np.asarray(coordinate, dtype=float)
    signs = np.where(np.abs(c) < tol, 0.0, np.sign(c))
    signs = np.moveaxis(signs, 0, -1).reshape(-1, c.shape[0])
    counts = [np.count_nonzero(np.diff(row[row != 0])) for row in signs]
    return np.array(counts).reshape(c.shape[1:])


def _constant(k: int) -> float:
    return 1.0


def _scale(schedule: Schedule, k: int) -> float:
    factor = float(schedule(k))
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(
            f"the schedule must give a positive finite factor, got {factor} at step {k}"
        )
    return factor


class ScheduledVelocityState(NamedTuple):
    count: int
    velocity: Array


class ScheduledMomentum(Momentum):
    r"""Heavy ball with a step-size schedule, in the course's form:

    .. math::
        v_{k+1} = \beta v_k - \eta\, s(k)\, g_k, \qquad x_{k+1} = x_k + v_{k+1}.

    Each gradient keeps the step it was taken with. With ``schedule=None`` it is
    :class:`lessons_src.optimizers.Momentum`.
    """

    name = "scheduled-momentum"

    def __init__(self, lr: ArrayLike, beta: ArrayLike = 0.9, schedule: Schedule | None = None,
                 velocity0: float = 0.0) -> None:
        super().__init__(lr, beta, velocity0)
        if schedule is not None and not callable(schedule):
            raise ValueError(f"schedule must be a function of the step k, got {schedule!r}")
        self.schedule = schedule or _constant

    def init(self, x: Array) -> ScheduledVelocityState:
        return ScheduledVelocityState(0, np.full_like(x, self.velocity0))

    def step(self, objective: Objective, x: Array, state: ScheduledVelocityState):
        lr = self.lr * _scale(self.schedule, state.count)
        v = self.beta * state.velocity - lr * objective.grad(x)
        return x + v, ScheduledVelocityState(state.count + 1, v)


class BufferState(NamedTuple):
    count: int
    buffer: Array


class TorchMomentum(Optimizer):
    r"""Momentum as ``torch.optim.SGD(momentum=μ, nesterov=...)`` writes it (no dampening):

    .. math::
        b_{k+1} = \mu b_k + g_k, \qquad x_{k+1} = x_k - \gamma_k b_{k+1},
        \qquad \gamma_k = \gamma\, s(k),

    and with ``nesterov=True`` the step uses :math:`g_k + \mu b_{k+1}` instead of
    :math:`b_{k+1}`. For a constant step, :math:`v_k = -\gamma b_k` turns the first form into
    :class:`lessons_src.optimizers.Momentum`; with a changing step the two differ, because here
    the whole buffer is rescaled by the current step.
    """

    name = "torch-momentum"

    def __init__(self, lr: ArrayLike, momentum: ArrayLike = 0.9,
                 schedule: Schedule | None = None, *, nesterov: bool = False) -> None:
        self.lr = _step_size("lr", lr)
        self.momentum = _decay("momentum", momentum)
        if schedule is not None and not callable(schedule):
            raise ValueError(f"schedule must be a function of the step k, got {schedule!r}")
        self.schedule = schedule or _constant
        self.nesterov = bool(nesterov)

    def init(self, x: Array) -> BufferState:
        return BufferState(0, np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: BufferState):
        g = objective.grad(x)
        b = self.momentum * state.buffer + g
        direction = g + self.momentum * b if self.nesterov else b
        lr = self.lr * _scale(self.schedule, state.count)
        return x - lr * direction, BufferState(state.count + 1, b)


__all__ = [
    "BufferState",
    "ScheduledMomentum",
    "ScheduledVelocityState",
    "TorchMomentum",
    "critical_damping",
    "heavy_ball_limit",
    "heavy_ball_matrix",
    "heavy_ball_rate",
    "heavy_ball_roots",
    "lookahead_points",
    "measured_rate",
    "nesterov_limit",
    "nesterov_matrix",
    "nesterov_rate",
    "nesterov_roots",
    "optimal_heavy_ball",
    "optimal_heavy_ball_rate",
    "optimal_nesterov_rate",
    "u_turns",
]
