r"""Step sizes that change as descent goes on: the one schedule mechanism of the package.

A schedule is a function :math:`t \mapsto \eta_t` of the number :math:`t = 0, 1, 2, \dots` of
steps already taken. Give one wherever an optimizer takes a step size::

    GradientDescent(lr=step_decay(0.5, every=100, factor=0.5))
    Momentum(lr=exponential_decay(0.1, rate=0.99), beta=0.9)
    MinibatchSGD(lr=inverse_time_decay(0.2, tau=100), batch_size=4)

A schedule's numbers may be arrays: ``step_decay(0.5, 100, np.array([0.3, 0.5, 0.9]))`` is a sweep
of three runs, as an array-valued step size is. Any function of ``t`` becomes a schedule with
:class:`Schedule`; the optimizer checks every :math:`\eta_t` it receives (positive, finite) and
names the hyperparameter when one is not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


class Schedule:
    r"""A step size that depends on the step count: ``schedule(t)`` is :math:`\eta_t`.

    ``function`` maps the count ``t`` (an int) to a number or an array (one value per run of a
    sweep). ``label`` is how the schedule prints, e.g. ``"0.2 · 0.95^t"``.
    """

    def __init__(self, function: Callable[[int], ArrayLike], label: str | None = None) -> None:
        if not callable(function):
            raise ValueError(f"function must be callable as function(t), got {function!r}")
        self.function = function
        self.label = label or getattr(function, "__name__", "schedule")

    def __call__(self, t: int) -> ArrayLike:
        return self.function(t)

    def at(self, t: int, name: str = "lr") -> Array:
        """:math:`\\eta_t` checked (positive and finite), with a trailing axis for coordinates."""
        value = np.asarray(self.function(t), dtype=float)
        if not np.all(np.isfinite(value) & (value > 0)):
            bad = float(value[~(np.isfinite(value) & (value > 0))].flat[0])
            raise ValueError(f"the schedule of {name} must give positive finite step sizes, "
                             f"got {bad:g} at step {t}")
        return value[..., None]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The shape of the batch of runs the schedule describes (that of :math:`\\eta_0`)."""
        return np.shape(self.function(0))

    def __repr__(self) -> str:
        return f"Schedule({self.label})"


def _positive(name: str, value: ArrayLike) -> Array:
    array = np.asarray(value, dtype=float)
    if isinstance(value, bool) or not np.all(np.isfinite(array) & (array > 0)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return array


def _factor(name: str, value: ArrayLike) -> Array:
    array = _positive(name, value)
    if np.any(array > 1):
        raise ValueError(f"{name} must be in (0, 1], got {float(array.max()):g}")
    return array


def _every(value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"every must be a positive integer, got {value!r}")
    return int(value)


def constant(lr: ArrayLike) -> Schedule:
    r""":math:`\eta_t = \eta` (useful where a schedule is expected)."""
    lr = _positive("lr", lr)
    return Schedule(lambda t: lr, f"{lr}")


def step_decay(lr: ArrayLike, every: int, factor: ArrayLike) -> Schedule:
    r"""Step decay :math:`\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}`: cut by :math:`\gamma` =
    ``factor`` every :math:`s` = ``every`` steps (PyTorch's ``StepLR(step_size=every,
    gamma=factor)`` stepped once per iteration)."""
    lr, factor, every = _positive("lr", lr), _factor("factor", factor), _every(every)
    return Schedule(lambda t: lr * factor ** (t // every), f"{lr} · {factor}^⌊t/{every}⌋")


def exponential_decay(lr: ArrayLike, rate: ArrayLike) -> Schedule:
    r"""Exponential decay :math:`\eta_t = \eta_0\,\gamma^t` with ``rate`` :math:`\gamma \in (0, 1]`."""
    lr, rate = _positive("lr", lr), _factor("rate", rate)
    return Schedule(lambda t: lr * rate**t, f"{lr} · {rate}^t")


def inverse_time_decay(lr: ArrayLike, tau: ArrayLike) -> Schedule:
    r"""1/t decay :math:`\eta_t = \eta_0 / (1 + t/\tau)` with time scale :math:`\tau > 0`.

    :math:`\sum_t \eta_t = \infty` while :math:`\sum_t \eta_t^2 < \infty`: the conditions of
    Robbins and Monro under which stochastic descent converges despite its noise.
    """
    lr, tau = _positive("lr", lr), _positive("tau", tau)
    return Schedule(lambda t: lr / (1 + t / tau), f"{lr} / (1 + t/{tau})")


def inverse_sqrt_decay(lr: ArrayLike) -> Schedule:
    r""":math:`\eta_t = \eta_0/\sqrt{t + 1}`: the step of the online-learning analyses (the
    :math:`t`-th step, counted from 1, is :math:`\eta_0/\sqrt t`)."""
    lr = _positive("lr", lr)
    return Schedule(lambda t: lr / np.sqrt(t + 1), f"{lr} / √t")


__all__ = [
    "Schedule",
    "constant",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "step_decay",
]
