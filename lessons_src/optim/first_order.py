r"""First-order rules without memory of past gradients: gradient descent, mini-batch SGD,
coordinate descent.

Symbols follow the chapters: :math:`\eta` (or :math:`\eta_k` for a schedule) the step size,
:math:`g_k = \nabla f(x_k)` the gradient, :math:`\hat g_k` a mini-batch estimate of it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, FiniteSum, Objective
from ..schedules import Schedule
from .base import Optimizer, validate_count, validate_step_size


class StepState(NamedTuple):
    """The state of a rule with no memory: only the number of steps taken."""

    count: int


class GradientDescent(Optimizer):
    r"""Gradient descent: :math:`x_{k+1} = x_k - \eta_k\, g_k` (:math:`\eta_k = \eta` unless
    ``lr`` is a schedule)."""

    name = "gd"

    def __init__(self, lr: ArrayLike | Schedule) -> None:
        self.lr = validate_step_size("lr", lr)

    def init(self, x: Array) -> StepState:
        return StepState(0)

    def step(self, objective: Objective, x: Array,
             state: StepState) -> tuple[Array, StepState]:
        lr = self.step_size(state.count)
        return x - lr * objective.grad(x), StepState(state.count + 1)


SAMPLING = ("replace", "shuffle")


class SGDState(NamedTuple):
    count: int
    rng: np.random.Generator | None
    order: Array | None  # the current epoch's shuffled example order, per run (``shuffle`` only)


class MinibatchSGD(Optimizer):
    r"""Mini-batch stochastic gradient descent with a seeded sampler,

    .. math::
        x_{k+1} = x_k - \eta_k\, \hat g_k, \qquad
        \mathbb E\,\hat g_k = \nabla f(x_k), \quad
        \hat g_k \text{ from a batch } B_k \text{ of } |B| \text{ examples}.

    ``batch_size=None`` uses the exact gradient (batch gradient descent). ``sampling="replace"``
    draws every batch independently and uniformly with replacement; ``"shuffle"`` walks through a
    fresh random permutation of the examples each epoch, :math:`\lceil N/|B|\rceil` steps per epoch
    (the last batch of an epoch may be smaller). Each run of a sweep draws its own batches; the
    whole sweep is reproducible from ``seed``. The objective must be a
    :class:`~lessons_src.objectives.base.FiniteSum`.
    """

    name = "sgd"

    def __init__(self, lr: ArrayLike | Schedule, batch_size: int | None = 1, *,
                 sampling: str = "replace", seed: int = 0) -> None:
        self.lr = validate_step_size("lr", lr)
        if sampling not in SAMPLING:
            raise ValueError(f"sampling must be one of {SAMPLING}, got {sampling!r}")
        self.batch_size = None if batch_size is None else validate_count("batch_size", batch_size,
                                                                          low=1)
        self.sampling = sampling
        self.seed = validate_count("seed", seed)

    def init(self, x: Array) -> SGDState:
        if self.batch_size is None:
            return SGDState(0, None, None)
        return SGDState(0, np.random.default_rng(self.seed), None)

    def gradient(self, objective: Objective, x: Array, state: SGDState) -> tuple[Array, SGDState]:
        """The gradient estimate at ``x`` and the sampler's next state (count not advanced)."""
        if self.batch_size is None:
            return objective.grad(x), state
        check_finite_sum(objective)
        n = objective.n_examples
        check_batch_size(self.batch_size, n, self.sampling == "replace")
        runs = x.shape[:-1]
        rng, order = state.rng, state.order
        if self.sampling == "replace":
            index = rng.integers(0, n, size=(*runs, self.batch_size))
        else:
            per_epoch = -(-n // self.batch_size)
            position = state.count % per_epoch
            if position == 0 or order is None:
                order = rng.permuted(np.broadcast_to(np.arange(n), (*runs, n)), axis=-1)
            index = order[..., position * self.batch_size:(position + 1) * self.batch_size]
        return objective.minibatch_grad(x, index), SGDState(state.count, rng, order)

    def step(self, objective: Objective, x: Array,
             state: SGDState) -> tuple[Array, SGDState]:
        g, state = self.gradient(objective, x, state)
        x_next = x - self.step_size(state.count) * g
        return x_next, SGDState(state.count + 1, state.rng, state.order)


def check_finite_sum(objective: Any) -> None:
    """Refuse an objective that cannot give mini-batch gradients."""
    if not isinstance(objective, FiniteSum):
        raise TypeError(
            f"{objective!r} is not a finite sum: it needs n_examples and minibatch_grad"
        )


def check_batch_size(batch_size: int, n: int, replace: bool) -> None:
    """A batch of ``batch_size`` examples out of ``n`` (at most ``n`` without replacement)."""
    if batch_size < 1 or (not replace and batch_size > n):
        raise ValueError(
            f"batch_size must be between 1 and the {n} examples without replacement, "
            f"got {batch_size}"
        )


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

    def __init__(self, lr: ArrayLike | Schedule = 1.0, *, newton: bool = True) -> None:
        self.lr = validate_step_size("lr", lr)
        self.newton = bool(newton)

    def init(self, x: Array) -> StepState:
        return StepState(0)

    def step(self, objective: Objective, x: Array, state: StepState):
        i = state.count % x.shape[-1]
        g = objective.grad(x)[..., i]
        scale = objective.hessian(x)[..., i, i] if self.newton else 1.0
        delta = self.step_size(state.count)[..., 0] * g / scale
        batch = np.broadcast_shapes(x.shape[:-1], delta.shape)
        x_next = np.broadcast_to(x, (*batch, x.shape[-1])).copy()
        x_next[..., i] -= delta
        return x_next, StepState(state.count + 1)
