r"""Step sizes that change as descent goes on: the one schedule mechanism of the package.

A schedule is a function :math:`k \mapsto \eta_k` of the number :math:`k = 0, 1, 2, \dots` of
steps already taken. Give one wherever an optimizer takes a step size::

    GradientDescent(lr=step_decay(0.5, every=100, factor=0.5))
    Momentum(lr=exponential_decay(0.1, rate=0.99), beta=0.9)
    MinibatchSGD(lr=inverse_time_decay(0.2, tau=100), batch_size=4)

A schedule's numbers may be arrays: ``step_decay(0.5, 100, np.array([0.3, 0.5, 0.9]))`` is a sweep
of three runs, as an array-valued step size is. Any function of ``t`` becomes a schedule with
:class:`Schedule`; the optimizer checks every :math:`\eta_k` it receives (positive, finite) and
names the hyperparameter when one is not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


class Schedule:
    r"""A step size that depends on the step count: ``schedule(t)`` is :math:`\eta_k`.

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
        """:math:`\\eta_k` checked (positive and finite), with a trailing axis for coordinates."""
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


def _every(value: int, name: str = "every") -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def constant(lr: ArrayLike) -> Schedule:
    r""":math:`\eta_k = \eta` (useful where a schedule is expected)."""
    lr = _positive("lr", lr)
    return Schedule(lambda t: lr, f"{lr}")


def step_decay(lr: ArrayLike, every: int, factor: ArrayLike) -> Schedule:
    r"""Step decay :math:`\eta_k = \eta_0\,\gamma^{\lfloor k/T \rfloor}`: cut by :math:`\gamma` =
    ``factor`` every :math:`T` = ``every`` steps (PyTorch's ``StepLR(step_size=every,
    gamma=factor)`` stepped once per iteration)."""
    lr, factor, every = _positive("lr", lr), _factor("factor", factor), _every(every)
    return Schedule(lambda t: lr * factor ** (t // every), f"{lr} · {factor}^⌊t/{every}⌋")


def exponential_decay(lr: ArrayLike, rate: ArrayLike) -> Schedule:
    r"""Exponential decay :math:`\eta_k = \eta_0\,\gamma^k` with ``rate`` :math:`\gamma \in (0, 1]`."""
    lr, rate = _positive("lr", lr), _factor("rate", rate)
    return Schedule(lambda t: lr * rate**t, f"{lr} · {rate}^t")


def inverse_time_decay(lr: ArrayLike, tau: ArrayLike) -> Schedule:
    r"""1/t decay :math:`\eta_k = \eta_0 / (1 + k/T)` with time scale :math:`T` = ``tau``.

    :math:`\sum_k \eta_k = \infty` while :math:`\sum_k \eta_k^2 < \infty`: the conditions of
    Robbins and Monro under which stochastic descent converges despite its noise.
    """
    lr, tau = _positive("lr", lr), _positive("tau", tau)
    return Schedule(lambda t: lr / (1 + t / tau), f"{lr} / (1 + t/{tau})")


def inverse_sqrt_decay(lr: ArrayLike) -> Schedule:
    r""":math:`\eta_k = \eta_0/\sqrt{k + 1}`: the step of the online-learning analyses (the
    :math:`t`-th step, counted from 1, is :math:`\eta_0/\sqrt t`)."""
    lr = _positive("lr", lr)
    return Schedule(lambda t: lr / np.sqrt(t + 1), f"{lr} / √t")


def linear(lr: ArrayLike, start_factor: float = 1 / 3, end_factor: float = 1.0,
           total: int = 5) -> Schedule:
    r"""Linear change of the step, then constant: :math:`\eta_k = \eta\,\bigl(s + (e - s)
    \min(k, T)/T\bigr)` with :math:`s` = ``start_factor``, :math:`e` = ``end_factor``,
    :math:`T` = ``total`` (PyTorch's ``LinearLR``). ``linear(η, 0.01, 1.0, 100)`` is a warmup;
    ``linear(η, 1.0, 0.0, K)`` decays to zero at step :math:`K`."""
    lr, every = _positive("lr", lr), _every(total, "total")
    for name, factor in (("start_factor", start_factor), ("end_factor", end_factor)):
        if isinstance(factor, bool) or not (np.isfinite(factor) and 0 <= factor <= 1):
            raise ValueError(f"{name} must be in [0, 1], got {factor!r}")
    if start_factor == 0:
        raise ValueError("start_factor must be positive: a step of 0 moves nothing")
    return Schedule(
        lambda t: lr * (start_factor + (end_factor - start_factor) * np.minimum(t, every) / every),
        f"{lr} · linear {start_factor:g} → {end_factor:g} over {every} steps")


def warmup(lr: ArrayLike, steps: int, start_factor: float = 0.01) -> Schedule:
    r"""Linear warmup from :math:`\eta\cdot` ``start_factor`` to :math:`\eta` over ``steps`` steps,
    then constant (:func:`linear`)."""
    return linear(lr, start_factor, 1.0, steps)


def cosine(lr: ArrayLike, period: int, min_lr: float = 0.0) -> Schedule:
    r"""Cosine annealing :math:`\eta_k = \eta_{\min} + \tfrac12(\eta - \eta_{\min})
    \bigl(1 + \cos(\pi k / T)\bigr)` with :math:`T` = ``period`` (PyTorch's
    ``CosineAnnealingLR(T_max=period, eta_min=min_lr)``; past :math:`T` it climbs back up)."""
    lr, period = _positive("lr", lr), _every(period, "period")
    if not (np.isfinite(min_lr) and min_lr >= 0):
        raise ValueError(f"min_lr must be finite and at least 0, got {min_lr!r}")
    return Schedule(lambda t: min_lr + (lr - min_lr) * (1 + np.cos(np.pi * t / period)) / 2,
                    f"cosine from {lr} to {min_lr:g} over {period} steps")


def cosine_restarts(lr: ArrayLike, period: int, growth: int = 1, min_lr: float = 0.0) -> Schedule:
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter, 2017): the cosine of
    :func:`cosine` over a cycle of :math:`T_i` steps, then back to :math:`\eta`; cycles grow by
    ``growth``: :math:`T_{i+1} = m\,T_i` (PyTorch's ``CosineAnnealingWarmRestarts(T_0=period,
    T_mult=growth, eta_min=min_lr)``)."""
    lr, period = _positive("lr", lr), _every(period, "period")
    if isinstance(growth, bool) or int(growth) != growth or growth < 1:
        raise ValueError(f"growth must be a positive integer, got {growth!r}")
    if not (np.isfinite(min_lr) and min_lr >= 0):
        raise ValueError(f"min_lr must be finite and at least 0, got {min_lr!r}")

    def position(t: int) -> tuple[int, int]:
        """Steps into the current cycle, and the cycle's length."""
        length, start = period, 0
        while t >= start + length:
            start, length = start + length, length * int(growth)
        return t - start, length

    def schedule(t: ArrayLike) -> ArrayLike:
        if np.ndim(t):
            return np.array([schedule(int(k)) for k in np.ravel(t)]).reshape(np.shape(t) + np.shape(lr))
        into, length = position(int(t))
        return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * into / length)) / 2

    return Schedule(schedule, f"cosine with restarts every {period} steps (×{growth})")


def one_cycle(max_lr: ArrayLike, total: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> Schedule:
    r"""The one-cycle policy (Smith, 2018), as PyTorch's ``OneCycleLR`` (cosine annealing, two
    phases): from :math:`\eta_{\max}/d` up to :math:`\eta_{\max}` over the first
    ``pct_start`` of ``total`` steps, then down to :math:`\eta_{\max}/(d f)` at the last step,
    each phase along half a cosine (:math:`d` = ``div_factor``, :math:`f` = ``final_div_factor``).
    """
    max_lr, total = _positive("max_lr", max_lr), _every(total, "total")
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
    initial = max_lr / _positive("div_factor", div_factor)
    final = initial / _positive("final_div_factor", final_div_factor)
    peak_step = float(pct_start * total) - 1
    last_step = total - 1

    def anneal(start: ArrayLike, end: ArrayLike, fraction: ArrayLike) -> ArrayLike:
        return end + (start - end) / 2.0 * (np.cos(np.pi * fraction) + 1)

    def schedule(t: ArrayLike) -> ArrayLike:
        t = np.asarray(t, dtype=float)
        rising = anneal(initial, max_lr, t / peak_step)
        falling = anneal(max_lr, final, (t - peak_step) / (last_step - peak_step))
        return np.where(t <= peak_step, rising, falling)

    return Schedule(schedule, f"one cycle to {max_lr} over {total} steps")


def sequential(schedules: list[Schedule], milestones: list[int]) -> Schedule:
    r"""One schedule after another: ``schedules[i]`` runs from step ``milestones[i-1]`` on,
    restarted at its own step 0 (PyTorch's ``SequentialLR``), e.g.
    ``sequential([warmup(η, 100), cosine(η, 900)], milestones=[100])``."""
    if len(schedules) != len(milestones) + 1 or not schedules:
        raise ValueError(f"need one more schedule than milestones, got {len(schedules)} "
                         f"schedules and {len(milestones)} milestones")
    if not all(isinstance(s, Schedule) for s in schedules):
        raise ValueError("schedules must be lessons_src.schedules.Schedule objects")
    if list(milestones) != sorted(milestones) or any(int(m) != m or m < 1 for m in milestones):
        raise ValueError(f"milestones must be increasing positive integers, got {milestones!r}")
    starts = [0, *map(int, milestones)]

    def schedule(t: ArrayLike) -> ArrayLike:
        if np.ndim(t):
            return np.array([schedule(int(k)) for k in np.ravel(t)]).reshape(
                np.shape(t) + np.shape(schedules[0](0)))
        i = int(np.searchsorted(milestones, t, side="right"))
        return schedules[i](int(t) - starts[i])

    return Schedule(schedule, " then ".join(s.label for s in schedules))


def lr_range(low: float, high: float, steps: int) -> Schedule:
    r"""The learning-rate range test's sweep (Smith, 2017): the step grows geometrically from
    ``low`` to ``high`` over ``steps`` steps, :math:`\eta_k = \eta_{lo}(\eta_{hi}/\eta_{lo})^{k/K}`.
    Run it once and plot the loss against :math:`\eta_k`: a good step is a little below the one
    where the loss turns up."""
    low, high, steps = float(_positive("low", low)), float(_positive("high", high)), _every(steps, "steps")
    if not low < high:
        raise ValueError(f"low must be smaller than high, got {low} and {high}")
    return Schedule(lambda t: low * (high / low) ** (np.asarray(t) / steps),
                    f"range test {low:g} → {high:g} over {steps} steps")


__all__ = [
    "Schedule",
    "constant",
    "cosine",
    "cosine_restarts",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "linear",
    "lr_range",
    "one_cycle",
    "sequential",
    "step_decay",
    "warmup",
]
