r"""Averaging methods: the iterate steps as SGD does, and an average of the iterates is the answer.

:class:`ASGD` averages the SGD iterates after a start; :class:`ScheduleFreeSGD` and
:class:`ScheduleFreeAdamW` average from the first step and take the gradient between the SGD
sequence and its average, which replaces a decaying schedule.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import (
    GradientOptimizer,
    validate_count,
    validate_decay,
    validate_guard,
    validate_positive,
    validate_range,
    validate_step_size,
)

__all__ = ["ASGD", "ASGDState", "ScheduleFreeAdamW", "ScheduleFreeAdamWState", "ScheduleFreeSGD",
           "ScheduleFreeSGDState"]


class ASGDState(NamedTuple):
    count: int
    average: Array


class ASGD(GradientOptimizer):
    r"""Averaged SGD (Polyak and Juditsky, 1992), in PyTorch's form (``torch.optim.ASGD``, after
    Bottou's implementation): SGD with a decaying step and a slight shrinkage of the iterate, and
    the running average of the iterates from step :math:`t_0` on,

    .. math::
        \eta_t = \frac{\eta}{(1 + \lambda\eta (t-1))^{\alpha}}, \qquad
        x_t = (1 - \lambda\eta_t)\, x_{t-1} - \eta_t\,(g_t + w\, x_{t-1}), \qquad
        \bar x_t = \bar x_{t-1} + \mu_t (x_t - \bar x_{t-1}), \quad
        \mu_t = \frac{1}{\max(1,\ t - 1 - t_0)},

    so :math:`\bar x_t = x_t` until step :math:`t_0 + 2`, and afterwards the mean of the iterates
    since then. The points the run visits are the :math:`x_t`; the averaged iterate is the
    state's ``average`` (PyTorch's ``state["ax"]``).

    Defaults (PyTorch's): ``lr=0.01``, ``lambd=1e-4``, ``alpha=0.75``, ``t0=1e6`` (averaging
    never starts in a short run), ``weight_decay=0`` (:math:`w`, L2 added to the gradient).
    ``lr`` is a number or an array (a sweep), not a schedule: the rule makes its own.

    >>> from lessons_src import ASGD, Parabola, run
    >>> trajectory = run(Parabola(1, -2, 1), ASGD(lr=0.1, t0=50), x0=5.0, steps=200, record=True)
    >>> trajectory.states["average"][-1]
    array([0.99995123])
    """

    name = "asgd"

    def __init__(self, lr: ArrayLike = 0.01, lambd: ArrayLike = 1e-4, alpha: ArrayLike = 0.75,
                 t0: ArrayLike = 1e6, weight_decay: ArrayLike = 0.0) -> None:
        self.lr = validate_positive("lr", lr)
        self.lambd = validate_range("lambd", lambd, low=0.0)
        self.alpha = validate_range("alpha", alpha, low=0.0)
        self.t0 = validate_range("t0", t0, low=0.0)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def init(self, x: Array) -> ASGDState:
        return ASGDState(0, np.zeros_like(x))

    def eta(self, count: int) -> Array:
        r""":math:`\eta_t` for the step that follows ``count`` steps."""
        return self.lr / ((1 + self.lambd * self.lr * count) ** self.alpha)

    def mu(self, count: int) -> Array:
        r""":math:`\mu_t`, the weight of the new iterate in the average, after ``count`` steps."""
        return 1 / np.maximum(1.0, count - self.t0)

    def update(self, grad: Array, x: Array, state: ASGDState) -> tuple[Array, ASGDState]:
        if np.any(self.weight_decay):
            grad = grad + self.weight_decay * x
        eta = self.eta(state.count)
        x_next = x * (1 - self.lambd * eta) - eta * grad
        mu = self.mu(state.count)
        average = np.where(mu == 1, x_next, state.average + (x_next - state.average) * mu)
        return x_next, ASGDState(state.count + 1, average)


# --- schedule-free: averaging plus interpolation -------------------------------------------------


def _check_interpolation(name: str, value: ArrayLike) -> Array:
    r"""The interpolation weight :math:`\beta` of a schedule-free rule, in :math:`[0, 1]`."""
    array = validate_range(name, value, low=0.0)
    if np.any(array > 1):
        raise ValueError(f"{name} must be in [0, 1], got {float(array[array > 1].flat[0]):g}")
    return array


class ScheduleFreeSGDState(NamedTuple):
    count: int
    z: Array
    lr_max: Array
    weight_sum: Array


class _ScheduleFree(GradientOptimizer):
    r"""What schedule-free SGD and AdamW share: the warmup, the weights of the average and the
    point :math:`y` where the gradient is taken."""

    beta_name = "momentum"

    def _common(self, lr: ArrayLike | Schedule, warmup_steps: int, r: ArrayLike,
                weight_lr_power: ArrayLike, weight_decay: ArrayLike) -> None:
        self.lr = validate_step_size("lr", lr)
        self.warmup_steps = validate_count("warmup_steps", warmup_steps)
        self.r = validate_range("r", r, low=0.0)
        self.weight_lr_power = validate_range("weight_lr_power", weight_lr_power, low=0.0)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def gamma(self, count: int) -> Array:
        r""":math:`\gamma_t`, the step size of the step that follows ``count`` steps: ``lr`` (or its
        schedule) times the linear warmup :math:`\min(1, (t+1)/T_w)`."""
        lr = self.step_size(count)
        if self.warmup_steps and count < self.warmup_steps:
            return lr * ((count + 1) / self.warmup_steps)
        return lr

    def average_weight(self, count: int, lr_max: Array, weight_sum: Array) -> tuple[Array, Array, Array]:
        r"""The weight :math:`c_{t+1} = w_{t+1} / \sum_{i \le t+1} w_i` of the new point in the
        average, with :math:`w_{t+1} = (t+1)^r\,\gamma_{\max}^{p}`; also the new
        :math:`\gamma_{\max}` and :math:`\sum_i w_i`."""
        lr_max = np.maximum(lr_max, self.gamma(count))
        weight = (count + 1) ** self.r * lr_max**self.weight_lr_power
        weight_sum = weight_sum + weight
        return weight / weight_sum, lr_max, weight_sum

    def grad_point(self, x: Array, state: ScheduleFreeSGDState) -> Array:
        r"""The interpolation :math:`y_t = (1-\beta)\, z_t + \beta\, x_t`, where the gradient is
        taken (schedulefree's parameters in ``train()`` mode)."""
        beta = getattr(self, self.beta_name)
        return x * beta + state.z * (1 - beta)


class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-free SGD (Defazio et al., 2024, "The road less scheduled"): a plain SGD sequence
    :math:`z_t`, its weighted average :math:`x_t`, and the gradient taken between the two,

    .. math::
        y_t = (1-\beta)\, z_t + \beta\, x_t, \qquad
        z_{t+1} = z_t - \gamma_t \nabla f(y_t), \qquad
        x_{t+1} = (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1},

    with :math:`z_0 = x_0`, the warmup :math:`\gamma_t = \eta \min(1, (t+1)/T_w)` and the weights
    :math:`c_{t+1} = w_{t+1} / \sum_{i=1}^{t+1} w_i`,
    :math:`w_{t+1} = (t+1)^r \max_{i \le t}\gamma_i^{\,p}`: with :math:`r = 0` and :math:`p = 2`
    (the defaults, ``r`` and ``weight_lr_power``) :math:`c_{t+1} = \gamma_t^2/\sum_i\gamma_i^2`
    once the warmup is over, and :math:`c_{t+1} = 1/(t+1)` without a warmup, the plain average.
    :math:`\beta = 0` is Polyak–Ruppert averaging of SGD, :math:`\beta = 1` primal averaging.

    **The point** ``x`` of this optimizer (what ``run`` records and what ``update`` takes and
    returns) is the average :math:`x_t`, the point one evaluates: schedulefree's parameters after
    ``optimizer.eval()``. The gradient is taken at :meth:`grad_point`, :math:`y_t`; the state
    holds :math:`z_t`. ``weight_decay=λ`` adds :math:`\lambda y_t` to the gradient, as the reference
    does. Agrees with ``schedulefree.SGDScheduleFreeReference`` (``tests/test_schedule_free_parity.py``).

    Defaults (the reference's): ``lr=1.0``, ``momentum=0.9`` (:math:`\beta`), ``warmup_steps=0``,
    ``r=0``, ``weight_lr_power=2``, ``weight_decay=0``.

    >>> from lessons_src import Parabola, ScheduleFreeSGD, run
    >>> run(Parabola(1, -2, 1), ScheduleFreeSGD(lr=0.1), x0=5.0, steps=1000).final
    array([0.99999799])
    """

    name = "schedule-free-sgd"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, momentum: ArrayLike = 0.9, *,
                 warmup_steps: int = 0, r: ArrayLike = 0.0, weight_lr_power: ArrayLike = 2.0,
                 weight_decay: ArrayLike = 0.0) -> None:
        self._common(lr, warmup_steps, r, weight_lr_power, weight_decay)
        self.momentum = _check_interpolation("momentum", momentum)

    def init(self, x: Array) -> ScheduleFreeSGDState:
        return ScheduleFreeSGDState(0, np.array(x, dtype=float, copy=True), np.zeros_like(x[..., :1]),
                                    np.zeros_like(x[..., :1]))

    def update(self, grad: Array, x: Array,
               state: ScheduleFreeSGDState) -> tuple[Array, ScheduleFreeSGDState]:
        r"""``grad`` is :math:`\nabla f(y_t)`, taken at :meth:`grad_point`."""
        c, lr_max, weight_sum = self.average_weight(state.count, state.lr_max, state.weight_sum)
        if np.any(self.weight_decay):
            grad = grad + self.weight_decay * self.grad_point(x, state)
        z = state.z - self.gamma(state.count) * grad
        x_next = x * (1 - c) + z * c
        return x_next, ScheduleFreeSGDState(state.count + 1, z, lr_max, weight_sum)


class ScheduleFreeAdamWState(NamedTuple):
    count: int
    z: Array
    nu: Array
    lr_max: Array
    weight_sum: Array


class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-free AdamW (Defazio et al., 2024): schedule-free SGD whose :math:`z` steps are
    Adam's without its first moment (the interpolation :math:`\beta_1` plays momentum's part),

    .. math::
        y_t &= (1-\beta_1)\, z_t + \beta_1\, x_t, \qquad g_t = \nabla f(y_t), \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \\
        z_{t+1} &= z_t - \gamma_t \lambda\, y_t
                 - \gamma_t\, \frac{g_t}{\sqrt{v_t/(1-\beta_2^{t+1})} + \varepsilon}, \qquad
        x_{t+1} = (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1},

    with the warmup :math:`\gamma_t` and the weights :math:`c_{t+1}` of :class:`ScheduleFreeSGD`
    (:math:`c_{t+1} = \gamma_t^2/\sum_i \gamma_i^2` for the defaults :math:`r = 0`, :math:`p = 2`).
    The decoupled weight decay :math:`\lambda` acts at :math:`y_t`.

    **The point** ``x`` is the average :math:`x_t` (schedulefree's ``optimizer.eval()``
    parameters); the gradient is taken at :meth:`grad_point`, :math:`y_t`. Agrees with
    ``schedulefree.AdamWScheduleFreeReference`` and ``AdamWScheduleFree``
    (``tests/test_schedule_free_parity.py``).

    Defaults (the reference's): ``lr=0.0025``, ``beta1=0.9``, ``beta2=0.999``, ``eps=1e-8``,
    ``warmup_steps=0``, ``r=0``, ``weight_lr_power=2``, ``weight_decay=0``.

    >>> from lessons_src import Parabola, ScheduleFreeAdamW, run
    >>> run(Parabola(1, -2, 1), ScheduleFreeAdamW(lr=0.1), x0=5.0, steps=1000).final
    array([1.00044702])
    """

    name = "schedule-free-adamw"
    beta_name = "beta1"

    def __init__(self, lr: ArrayLike | Schedule = 0.0025, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, *, warmup_steps: int = 0,
                 r: ArrayLike = 0.0, weight_lr_power: ArrayLike = 2.0,
                 weight_decay: ArrayLike = 0.0) -> None:
        self._common(lr, warmup_steps, r, weight_lr_power, weight_decay)
        self.beta1 = _check_interpolation("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> ScheduleFreeAdamWState:
        return ScheduleFreeAdamWState(0, np.array(x, dtype=float, copy=True), np.zeros_like(x),
                                      np.zeros_like(x[..., :1]), np.zeros_like(x[..., :1]))

    def update(self, grad: Array, x: Array,
               state: ScheduleFreeAdamWState) -> tuple[Array, ScheduleFreeAdamWState]:
        r"""``grad`` is :math:`\nabla f(y_t)`, taken at :meth:`grad_point`."""
        c, lr_max, weight_sum = self.average_weight(state.count, state.lr_max, state.weight_sum)
        gamma = self.gamma(state.count)
        nu = state.nu * self.beta2 + grad * grad * (1 - self.beta2)
        denominator = np.sqrt(nu / (1 - self.beta2 ** (state.count + 1))) + self.eps
        z = state.z
        if np.any(self.weight_decay):
            z = z - self.grad_point(x, state) * (gamma * self.weight_decay)
        z = z - gamma * (grad / denominator)
        x_next = x * (1 - c) + z * c
        return x_next, ScheduleFreeAdamWState(state.count + 1, z, nu, lr_max, weight_sum)
