r"""Step sizes that change as descent goes on: decay schedules and a backtracking line search.

The three schedules are :class:`~lessons_src.stochastic.MinibatchSGD` with a step size
:math:`\eta_t` that depends on the step count :math:`t = 0, 1, 2, \dots` kept in the state:

* :class:`StepDecay`: :math:`\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}` (cut by
  :math:`\gamma` every :math:`s` steps);
* :class:`ExponentialDecay`: :math:`\eta_t = \eta_0\, \gamma^{t}`;
* :class:`InverseTimeDecay`: :math:`\eta_t = \eta_0 / (1 + t/\tau)`.

With ``batch_size=None`` they are plain gradient descent with that schedule. :class:`Armijo`
chooses each step by backtracking until the loss drops enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective
from .optimizers import Optimizer, _hyper, _step_size
from .stochastic import MinibatchSGD

#: A step-size schedule: the factor :math:`s(k)` that multiplies the base step at step ``k``.
Schedule = Callable[[ArrayLike], ArrayLike]


def step_decay(every: int, factor: ArrayLike) -> Schedule:
    r"""The step schedule :math:`s(k) = \gamma^{\lfloor k/s \rfloor}` with :math:`s` = ``every``
    and :math:`\gamma` = ``factor`` (PyTorch's ``StepLR(step_size=every, gamma=factor)`` stepped
    once per iteration). ``factor`` may be an array, for a sweep."""
    if isinstance(every, bool) or int(every) != every or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    if not np.all(np.asarray(factor, dtype=float) > 0):
        raise ValueError(f"factor must be positive, got {factor!r}")

    def schedule(k: ArrayLike) -> ArrayLike:
        return factor ** (np.asarray(k) // int(every))

    return schedule


def _factor(name: str, value: ArrayLike) -> Array:
    """Validate a decay factor in (0, 1] (1 means no decay)."""
    array = _hyper(name, value, low=0.0, low_open=True)
    if np.any(array > 1):
        raise ValueError(f"{name} must be in (0, 1], got {float(array.max()):g}")
    return array


class StepDecay(MinibatchSGD):
    r"""Step decay: :math:`\eta_t = \eta_0\,\gamma^{\lfloor t/s\rfloor}`.

    ``drop`` is :math:`\gamma \in (0, 1]`, ``every`` is :math:`s`.
    """

    name = "step-decay"

    def __init__(self, lr: ArrayLike, drop: ArrayLike = 0.5, every: int = 100,
                 batch_size: int | None = 1, *, sampling: str = "replace", seed: int = 0) -> None:
        super().__init__(lr, batch_size, sampling=sampling, seed=seed)
        self.drop = _factor("drop", drop)
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = int(every)

    def step_size(self, count: ArrayLike) -> Array:
        return self.lr * step_decay(self.every, self.drop)(count)


class ExponentialDecay(MinibatchSGD):
    r"""Exponential decay: :math:`\eta_t = \eta_0\,\gamma^t`, ``rate`` :math:`\gamma \in (0, 1]`."""

    name = "exponential-decay"

    def __init__(self, lr: ArrayLike, rate: ArrayLike = 0.99, batch_size: int | None = 1, *,
                 sampling: str = "replace", seed: int = 0) -> None:
        super().__init__(lr, batch_size, sampling=sampling, seed=seed)
        self.rate = _factor("rate", rate)

    def step_size(self, count: ArrayLike) -> Array:
        return self.lr * self.rate ** np.asarray(count)


class InverseTimeDecay(MinibatchSGD):
    r"""1/t decay: :math:`\eta_t = \eta_0 / (1 + t/\tau)` with time scale ``tau`` :math:`\tau > 0`.

    :math:`\sum_t \eta_t = \infty` while :math:`\sum_t \eta_t^2 < \infty`: the classical conditions
    (Robbins and Monro) under which stochastic descent converges despite its noise.
    """

    name = "inverse-time-decay"

    def __init__(self, lr: ArrayLike, tau: ArrayLike = 100.0, batch_size: int | None = 1, *,
                 sampling: str = "replace", seed: int = 0) -> None:
        super().__init__(lr, batch_size, sampling=sampling, seed=seed)
        self.tau = _step_size("tau", tau)

    def step_size(self, count: ArrayLike) -> Array:
        return self.lr / (1 + np.asarray(count) / self.tau)


class ArmijoState(NamedTuple):
    count: int
    lr: Array  # the step accepted at the last step, per run, shape (..., 1)
    evaluations: Array  # loss evaluations spent so far, per run, shape (...)


class Armijo(Optimizer):
    r"""Gradient descent with a backtracking (Armijo) line search.

    Each step tries :math:`\eta = \eta_0, \rho\eta_0, \rho^2\eta_0, \dots` and takes the first
    that decreases the loss enough:

    .. math::
        f(x - \eta g) \le f(x) - c\,\eta\,\|g\|^2, \qquad g = \nabla f(x).

    ``lr`` is :math:`\eta_0`, ``shrink`` is :math:`\rho \in (0, 1)`, ``c`` is :math:`c \in (0, 1)`.
    After ``max_backtracks`` failures the step is taken with the last, smallest :math:`\eta`. The
    state keeps the step count, the accepted :math:`\eta` per run and the number of loss
    evaluations spent (each trial costs one).
    """

    name = "armijo"

    def __init__(self, lr: ArrayLike = 1.0, shrink: ArrayLike = 0.5, c: ArrayLike = 1e-4,
                 max_backtracks: int = 60) -> None:
        self.lr = _step_size("lr", lr)
        self.shrink = _hyper("shrink", shrink, low=0.0, high=1.0, low_open=True)
        self.c = _hyper("c", c, low=0.0, high=1.0, low_open=True)
        if isinstance(max_backtracks, bool) or int(max_backtracks) != max_backtracks \
                or max_backtracks < 0:
            raise ValueError(
                f"max_backtracks must be a non-negative integer, got {max_backtracks!r}"
            )
        self.max_backtracks = int(max_backtracks)

    def init(self, x: Array) -> ArmijoState:
        runs = np.broadcast_shapes(x.shape[:-1], self.batch_shape)
        return ArmijoState(0, np.full((*runs, 1), np.nan), np.zeros(runs, dtype=int))

    def step(self, objective: Objective, x: Array, state: ArmijoState):
        g = objective.grad(x)
        f0 = objective.value(x)
        slope = np.sum(g * g, axis=-1)  # ‖g‖²
        lr = np.broadcast_to(self.lr, (*x.shape[:-1], 1)).copy()
        evaluations = state.evaluations + 1  # f(x) itself
        done = np.zeros(x.shape[:-1], dtype=bool)
        for attempt in range(self.max_backtracks + 1):
            trial = objective.value(x - lr * g)
            evaluations = evaluations + ~done
            done |= trial <= f0 - self.c[..., 0] * lr[..., 0] * slope
            if done.all() or attempt == self.max_backtracks:
                break
            lr = np.where(done[..., None], lr, lr * self.shrink)
        return x - lr * g, ArmijoState(state.count + 1, lr, evaluations)


def armijo_safe_step(smoothness: ArrayLike, c: ArrayLike) -> Array:
    r"""The largest step that the sufficient-decrease theorem guarantees: :math:`(2 - 2c)/L`."""
    L = np.asarray(smoothness, dtype=float)
    return (2 - 2 * np.asarray(c, dtype=float)) / L


__all__ = [
    "Armijo",
    "ArmijoState",
    "ExponentialDecay",
    "InverseTimeDecay",
    "StepDecay",
    "armijo_safe_step",
]
