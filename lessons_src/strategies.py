r"""Strategies beyond the update rule (chapter 10): coordinate descent, continuation by smoothing,
and the effect of normalising inputs (what batch normalisation does to a layer) on conditioning.

* :class:`CoordinateDescent` changes one coordinate per step, cycling through them.
* :class:`SmoothedWiggly` is the wiggly function of seed 000 averaged under Gaussian noise,
  :math:`f_\sigma(x) = \mathbb{E}[f(x + \sigma Z)]`, :math:`Z \sim N(0, 1)`, in closed form;
  :func:`continuation` minimises a sequence of such objectives, each run starting where the
  previous one ended.
* :func:`batch_normalize`, with :class:`lessons_src.stochastic.LeastSquares`, shows how
  centring and scaling the inputs of a linear model changes the condition number of its Hessian.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, Wiggly, as_points
from .optimizers import Optimizer, _step_size
from .runner import Trajectory, run


class CoordinateState(NamedTuple):
    count: int


class CoordinateDescent(Optimizer):
    r"""Cyclic coordinate descent: step :math:`k` changes only coordinate :math:`i = k \bmod d`,

    .. math::
        x_{k+1,i} = x_{k,i} - \eta\,\frac{\partial_i f(x_k)}{c_i(x_k)}, \qquad
        x_{k+1,j} = x_{k,j} \ (j \ne i),

    with :math:`c_i = \partial_{ii} f(x_k)` when ``newton=True`` (on a quadratic, :math:`\eta = 1`
    then minimises :math:`f` exactly along the coordinate) and :math:`c_i = 1` otherwise (a
    gradient step on one coordinate). One sweep through all coordinates takes :math:`d` steps.
    """

    name = "coordinate"

    def __init__(self, lr: ArrayLike = 1.0, *, newton: bool = True) -> None:
        self.lr = _step_size("lr", lr)
        self.newton = bool(newton)

    def init(self, x: Array) -> CoordinateState:
        return CoordinateState(0)

    def step(self, objective: Objective, x: Array, state: CoordinateState):
        i = state.count % x.shape[-1]
        g = objective.grad(x)[..., i]
        scale = objective.hessian(x)[..., i, i] if self.newton else 1.0
        delta = self.lr[..., 0] * g / scale
        batch = np.broadcast_shapes(x.shape[:-1], delta.shape)
        x_next = np.broadcast_to(x, (*batch, x.shape[-1])).copy()
        x_next[..., i] -= delta
        return x_next, CoordinateState(state.count + 1)


#: The wiggly function as a sum of terms :math:`c\,\mathrm{trig}(a x)`: (amplitude c, frequency
#: a, ``True`` for a cosine, ``False`` for a sine).
_WIGGLY_TERMS: tuple[tuple[float, float, bool], ...] = (
    (1.0, 1.0, True),
    (1 / 3, 3.0, False),
    (1 / 5, 5.0, True),
    (1 / 7, 7.0, False),
)
_WIGGLY_BOWL = 0.15**2


class SmoothedWiggly(Objective):
    r"""The wiggly function blurred by Gaussian noise of size :math:`\sigma`:
    :math:`f_\sigma(x) = \mathbb{E}\,f(x + \sigma Z)` with :math:`Z \sim N(0, 1)`.

    Because :math:`\mathbb{E}[(x + \sigma Z)^2] = x^2 + \sigma^2` and
    :math:`\mathbb{E}[\cos(a(x + \sigma Z))] = e^{-a^2\sigma^2/2}\cos(ax)` (the same factor for
    sine), every ripple of frequency :math:`a` is damped by :math:`e^{-a^2\sigma^2/2}`:

    .. math::
        f_\sigma(x) = (0.15)^2 (x^2 + \sigma^2) + e^{-\sigma^2/2}\cos x
        + \tfrac13 e^{-9\sigma^2/2}\sin 3x + \tfrac15 e^{-25\sigma^2/2}\cos 5x
        + \tfrac17 e^{-49\sigma^2/2}\sin 7x .

    ``sigma = 0`` is the wiggly function itself.
    """

    dim = 1

    def __init__(self, sigma: float) -> None:
        sigma = float(sigma)
        if not (np.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigma must be finite and at least 0, got {sigma:g}")
        self.sigma = sigma
        self.name = f"wiggly smoothed with σ = {sigma:g}"

    def damping(self, frequency: float) -> float:
        r"""The factor :math:`e^{-a^2\sigma^2/2}` shrinking a ripple of frequency a."""
        return float(np.exp(-0.5 * (frequency * self.sigma) ** 2))

    def _terms(self, x: Array, derivative: int) -> Array:
        """Sum of the damped ripples' ``derivative``-th derivatives at ``x``."""
        total = np.zeros_like(x)
        for amplitude, a, is_cos in _WIGGLY_TERMS:
            # Each derivative of sin(ax + φ) is a·sin(ax + φ + π/2); cos(ax) = sin(ax + π/2).
            phase = a * x + derivative * np.pi / 2 + (np.pi / 2 if is_cos else 0.0)
            total = total + amplitude * self.damping(a) * a**derivative * np.sin(phase)
        return total

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return _WIGGLY_BOWL * (x**2 + self.sigma**2) + self._terms(x, 0)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return 2 * _WIGGLY_BOWL * x + self._terms(x, 1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return (2 * _WIGGLY_BOWL + self._terms(x, 2))[..., None]


def monte_carlo_smoothing(
    objective: Objective, x: ArrayLike, sigma: float, samples: int = 100_000,
    rng: np.random.Generator | None = None,
) -> Array:
    r"""Estimate :math:`\mathbb{E}\,f(x + \sigma Z)` by averaging over draws :math:`Z \sim N(0, I)`.

    Returns shape ``(...)`` for points ``x`` of shape ``(..., d)``; its standard error is
    :math:`\mathrm{sd}(f(x + \sigma Z))/\sqrt{\text{samples}}`.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x = as_points(x, objective.dim)
    noise = rng.standard_normal((samples, *x.shape))
    return objective.value(x + sigma * noise).mean(axis=0)


@dataclass(frozen=True)
class Continuation:
    """The stages of a continuation run: ``stages[j]`` minimised ``objectives[j]``."""

    sigmas: Array
    objectives: list[Objective]
    stages: list[Trajectory]

    @property
    def ends(self) -> Array:
        """Where each stage ended, shape ``(stages, *batch, d)``."""
        return np.stack([t.final for t in self.stages])

    @property
    def final(self) -> Array:
        """The end of the last stage: the answer for the last (least smoothed) objective."""
        return self.stages[-1].final


def continuation(
    objective_at: Callable[[float], Objective],
    sigmas: Sequence[float],
    optimizer: Optimizer,
    x0: ArrayLike,
    steps: int,
) -> Continuation:
    r"""Minimise :math:`f_{\sigma_0}, f_{\sigma_1}, \dots` in turn, each from where the last ended.

    ``objective_at(σ)`` builds the objective for one smoothing level; ``sigmas`` should shrink to
    0 so that the last stage minimises the original function. Each stage is ``steps`` steps of
    ``optimizer``.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    if sigmas.ndim != 1 or sigmas.size == 0:
        raise ValueError("sigmas must be a non-empty 1-D sequence")
    objectives, stages = [], []
    x = x0
    for sigma in sigmas:
        objective = objective_at(float(sigma))
        trajectory = run(objective, optimizer, x, steps)
        objectives.append(objective)
        stages.append(trajectory)
        x = trajectory.final
    return Continuation(sigmas, objectives, stages)


def wiggly_smoothing(sigma: float) -> Objective:
    r"""The wiggly function for ``sigma = 0``, else its Gaussian smoothing :math:`f_\sigma`."""
    return Wiggly() if sigma == 0 else SmoothedWiggly(sigma)


def batch_normalize(X: ArrayLike, eps: float = 0.0) -> Array:
    r"""Centre and scale every column of ``X`` over the batch (rows), as batch normalisation does:

    .. math::
        \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{\sigma_j^2 + \varepsilon}}, \qquad
        \mu_j = \frac1m\sum_i x_{ij}, \quad \sigma_j^2 = \frac1m\sum_i (x_{ij} - \mu_j)^2 .

    (The learnt scale :math:`\gamma` and shift :math:`\beta` of a batch-norm layer are left out.)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (examples × features), got shape {X.shape}")
    if eps < 0:
        raise ValueError(f"eps must be at least 0, got {eps:g}")
    mean = X.mean(axis=0)
    var = X.var(axis=0)
    if np.any(var + eps == 0):
        raise ValueError("a constant column cannot be normalised with eps = 0")
    return (X - mean) / np.sqrt(var + eps)


def quadratic_model(objective: Objective, at: ArrayLike, x: ArrayLike, alpha: float = 0.0) -> Array:
    r"""The local model that a (regularised) Newton step minimises, for a 1-D objective:

    .. math::
        m(x) = f(x_k) + f'(x_k)(x - x_k) + \tfrac12\bigl(f''(x_k) + \alpha\bigr)(x - x_k)^2 .

    ``at`` is the point :math:`x_k`; ``x`` is an array of numbers, and the result has its shape.
    """
    if objective.dim != 1:
        raise ValueError("quadratic_model draws 1-D objectives only")
    xk = as_points(at, 1).reshape(1)
    d = np.asarray(x, dtype=float) - xk[0]
    g, h = objective.grad(xk)[0], objective.hessian(xk)[0, 0]
    return objective.value(xk)[()] + g * d + 0.5 * (h + alpha) * d**2
