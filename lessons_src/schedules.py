r"""Step sizes that change as descent goes on: the one schedule mechanism of the package.

A schedule is a function :math:`k \mapsto \eta_k` of the number :math:`k = 0, 1, 2, \dots` of
steps already taken. Give one wherever an optimizer takes a step size::

    GradientDescent(lr=step_decay(0.5, every=100, factor=0.5))
    Momentum(lr=exponential_decay(0.1, rate=0.99), beta=0.9)
    MinibatchSGD(lr=inverse_time_decay(0.2, tau=100), batch_size=4)

A schedule's numbers may be arrays: ``step_decay(0.5, 100, np.array([0.3, 0.5, 0.9]))`` is a sweep
of three runs, as an array-valued step size is. Any function of ``t`` becomes a schedule with
:class:`Schedule`; the optimizer checks every :math:`\eta_k` it receives (positive, finite) and
names the hyperparameter when one is not; a schedule asked for a negative step refuses, naming ``t``.

The makers follow ``torch.optim.lr_scheduler`` stepped once per iteration, and the tests check
them against it: ``step_decay`` (StepLR), ``multi_step`` (MultiStepLR), ``constant_factor``
(ConstantLR), ``linear`` (LinearLR), ``exponential_decay`` (ExponentialLR), ``polynomial``
(PolynomialLR), ``cosine`` (CosineAnnealingLR), ``cosine_restarts``
(CosineAnnealingWarmRestarts), ``cyclic`` (CyclicLR), ``one_cycle`` (OneCycleLR),
``sequential`` (SequentialLR). ReduceLROnPlateau depends on the losses, not the step count
alone: :class:`ReduceOnPlateau` is a pure state update (and a function of a recorded loss
sequence), not a :class:`Schedule`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

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
        return self.function(_check_step(t))

    def at(self, t: int, name: str = "lr") -> Array:
        """:math:`\\eta_k` checked (positive and finite), with a trailing axis for coordinates."""
        value = np.asarray(self.function(_check_step(t)), dtype=float)
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


def _check_step(t: ArrayLike) -> ArrayLike:
    """``t`` itself, refused unless it is a step count (or an array of them): at least 0."""
    if type(t) is int:  # the run loop's case, kept cheap
        if t >= 0:
            return t
    elif not isinstance(t, bool):
        counts = np.asarray(t)
        if counts.dtype.kind in "iuf" and np.all(counts >= 0):  # NaN fails this too
            return t
    raise ValueError(f"t must be a step count (an integer, at least 0), got {t!r}")


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


def multi_step(lr: ArrayLike, milestones: list[int], factor: ArrayLike = 0.1) -> Schedule:
    r"""Multi-step decay: cut the step by :math:`\gamma` = ``factor`` at each milestone,

    .. math::
        \eta_k = \eta_0\,\gamma^{\,\#\{i \,:\, m_i \le k\}},

    as in the ResNet training of He et al. (2016), *Deep residual learning for image
    recognition* (divide by 10 at two milestones). PyTorch's ``MultiStepLR(milestones,
    gamma=factor)`` stepped once per iteration; a milestone given twice cuts twice.

    Args: ``lr`` :math:`\eta_0` (a number or an array, a sweep); ``milestones`` the steps
    :math:`m_i` where the step is cut, non-decreasing integers at least 0; ``factor``
    :math:`\gamma \in (0, 1]`, default 0.1.

    Example::

        schedule = multi_step(0.1, milestones=[100, 200])   # 0.1, 0.01 from step 100, 0.001 from 200
        run(Rosenbrock(), Momentum(lr=schedule, beta=0.9), [-1.0, 1.0], 300)
    """
    lr, factor = _positive("lr", lr), _factor("factor", factor)
    marks = list(milestones)
    if any(isinstance(m, bool) or int(m) != m or m < 0 for m in marks) or marks != sorted(marks):
        raise ValueError(f"milestones must be non-decreasing integers at least 0, got {milestones!r}")
    marks = np.array(marks, dtype=int)

    def schedule(t: ArrayLike) -> ArrayLike:
        cuts = np.searchsorted(marks, t, side="right")
        return lr * factor ** (cuts[..., None] if np.ndim(cuts) and np.ndim(lr) else cuts)

    return Schedule(schedule, f"{lr} · {factor}^#(milestones ≤ t), milestones {marks.tolist()}")


def constant_factor(lr: ArrayLike, factor: float = 1 / 3, total: int = 5) -> Schedule:
    r"""A smaller constant step for the first ``total`` steps, then the full step:

    .. math::
        \eta_k = \begin{cases} \eta\,c & k < T \\ \eta & k \ge T \end{cases}

    with :math:`c` = ``factor`` and :math:`T` = ``total`` (PyTorch's ``ConstantLR(factor,
    total_iters=total)``): the crudest warmup, with no paper of its own.

    Args: ``lr`` :math:`\eta`; ``factor`` :math:`c \in (0, 1]`, default 1/3; ``total``
    :math:`T`, a positive integer, default 5.

    Example::

        schedule = constant_factor(1e-3, factor=0.5, total=40)   # 5e-4 for 40 steps, then 1e-3
        run(Wiggly(), Adam(lr=schedule), -20.0, 1000)
    """
    lr, factor, total = _positive("lr", lr), _factor("factor", factor), _every(total, "total")
    return Schedule(lambda t: lr * np.where(np.asarray(t) < total, factor, 1.0),
                    f"{lr} · ({factor:g} before step {total}, then 1)")


def polynomial(lr: ArrayLike, total: int = 5, power: float = 1.0) -> Schedule:
    r"""Polynomial decay to zero at step :math:`T` = ``total``:

    .. math::
        \eta_k = \eta_0 \Bigl(1 - \frac{\min(k, T)}{T}\Bigr)^{p}

    with :math:`p` = ``power`` (PyTorch's ``PolynomialLR(total_iters=total, power=power)``; the
    "poly" policy of DeepLab, Chen et al. (2018), uses :math:`p = 0.9`). The step is 0 from step
    :math:`T` on, which an optimizer refuses: run at most :math:`T` steps.

    Args: ``lr`` :math:`\eta_0`; ``total`` :math:`T`, a positive integer, default 5; ``power``
    :math:`p > 0`, default 1.0 (linear decay).

    Example::

        schedule = polynomial(0.5, total=1000, power=0.9)   # 0.5 down to 0.5 · 0.001^0.9
        run(Wiggly(), GradientDescent(lr=schedule), -20.0, 1000)
    """
    lr, total = _positive("lr", lr), _every(total, "total")
    power = float(_positive("power", power))
    return Schedule(lambda t: lr * (1.0 - np.minimum(t, total) / total) ** power,
                    f"{lr} · (1 - t/{total})^{power:g}")


def cyclic(base_lr: ArrayLike, max_lr: ArrayLike, up: int = 2000, down: int | None = None,
           mode: str = "triangular", gamma: float = 1.0) -> Schedule:
    r"""Cyclical learning rates (Smith, 2017, *Cyclical learning rates for training neural
    networks*, WACV): the step climbs linearly from :math:`\eta_{lo}` = ``base_lr`` towards
    :math:`\eta_{hi}` = ``max_lr`` in :math:`U` = ``up`` steps, falls back in :math:`D` =
    ``down`` steps, and repeats. With :math:`C = U + D`, the cycle :math:`c = \lfloor 1 + k/C
    \rfloor` and the position :math:`x = 1 + k/C - c` in it,

    .. math::
        \eta_k = \eta_{lo} + (\eta_{hi} - \eta_{lo})\,h(x)\,s_k, \qquad
        h(x) = \begin{cases} x / r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases},
        \quad r = U/C,

    where the amplitude's scale :math:`s_k` is 1 (``mode="triangular"``), :math:`2^{-(c-1)}`,
    halved every cycle (``"triangular2"``), or :math:`\gamma^k` (``"exp_range"``). PyTorch's
    ``CyclicLR(base_lr, max_lr, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma,
    cycle_momentum=False)``.

    Args: ``base_lr`` :math:`\eta_{lo} > 0` and ``max_lr`` :math:`\eta_{hi} \ge \eta_{lo}`
    (numbers or arrays); ``up`` :math:`U`, default 2000; ``down`` :math:`D`, default ``None``
    (the same as ``up``); ``mode``, default ``"triangular"``; ``gamma`` :math:`\gamma \in (0, 1]`,
    used by ``"exp_range"`` only, default 1.0.

    Example::

        schedule = cyclic(0.001, 0.1, up=50, mode="triangular2")   # amplitude halved each cycle
        run(Wiggly(), Momentum(lr=schedule, beta=0.9), -20.0, 400)
    """
    base_lr, max_lr = _positive("base_lr", base_lr), _positive("max_lr", max_lr)
    if np.any(max_lr < base_lr):
        raise ValueError(f"max_lr must be at least base_lr, got {max_lr} and {base_lr}")
    up = _every(up, "up")
    down = up if down is None else _every(down, "down")
    if mode not in ("triangular", "triangular2", "exp_range"):
        raise ValueError(f"mode must be 'triangular', 'triangular2' or 'exp_range', got {mode!r}")
    gamma = float(_factor("gamma", gamma))
    size = float(up + down)
    ratio = up / size

    def schedule(t: ArrayLike) -> ArrayLike:
        t = np.asarray(t)
        cycle = np.floor(1 + t / size)
        x = 1.0 + t / size - cycle
        height = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if mode == "triangular":
            scale = 1.0
        elif mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = gamma**t
        if np.ndim(t) and np.ndim(max_lr):
            height, scale = height[..., None], np.asarray(scale)[..., None] if np.ndim(scale) else scale
        return base_lr + (max_lr - base_lr) * height * scale

    return Schedule(schedule, f"cyclic {mode} {base_lr} ↔ {max_lr}, up {up}, down {down}")


class PlateauState(NamedTuple):
    r"""Where :class:`ReduceOnPlateau` stands after ``count`` losses: the step size ``lr`` for the
    next step, the ``best`` loss so far, the number of ``bad`` losses since it (no better than
    the best by the threshold), and the steps of ``cooldown`` left after a cut."""

    lr: Array
    best: Array
    bad: Array
    cooldown: Array
    count: int


@dataclass(frozen=True)
class ReduceOnPlateau:
    r"""Cut the step when the loss stops improving (PyTorch's ``ReduceLROnPlateau``).

    After each loss :math:`\ell_k` (reported once per step or per epoch), with the best loss so
    far :math:`\ell^*`: the loss counts as better when :math:`\ell_k < \ell^*(1 - \theta)`
    (``threshold_mode="rel"``) or :math:`\ell_k < \ell^* - \theta` (``"abs"``; in
    ``mode="max"`` the inequalities turn round, for an accuracy). A better loss becomes
    :math:`\ell^*` and clears the count of bad losses; otherwise the count grows. When the count
    exceeds ``patience``, the step is cut,

    .. math::
        \eta \leftarrow \max(\gamma\,\eta,\ \eta_{\min}) \quad \text{(unless that changes }
        \eta \text{ by less than } \varepsilon\text{)},

    the count is cleared and the next ``cooldown`` losses are not counted. No paper: a rule of
    thumb of practice.

    Why a state, and not a :class:`Schedule`: :math:`\eta_k` depends on the losses before step
    :math:`k`, not on :math:`k` alone, so it cannot be a function of the step count. The design
    keeps the package pure: :class:`PlateauState` is an immutable value and :meth:`update`
    returns a new one (the loop owns the state, as it owns an optimizer's); :meth:`rates` is the
    same rule as a pure function of a recorded loss sequence, and :meth:`schedule` turns a record
    into a :class:`Schedule` that any optimizer takes (to replay or compare a run). Each run of a
    sweep (array ``lr``, array losses) keeps its own best and counts.

    Args (PyTorch's defaults): ``lr`` :math:`\eta_0`; ``mode`` ``"min"`` or ``"max"``, default
    ``"min"``; ``factor`` :math:`\gamma \in (0, 1)`, default 0.1; ``patience``, default 10;
    ``threshold`` :math:`\theta \ge 0`, default 1e-4; ``threshold_mode`` ``"rel"`` or
    ``"abs"``, default ``"rel"``; ``cooldown``, default 0; ``min_lr`` :math:`\eta_{\min} \ge 0`,
    default 0; ``eps`` :math:`\varepsilon \ge 0`, default 1e-8. A NaN loss is refused.

    Example::

        plateau = ReduceOnPlateau(0.1, patience=5)
        rates = plateau.rates(losses)   # η_0, ..., η_n for the losses ℓ_0, ..., ℓ_{n-1}
    """

    lr: ArrayLike
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _positive("lr", self.lr))
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}")
        if not 0 < float(_positive("factor", self.factor)) < 1:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}")
        for name in ("patience", "cooldown"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"{name} must be an integer at least 0, got {value!r}")
        for name in ("threshold", "min_lr", "eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and at least 0, got {value!r}")

    def init(self) -> PlateauState:
        """The state before any loss: the full step, no best loss yet."""
        worst = np.inf if self.mode == "min" else -np.inf
        shape = np.shape(self.lr)
        return PlateauState(np.array(self.lr, dtype=float), np.full(shape, worst),
                            np.zeros(shape, dtype=int), np.zeros(shape, dtype=int), 0)

    def update(self, state: PlateauState, loss: ArrayLike) -> PlateauState:
        """The state after one more loss (a number, or one per run of a sweep); NaN is refused."""
        loss = np.asarray(loss, dtype=float)
        if not np.all(np.isfinite(loss)):
            raise ValueError(f"loss must be finite, got {loss.tolist()} after {state.count} "
                             f"losses (a diverged run has no plateau)")
        shape = np.broadcast_shapes(loss.shape, np.shape(state.lr))
        lr, best, bad, cooldown = (np.broadcast_to(a, shape) for a in state[:4])
        loss = np.broadcast_to(loss, shape)
        if self.mode == "min":
            better = loss < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                             else best - self.threshold)
        else:
            better = loss > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                             else best + self.threshold)
        best = np.where(better, loss, best)
        bad = np.where(better, 0, bad + 1)
        cooling = cooldown > 0
        cooldown = np.where(cooling, cooldown - 1, cooldown)
        bad = np.where(cooling, 0, bad)
        cut = bad > self.patience
        smaller = np.maximum(lr * self.factor, self.min_lr)
        lr = np.where(cut & (lr - smaller > self.eps), smaller, lr)
        cooldown = np.where(cut, int(self.cooldown), cooldown)
        bad = np.where(cut, 0, bad)
        return PlateauState(lr, best, bad, cooldown, state.count + 1)

    def rates(self, losses: ArrayLike) -> Array:
        r""":math:`\eta_0, \dots, \eta_n` for the losses :math:`\ell_0, \dots, \ell_{n-1}`:
        :math:`\eta_{k+1}` is the step after :math:`\ell_k` was reported (shape ``(n + 1,
        *batch)``)."""
        losses = np.asarray(losses, dtype=float)
        if losses.ndim < 1:
            raise ValueError(f"losses must be a sequence of losses, got {losses!r}")
        bad = ~np.isfinite(losses)
        if bad.any():
            raise ValueError(f"losses must be finite, got {losses[bad].flat[0]} "
                             f"at losses[{int(np.argmax(bad.reshape(len(losses), -1).any(-1)))}]")
        state = self.init()
        out = [state.lr]
        for loss in losses:
            state = self.update(state, loss)
            out.append(state.lr)
        return np.array(np.broadcast_arrays(*out))

    def schedule(self, losses: ArrayLike) -> Schedule:
        r"""The steps of :meth:`rates` as a :class:`Schedule`, for steps :math:`0, \dots, n`."""
        rates = self.rates(losses)
        last = len(rates) - 1

        def schedule(t: ArrayLike) -> ArrayLike:
            if np.any(np.asarray(t) > last):
                raise ValueError(f"t must be at most {last}: the plateau schedule knows the "
                                 f"losses of {last} steps, got t={t!r}")
            return rates[t]

        return Schedule(schedule, f"plateau cuts of {self.lr} by {self.factor:g} over {last} losses")


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
    "PlateauState",
    "ReduceOnPlateau",
    "Schedule",
    "constant",
    "constant_factor",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "linear",
    "lr_range",
    "multi_step",
    "one_cycle",
    "polynomial",
    "sequential",
    "step_decay",
    "warmup",
]
