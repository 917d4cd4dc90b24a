r"""First-order rules without memory of past gradients: gradient descent, mini-batch SGD,
coordinate descent.

Symbols follow the chapters: :math:`\eta` (or :math:`\eta_k` for a schedule) the step size,
:math:`g_k = \nabla f(x_k)` the gradient, :math:`\hat g_k` a mini-batch estimate of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..objectives.minibatch import (
    SAMPLING,
    SamplerState,
    check_batch_size,
    check_finite_sum,
    draw,
    key_of,
)
from ..schedules import Schedule
from .base import (
    CurvatureOptimizer,
    GradientOptimizer,
    validate_count,
    validate_range,
    validate_step_size,
)

__all__ = ["SAMPLING", "CoordinateDescent", "DecoupledGD", "GradientDescent", "MinibatchSGD", "SGDState",
           "StepState", "check_batch_size", "check_finite_sum"]


class StepState(NamedTuple):
    """The state of a rule with no memory: only the number of steps taken."""

    count: int


class GradientDescent(GradientOptimizer):
    r"""Gradient descent: :math:`x_{k+1} = x_k - \eta_k\, g_k` (:math:`\eta_k = \eta` unless
    ``lr`` is a schedule)."""

    name = "gd"

    def __init__(self, lr: ArrayLike | Schedule) -> None:
        self.lr = validate_step_size("lr", lr)

    def init(self, x: Array) -> StepState:
        return StepState(0)

    def update(self, grad: Array, x: Array, state: StepState) -> tuple[Array, StepState]:
        lr = self.step_size(state.count)
        return x - lr * grad, StepState(state.count + 1)


class DecoupledGD(GradientOptimizer):
    r"""Gradient descent with decoupled weight decay (chapter 11): the decay is the optimizer's,

    .. math::
        x_{k+1} = (1 - \eta_k\lambda)\, x_k - \eta_k\, g_k,

    where L2 regularisation would add :math:`\lambda x_k` to the gradient instead (for plain
    gradient descent the two are the same rule; for adaptive ones they differ, see
    :class:`~lessons_src.optim.AdamW`). ``weight_decay`` is :math:`\lambda \ge 0`.
    """

    name = "decoupled-gd"

    def __init__(self, lr: ArrayLike | Schedule, weight_decay: ArrayLike = 0.01) -> None:
        self.lr = validate_step_size("lr", lr)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def init(self, x: Array) -> StepState:
        return StepState(0)

    def update(self, grad: Array, x: Array, state: StepState) -> tuple[Array, StepState]:
        lr = self.step_size(state.count)
        shrunk = (1 - lr * self.weight_decay) * x
        return shrunk - lr * grad, StepState(state.count + 1)


#: Mini-batch SGD's state is its stream of batches (:class:`SamplerState`): ``count`` steps,
#: the generator's ``key`` (``None`` for the exact gradient) and the epoch's ``order``.
SGDState = SamplerState


class MinibatchSGD(GradientOptimizer):
    r"""Mini-batch stochastic gradient descent with a seeded sampler,

    .. math::
        x_{k+1} = x_k - \eta_k\, \hat g_k, \qquad
        \mathbb E\,\hat g_k = \nabla f(x_k), \quad
        \hat g_k \text{ from a batch } B_k \text{ of } |B| \text{ examples}.

    ``batch_size=None`` uses the exact gradient (batch gradient descent). ``sampling="replace"``
    draws every batch independently and uniformly with replacement; ``"shuffle"`` walks through a
    fresh random permutation of the examples each epoch, :math:`\lceil N/|B|\rceil` steps per epoch
    (the last batch of an epoch may be smaller). Each run of a sweep draws its own batches; the
    whole sweep is reproducible from ``seed``. The batches are those of
    :class:`~lessons_src.objectives.minibatch.Minibatches` with the same arguments; ``step`` draws
    them (the objective must be a :class:`~lessons_src.objectives.base.FiniteSum`), while
    ``update`` takes a gradient the caller computed, as gradient descent does.
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
        return SGDState(0, None if self.batch_size is None else key_of(self.seed), None)

    def gradient(self, objective: Objective, x: Array, state: SGDState) -> tuple[Array, SGDState]:
        """The gradient estimate at ``x`` and the sampler's next state (count not advanced)."""
        if self.batch_size is None:
            return objective.grad(x), state
        check_finite_sum(objective)
        n = objective.n_examples
        check_batch_size(self.batch_size, n, self.sampling == "replace")
        index, drawn = draw(state, n, self.batch_size, self.sampling, x.shape[:-1])
        return objective.minibatch_grad(x, index), drawn._replace(count=state.count)

    def update(self, grad: Array, x: Array, state: SGDState) -> tuple[Array, SGDState]:
        x_next = x - self.step_size(state.count) * grad
        return x_next, state._replace(count=state.count + 1)


class CoordinateDescent(CurvatureOptimizer):
    r"""Cyclic coordinate descent: step :math:`k` changes only coordinate :math:`i = k \bmod d`,

    .. math::
        x_{k+1,i} = x_{k,i} - \eta\,\frac{\partial_i f(x_k)}{c_i(x_k)}, \qquad
        x_{k+1,j} = x_{k,j} \ (j \ne i),

    with :math:`c_i = \partial_{ii} f(x_k)` when ``newton=True`` (on a quadratic, :math:`\eta = 1`
    then minimises :math:`f` exactly along the coordinate) and :math:`c_i = 1` otherwise (a
    gradient step on one coordinate). One sweep through all coordinates takes :math:`d` steps.
    ``update`` takes the Hessian; with ``newton=False`` it may be ``None``.
    """

    name = "coordinate"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, *, newton: bool = True) -> None:
        self.lr = validate_step_size("lr", lr)
        self.newton = bool(newton)

    def init(self, x: Array) -> StepState:
        return StepState(0)

    def step(self, objective: Objective, x: Array, state: StepState) -> tuple[Array, StepState]:
        hessian = objective.hessian(x) if self.newton else None
        return self.update(objective.grad(x), hessian, x, state)

    def update(self, grad: Array, hessian: Array | None, x: Array,
               state: StepState) -> tuple[Array, StepState]:
        i = state.count % x.shape[-1]
        g = grad[..., i]
        scale = hessian[..., i, i] if self.newton else 1.0
        delta = self.step_size(state.count)[..., 0] * g / scale
        batch = np.broadcast_shapes(x.shape[:-1], delta.shape)
        x_next = np.broadcast_to(x, (*batch, x.shape[-1])).copy()
        x_next[..., i] -= delta
        return x_next, StepState(state.count + 1)
