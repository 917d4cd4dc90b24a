r"""Adaptive step sizes (chapters 7 and 8): AdaGrad, RMSProp and Adam, examined.

The update rules themselves live in :mod:`lessons_src.optimizers`. This module holds what the two
chapters need around them:

* objectives that show the adaptive methods at work: a gentle slope whose gradient is almost
  constant (:class:`GentleSlope`), any objective rescaled by a constant (:class:`Scaled`), a linear
  loss (:class:`LinearLoss`);
* a linear fit with a rare ("sparse") feature (:func:`sparse_feature_data`);
* online problems, where step :math:`t` sees its own loss :math:`f_t`: the counterexample of
  Reddi et al. (2018) on which Adam heads for the worst point (:class:`ReddiProblem`), run by
  :func:`run_online`, with the wrappers
  :class:`InverseSqrtDecay` (step :math:`\eta/\sqrt t`) and :class:`Projected` (stay in an interval);
* the placement of :math:`\varepsilon`: :class:`AdaGradEpsInside` and :class:`RMSPropEpsInside`
  divide by :math:`\sqrt{s + \varepsilon}` instead of :math:`\sqrt s + \varepsilon`;
* the moment estimates of Adam unrolled: :func:`ema_from_zero`, :func:`ema_weights`,
  :func:`bias_factor`, :func:`uncorrected_step_factor`;
* a faithful copy of the Adam loop of seed article 000, which writes the bias-corrected moments
  back into the running averages (:class:`Seed000Adam`), and the size of the factor that this
  compounds (:func:`log10_writeback_factor`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, as_points
from .optimizers import (
    AdaGrad,
    Adam,
    GradientDescent,
    Optimizer,
    RMSProp,
    SquaresState,
    _decay,
    _hyper,
    _step_size,
)
from .runner import Trajectory, run
from .stochastic import LeastSquares

# ---------------------------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------------------------


class GentleSlope(Objective):
    r"""A long gentle slope into a round valley: :math:`f(x) = c\,(\sqrt{1 + x^2} - 1)`.

    :math:`f'(x) = c\,x/\sqrt{1+x^2}`, which is almost :math:`\pm c` far from the minimum
    :math:`x^* = 0`, and :math:`f''(x) = c\,(1+x^2)^{-3/2}`.
    """

    dim = 1

    def __init__(self, slope: float = 1.0) -> None:
        if not slope > 0:
            raise ValueError(f"slope must be positive, got {slope}")
        self.slope = float(slope)
        self.name = f"gentle slope (c={self.slope:g})"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return self.slope * (np.sqrt(1 + x**2) - 1)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return self.slope * x / np.sqrt(1 + x**2)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return (self.slope * (1 + x**2) ** -1.5)[..., None]


class Scaled(Objective):
    r"""The objective :math:`c\,f(x)` for a constant :math:`c > 0`.

    Its gradient is :math:`c\nabla f` and its Hessian :math:`c\nabla^2 f`.
    """

    def __init__(self, objective: Objective, factor: float) -> None:
        if not (np.isfinite(factor) and factor > 0):
            raise ValueError(f"factor must be positive and finite, got {factor}")
        self.objective, self.factor = objective, float(factor)
        self.dim = objective.dim
        self.name = f"{self.factor:g} × {objective.name}"

    def value(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.grad(x)

    def hessian(self, x: ArrayLike) -> Array:
        return self.factor * self.objective.hessian(x)


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


# ---------------------------------------------------------------------------------------------
# Online problems: step t sees its own loss f_t
# ---------------------------------------------------------------------------------------------


class OnlineProblem(Protocol):
    """A sequence of losses :math:`f_1, f_2, \\dots` and the average loss they estimate."""

    @property
    def average(self) -> Objective: ...

    def loss_at(self, t: int) -> Objective: ...


def sparse_feature_data(n: int = 200, every: int = 20, *,
                        weights: tuple[float, float] = (1.0, 2.0)) -> LeastSquares:
    r"""A linear fit :math:`y_i = w_1 d_i + w_2 s_i` with a dense and a *sparse* feature.

    The dense feature :math:`d_i = \pm 1` is never zero (it is :math:`+1` on the first block of
    ``every`` examples, :math:`-1` on the next, and so on); the sparse one is :math:`s_i = 1` for
    one example in ``every`` (:math:`i \equiv 0 \bmod` ``every``) and 0 otherwise. When ``n`` is a
    multiple of ``2 * every`` the two features are orthogonal and the mean loss is
    :math:`f(w) = \tfrac12\bigl[(w_1 - w_1^*)^2 + p\,(w_2 - w_2^*)^2\bigr]` with
    :math:`p = 1/\text{every}`: the sparse weight's gradient is :math:`p` times smaller.
    """
    if n < 1 or every < 1:
        raise ValueError(f"n and every must be at least 1, got n={n}, every={every}")
    i = np.arange(n)
    dense = np.where((i // every) % 2 == 0, 1.0, -1.0)
    sparse = (i % every == 0).astype(float)
    A = np.stack([dense, sparse], axis=1)
    return LeastSquares(A, A @ np.asarray(weights, dtype=float),
                        name=f"dense and sparse feature (1 example in {every})")


class ReddiProblem:
    r"""The online problem of Reddi, Kale & Kumar (2018, Theorem 1) on :math:`x \in [-1, 1]`:

    .. math::
        f_t(x) = \begin{cases} C x & t \equiv 1 \pmod 3, \\ -x & \text{otherwise,} \end{cases}
        \qquad C > 2.

    The average loss is :math:`\tfrac{C-2}{3}\,x`, minimised at :math:`x^* = -1`.
    """

    lo, hi = -1.0, 1.0

    def __init__(self, C: float = 3.0) -> None:
        if not C > 2:
            raise ValueError(f"C must be larger than 2, got {C}")
        self.C = float(C)
        self._big, self._small = LinearLoss(self.C), LinearLoss(-1.0)

    @property
    def average(self) -> Objective:
        return LinearLoss((self.C - 2) / 3)

    @property
    def minimizer(self) -> float:
        return self.lo

    @property
    def adam_beta2(self) -> float:
        r"""The paper's choice :math:`\beta_2 = 1/(1 + C^2)` (with :math:`\beta_1 = 0`)."""
        return 1 / (1 + self.C**2)

    def loss_at(self, t: int) -> Objective:
        return self._big if t % 3 == 1 else self._small


def reddi_period_drift(C: float, beta2: float, *, amsgrad: bool = False) -> float:
    r"""Adam's steady displacement over one period of :class:`ReddiProblem`, per unit step size.

    With :math:`\beta_1 = 0`, no bias correction and :math:`\varepsilon = 0`, the gradients
    cycle through :math:`(C, -1, -1)` and :math:`v` settles into a cycle
    :math:`(v_1, v_2, v_3)`; one period then moves :math:`x` by
    :math:`\eta\,(-C/\sqrt{v_1} + 1/\sqrt{v_2} + 1/\sqrt{v_3})` (away from the boundary, with a
    step size that changes little over three steps). AMSGrad divides all three by
    :math:`\sqrt{\max_j v_j} = \sqrt{v_1}`, which gives :math:`\eta\,(2 - C)/\sqrt{v_1} < 0`.
    """
    beta2 = float(_decay("beta2", beta2)[0])
    g = np.array([C, -1.0, -1.0])
    v = np.zeros(3)
    last = 0.0
    for _ in range(2000):  # iterate whole periods until the cycle of v is reached
        for j in range(3):
            last = beta2 * last + (1 - beta2) * g[j] ** 2
            v[j] = last
    denominator = np.full(3, v.max()) if amsgrad else v
    return float(np.sum(-g / np.sqrt(denominator)))


class Projected(Optimizer):
    r"""Keep a base optimizer inside an interval: :math:`x_{t} = \min(\max(\tilde x_t, \ell), h)`.

    In one dimension this clip is also the projection in any metric
    :math:`\|\cdot\|_{\sqrt{\hat v}}` that AMSGrad's analysis uses, because every positive
    weighting of a line keeps its order.
    """

    def __init__(self, base: Optimizer, lo: float, hi: float) -> None:
        if not lo < hi:
            raise ValueError(f"the interval must have lo < hi, got [{lo}, {hi}]")
        self.base, self.lo, self.hi = base, float(lo), float(hi)
        self.name = f"projected {base.name}"

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.base.batch_shape

    def init(self, x: Array) -> Any:
        return self.base.init(x)

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        x_next, state = self.base.step(objective, x, state)
        return np.clip(x_next, self.lo, self.hi), state


class DecayState(NamedTuple):
    count: int
    base: Any


class InverseSqrtDecay(Optimizer):
    r"""Shrink every step of a base optimizer by :math:`1/\sqrt t`.

    With :math:`\tilde x_t` the base rule's next point,
    :math:`x_t = x_{t-1} + (\tilde x_t - x_{t-1})/\sqrt t`.

    This is the base rule with step size :math:`\eta_t = \eta/\sqrt t` when its state does not
    depend on :math:`\eta` (gradient descent, AdaGrad, RMSProp, Adam and their variants here);
    momentum methods, whose velocity carries :math:`\eta`, are refused.
    """

    def __init__(self, base: Optimizer) -> None:
        if not isinstance(base, GradientDescent | AdaGrad | RMSProp | Adam | Seed000Adam):
            raise TypeError(
                f"{type(base).__name__} keeps the step size in its state; "
                "InverseSqrtDecay only wraps GradientDescent, AdaGrad, RMSProp or Adam"
            )
        self.base = base
        self.name = f"{base.name} with η/√t"

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.base.batch_shape

    def init(self, x: Array) -> DecayState:
        return DecayState(0, self.base.init(x))

    def step(self, objective: Objective, x: Array, state: DecayState):
        t = state.count + 1
        x_next, base_state = self.base.step(objective, x, state.base)
        return x + (x_next - x) / np.sqrt(t), DecayState(t, base_state)


def run_online(problem: OnlineProblem, optimizer: Optimizer, x0: ArrayLike,
               steps: int) -> Trajectory:
    r"""Step ``optimizer`` on :math:`f_1, f_2, \dots, f_T` (``problem.loss_at(t)``) from ``x0``.

    Like :func:`lessons_src.run`, but step :math:`t` uses the gradient of its own loss
    :math:`f_t`. The trajectory's values are those of the average loss ``problem.average``.
    """
    return run(problem.average, optimizer, x0, steps, objective_at=problem.loss_at)


def effective_steps(trajectory: Trajectory) -> Array:
    r"""The per-coordinate step actually taken, :math:`\eta_k = (x_k - x_{k+1}) / g_k`.

    For rules without momentum (gradient descent, AdaGrad, RMSProp) this is the multiplier of
    the gradient, e.g. :math:`\eta/(\sqrt{s_{k+1}} + \varepsilon)` for AdaGrad. Shape
    ``(steps, *batch, d)``; NaN where :math:`g_k = 0`.
    """
    points = trajectory.points
    with np.errstate(all="ignore"):
        g = trajectory.objective.grad(points[:-1])
        return np.where(g != 0, (points[:-1] - points[1:]) / g, np.nan)


# ---------------------------------------------------------------------------------------------
# Where ε goes
# ---------------------------------------------------------------------------------------------


class AdaGradEpsInside(AdaGrad):
    r"""AdaGrad with :math:`\varepsilon` inside the square root:

    .. math::
        s_{k+1} = s_k + g_k^2, \qquad x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1} + \varepsilon}}\, g_k.
    """

    name = "adagrad-eps-inside"

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = state.squares + g**2
        return x - self.lr * g / np.sqrt(s + self.eps), SquaresState(s)


class RMSPropEpsInside(RMSProp):
    r"""RMSProp with :math:`\varepsilon` inside the square root (as in Goodfellow et al., Alg. 8.5):

    .. math::
        s_{k+1} = \rho s_k + (1 - \rho) g_k^2, \qquad
        x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1} + \varepsilon}}\, g_k.
    """

    name = "rmsprop-eps-inside"

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = self.rho * state.squares + (1 - self.rho) * g**2
        return x - self.lr * g / np.sqrt(s + self.eps), SquaresState(s)


def step_multiplier(squares: ArrayLike, lr: ArrayLike = 1.0, eps: ArrayLike = 1e-8, *,
                    inside: bool = False) -> Array:
    r"""The gradient's multiplier :math:`\eta/(\sqrt s + \varepsilon)`.

    With ``inside=True`` it is :math:`\eta/\sqrt{s + \varepsilon}` instead.
    """
    s = np.asarray(squares, dtype=float)
    lr, eps = np.asarray(lr, dtype=float), np.asarray(eps, dtype=float)
    return lr / np.sqrt(s + eps) if inside else lr / (np.sqrt(s) + eps)


# ---------------------------------------------------------------------------------------------
# Moment estimates and their bias
# ---------------------------------------------------------------------------------------------


def ema_from_zero(samples: ArrayLike, beta: ArrayLike) -> Array:
    r"""The running averages :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` from :math:`m_0 = 0`.

    ``samples`` has the steps on its first axis (:math:`g_1, \dots, g_T`); the result has the
    same shape. ``beta`` broadcasts against one step's shape.
    """
    g = np.asarray(samples, dtype=float)
    beta = np.asarray(beta, dtype=float)
    out = np.empty(np.broadcast_shapes(g.shape, (1, *np.shape(beta))))
    m = np.zeros(out.shape[1:])
    for t in range(g.shape[0]):
        m = beta * m + (1 - beta) * g[t]
        out[t] = m
    return out


def ema_weights(beta: float, t: int) -> Array:
    r"""The weights of the unrolled average, :math:`m_t = \sum_{k=1}^{t} (1-\beta)\beta^{t-k} g_k`.

    Entry :math:`k-1` is the weight of :math:`g_k`; they add up to :math:`1 - \beta^t`.
    """
    k = np.arange(1, t + 1)
    return (1 - beta) * float(beta) ** (t - k)


def bias_factor(beta: ArrayLike, t: ArrayLike) -> Array:
    r""":math:`1 - \beta^t`.

    Under stationary gradients :math:`\mathbb E[m_t] = (1 - \beta^t)\,\mathbb E[g]`.
    """
    return 1 - np.asarray(beta, dtype=float) ** np.asarray(t, dtype=float)


def uncorrected_step_factor(beta1: ArrayLike, beta2: ArrayLike, t: ArrayLike) -> Array:
    r"""Adam's step without bias correction, in units of :math:`\eta`, for a constant gradient:
    :math:`|m_t|/\sqrt{v_t} = (1 - \beta_1^t)/\sqrt{1 - \beta_2^t}` (with :math:`\varepsilon = 0`).
    With the correction the same ratio is exactly 1.
    """
    return bias_factor(beta1, t) / np.sqrt(bias_factor(beta2, t))


# ---------------------------------------------------------------------------------------------
# The seed's Adam
# ---------------------------------------------------------------------------------------------


class Seed000State(NamedTuple):
    count: int
    s: Array
    r: Array


class Seed000Adam(Optimizer):
    r"""The Adam loop of seed article 000, reproduced faithfully, *bug included*:

    .. math::
        s \leftarrow \frac{\beta_1 s + (1-\beta_1) g_t}{1 - \beta_1^t}, \qquad
        r \leftarrow \frac{\beta_2 r + (1-\beta_2) g_t^2}{1 - \beta_2^t}, \qquad
        x \leftarrow x - \frac{\eta}{\delta + \sqrt r}\, s .

    The bias-corrected values are written back into the running averages :math:`s, r`, so the
    next step corrects them again: the corrections compound (see :func:`log10_writeback_factor`).
    Real Adam (:class:`lessons_src.optimizers.Adam`) keeps :math:`m_t, v_t` and corrects copies.
    """

    name = "seed000-adam"

    def __init__(self, lr: ArrayLike, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 delta: ArrayLike = 1e-8) -> None:
        self.lr = _step_size("lr", lr)
        self.beta1 = _decay("beta1", beta1)
        self.beta2 = _decay("beta2", beta2)
        self.delta = _hyper("delta", delta, low=0.0)

    def init(self, x: Array) -> Seed000State:
        zeros = np.zeros_like(x)
        return Seed000State(0, zeros, zeros)

    def step(self, objective: Objective, x: Array, state: Seed000State):
        t = state.count + 1
        g = objective.grad(x)
        s = (self.beta1 * state.s + (1 - self.beta1) * g) / (1 - self.beta1**t)
        r = (self.beta2 * state.r + (1 - self.beta2) * g**2) / (1 - self.beta2**t)
        return x - self.lr / (self.delta + np.sqrt(r)) * s, Seed000State(t, s, r)


def log10_writeback_factor(beta: float, t: ArrayLike) -> Array:
    r""":math:`\log_{10} P_t` with :math:`P_t = \prod_{k=1}^{t} \frac{1}{1 - \beta^k}`: the factor by which
    writing the corrected average back inflates it after :math:`t` steps.

    For the seed's recursion :math:`r_t = (\beta r_{t-1} + (1-\beta) g_t^2)/(1-\beta^t)` with
    :math:`|g_k| \le G` one has
    :math:`(1-\beta)\beta^{t-1} g_1^2\, P_t \le r_t \le G^2 P_t`.
    """
    t = np.asarray(t, dtype=int)
    if np.any(t < 1):
        raise ValueError("t must be at least 1")
    k = np.arange(1, int(np.max(t)) + 1)
    partial = np.cumsum(-np.log10(1 - float(beta) ** k))
    return partial[t - 1]


def seed000_moments(objective: Objective, optimizer: Seed000Adam, x0: ArrayLike,
                    steps: int) -> tuple[Array, Array]:
    r"""Run the seed's loop and keep its second moment: returns the points
    ``(steps + 1, *batch, d)`` and :math:`r_t` for :math:`t = 1..T`, ``(steps, *batch, d)``.

    Unlike :func:`lessons_src.run` this keeps going when :math:`r_t` overflows to infinity (the
    points stay finite: the step becomes :math:`\eta s/\infty = 0`).
    """
    start = as_points(x0, objective.dim)
    batch = np.broadcast_shapes(start.shape[:-1], optimizer.batch_shape)
    x = np.broadcast_to(start, (*batch, objective.dim)).copy()
    points = np.empty((steps + 1, *x.shape))
    squares = np.empty((steps, *x.shape))
    points[0] = x
    with np.errstate(all="ignore"):
        state = optimizer.init(x)
        for t in range(steps):
            x, state = optimizer.step(objective, x, state)
            points[t + 1], squares[t] = x, state.r
    return points, squares


__all__ = [
    "AdaGradEpsInside",
    "GentleSlope",
    "InverseSqrtDecay",
    "LinearLoss",
    "OnlineProblem",
    "Projected",
    "RMSPropEpsInside",
    "ReddiProblem",
    "Scaled",
    "Seed000Adam",
    "bias_factor",
    "effective_steps",
    "ema_from_zero",
    "ema_weights",
    "log10_writeback_factor",
    "reddi_period_drift",
    "run_online",
    "seed000_moments",
    "sparse_feature_data",
    "step_multiplier",
    "uncorrected_step_factor",
]
