r"""Momentum: heavy ball (Polyak), Nesterov's look-ahead, and momentum as PyTorch writes it.

Symbols follow the chapters: :math:`\eta_k` the step size (a number, an array for a sweep, or a
schedule), :math:`\beta` the momentum coefficient, :math:`v_k` the velocity.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import GradientOptimizer, validate_decay, validate_number, validate_step_size


class VelocityState(NamedTuple):
    count: int
    velocity: Array


class Momentum(GradientOptimizer):
    r"""Heavy-ball momentum (Polyak):

    .. math::
        v_{k+1} = \beta v_k - \eta_k\, g_k, \qquad x_{k+1} = x_k + v_{k+1}.

    ``velocity0`` is :math:`v_0` (zero unless a chapter says otherwise). Each gradient keeps the
    step size it was taken with when ``lr`` is a schedule. PyTorch's ``SGD(momentum=β)`` keeps
    :math:`b = -v/\eta` instead (:class:`TorchMomentum`); for a constant :math:`\eta` the iterates
    are the same.
    """

    name = "momentum"

    def __init__(self, lr: ArrayLike | Schedule, beta: ArrayLike = 0.9,
                 velocity0: float = 0.0) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta = validate_decay("beta", beta)
        self.velocity0 = validate_number("velocity0", velocity0)

    def init(self, x: Array) -> VelocityState:
        return VelocityState(0, np.full_like(x, self.velocity0))

    def update(self, grad: Array, x: Array,
               state: VelocityState) -> tuple[Array, VelocityState]:
        lr = self.step_size(state.count)
        v = self.beta * state.velocity - lr * grad
        return x + v, VelocityState(state.count + 1, v)


class Nesterov(GradientOptimizer):
    r"""Nesterov's accelerated gradient, in look-ahead form:

    .. math::
        v_{k+1} = \beta v_k - \eta_k\, \nabla f(x_k + \beta v_k), \qquad x_{k+1} = x_k + v_{k+1}.

    PyTorch's ``SGD(momentum=β, nesterov=True)`` stores the look-ahead point
    :math:`x_k + \beta v_k` as its parameter instead of :math:`x_k`.
    """

    name = "nesterov"

    def __init__(self, lr: ArrayLike | Schedule, beta: ArrayLike = 0.9) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta = validate_decay("beta", beta)

    def init(self, x: Array) -> VelocityState:
        return VelocityState(0, np.zeros_like(x))

    def grad_point(self, x: Array, state: VelocityState) -> Array:
        r"""The look-ahead point :math:`x_k + \beta v_k`, where ``update`` wants the gradient."""
        return x + self.beta * state.velocity

    def update(self, grad: Array, x: Array,
               state: VelocityState) -> tuple[Array, VelocityState]:
        r"""``grad`` is :math:`\nabla f(x_k + \beta v_k)`, taken at :meth:`grad_point`."""
        lr = self.step_size(state.count)
        v = self.beta * state.velocity - lr * grad
        return x + v, VelocityState(state.count + 1, v)


class BufferState(NamedTuple):
    count: int
    buffer: Array


class TorchMomentum(GradientOptimizer):
    r"""Momentum as ``torch.optim.SGD(momentum=μ, nesterov=...)`` writes it (no dampening):

    .. math::
        b_{k+1} = \mu b_k + g_k, \qquad x_{k+1} = x_k - \eta_k b_{k+1},

    and with ``nesterov=True`` the step uses :math:`g_k + \mu b_{k+1}` instead of
    :math:`b_{k+1}`. For a constant step, :math:`v_k = -\eta b_k` turns the first form into
    :class:`Momentum`; with a changing step the two differ, because here the whole buffer is
    rescaled by the current step.
    """

    name = "torch-momentum"

    def __init__(self, lr: ArrayLike | Schedule, momentum: ArrayLike = 0.9, *,
                 nesterov: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.momentum = validate_decay("momentum", momentum)
        self.nesterov = bool(nesterov)

    def init(self, x: Array) -> BufferState:
        return BufferState(0, np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: BufferState) -> tuple[Array, BufferState]:
        g = grad
        b = self.momentum * state.buffer + g
        direction = g + self.momentum * b if self.nesterov else b
        x_next = x - self.step_size(state.count) * direction
        return x_next, BufferState(state.count + 1, b)
