r"""Optimizers built around others: gradient clipping, projection onto an interval, and one rule
per layer of a network (:class:`Layerwise`).

Like ``optax.chain``, a wrapper changes what the inner rule sees or where its step lands and
keeps the inner rule's state as its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..objectives.wrappers import ClippedGradient, clip_by_norm, validate_max_norm
from .base import GradientOptimizer, Optimizer, validate_number


def _check_inner(inner: Any) -> Optimizer:
    if not isinstance(inner, Optimizer):
        raise TypeError(f"inner must be an Optimizer, got {type(inner).__name__}")
    return inner


class _Wrapper(GradientOptimizer):
    """Asks for the gradient the inner rule asks for (its point, its sampler); an inner rule
    that needs more than the gradient (Newton, a line search) is stepped through ``step``."""

    inner: Optimizer

    def init(self, x: Array) -> Any:
        return self.inner.init(x)

    def grad_point(self, x: Array, state: Any) -> Array:
        return self.inner.grad_point(x, state)

    def gradient(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        return self.inner.gradient(objective, x, state)


class Clip(_Wrapper):
    r"""Any optimizer, fed gradients clipped to norm at most :math:`\tau`:

    .. math::
        \tilde g_k = g_k \min\!\left(1, \frac{\tau}{\|g_k\|}\right),

    then the inner optimizer's update with :math:`\tilde g_k` in place of :math:`g_k`. For
    gradient descent every step is at most :math:`\eta\tau` long. ``max_norm`` may be an array
    (a sweep over thresholds); ``np.inf`` switches clipping off.
    """

    name = "clip"

    def __init__(self, inner: Optimizer, max_norm: ArrayLike) -> None:
        self.inner = _check_inner(inner)
        self.max_norm = validate_max_norm(max_norm)

    def update(self, grad: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return self.inner.update(clip_by_norm(grad, self.max_norm), x, state)

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        if isinstance(self.inner, GradientOptimizer):
            return super().step(objective, x, state)
        return self.inner.step(ClippedGradient(objective, self.max_norm[..., 0]), x, state)


class Projected(_Wrapper):
    r"""Keep an optimizer inside an interval: :math:`x_{t} = \min(\max(\tilde x_t, \ell), h)`,
    where :math:`\tilde x_t` is the inner rule's next point.

    In one dimension this clip is also the projection in any metric
    :math:`\|\cdot\|_{\sqrt{\hat v}}` that AMSGrad's analysis uses, because every positive
    weighting of a line keeps its order.
    """

    name = "projected"

    def __init__(self, inner: Optimizer, lo: float, hi: float) -> None:
        self.inner = _check_inner(inner)
        self.lo, self.hi = validate_number("lo", lo), validate_number("hi", hi)
        if not self.lo < self.hi:
            raise ValueError(f"the interval must have lo < hi, got lo={lo}, hi={hi}")

    def update(self, grad: Array, x: Array, state: Any) -> tuple[Array, Any]:
        x_next, state = self.inner.update(grad, x, state)
        return np.clip(x_next, self.lo, self.hi), state

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        if isinstance(self.inner, GradientOptimizer):
            return super().step(objective, x, state)
        x_next, state = self.inner.step(objective, x, state)
        return np.clip(x_next, self.lo, self.hi), state


class LayerwiseState(NamedTuple):
    count: int
    blocks: tuple


class Layerwise(GradientOptimizer):
    r"""One flat parameter vector seen as the layers of a network: a matrix rule for each weight
    matrix, a vector rule for each bias, as Muon, Shampoo and SOAP are used in practice.

    ``shapes`` lists the blocks in the order they sit in :math:`\theta` (each one flattened row by
    row, as :meth:`lessons_src.objectives.MLP.unpack` reads them), e.g. ``MLP.shapes``; a block of
    two axes is stepped by ``matrix``, a block of one axis by ``vector``. Each block keeps its own
    state; the rules themselves hold only hyperparameters, so one instance serves every block.
    Not registered (it has no single update rule of its own); ``tests/test_layerwise.py`` checks
    it against the rules run block by block.

    >>> from lessons_src import Adam, Muon
    >>> rule = Layerwise([(2, 2), (2,)], matrix=Muon(lr=0.1, weight_decay=0.0), vector=Adam(lr=0.1))
    >>> theta = np.zeros(6)
    >>> rule.update(np.array([1.0, 0.0, 0.0, 4.0, 1.0, -1.0]), theta, rule.init(theta))[0].round(3)
    array([-0.074,  0.   ,  0.   , -0.074, -0.1  ,  0.1  ])
    """

    def __init__(self, shapes: Sequence[tuple[int, ...]], matrix: Optimizer,
                 vector: Optimizer | None = None) -> None:
        shapes = [tuple(int(n) for n in shape) for shape in shapes]
        if not shapes or any(len(s) not in (1, 2) or min(s) < 1 for s in shapes):
            raise ValueError(f"shapes must be a list of matrix (m, n) and vector (n,) shapes, got {shapes}")
        if not isinstance(matrix, GradientOptimizer):
            raise TypeError(f"matrix must be a first-order Optimizer, got {type(matrix).__name__}")
        if vector is None and any(len(s) == 1 for s in shapes):
            raise ValueError("vector must be given: shapes has a vector block")
        if vector is not None and not isinstance(vector, GradientOptimizer):
            raise TypeError(f"vector must be a first-order Optimizer, got {type(vector).__name__}")
        self.shapes, self.matrix, self.vector = shapes, matrix, vector
        self._cuts = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
        self.dim = int(sum(int(np.prod(s)) for s in shapes))

    def _rule(self, shape: tuple[int, ...]) -> Optimizer:
        return self.matrix if len(shape) == 2 else self.vector

    def _blocks(self, flat: Array) -> list[Array]:
        if flat.shape[-1] != self.dim:
            raise ValueError(f"x must have {self.dim} coordinates (the blocks of shapes), "
                             f"got shape {flat.shape}")
        parts = np.split(flat, self._cuts, axis=-1)
        return [part.reshape(*flat.shape[:-1], *shape)
                for part, shape in zip(parts, self.shapes, strict=True)]

    def init(self, x: Array) -> LayerwiseState:
        return LayerwiseState(0, tuple(self._rule(s).init(b) for s, b in zip(self.shapes, self._blocks(x),
                                                                             strict=True)))

    def update(self, grad: Array, x: Array, state: LayerwiseState) -> tuple[Array, LayerwiseState]:
        pieces, states = [], []
        blocks = zip(self.shapes, self._blocks(grad), self._blocks(x), state.blocks, strict=True)
        for shape, g, b, s in blocks:
            b_next, s_next = self._rule(shape).update(g, b, s)
            pieces.append(b_next.reshape(*b_next.shape[:b_next.ndim - len(shape)], -1))
            states.append(s_next)
        batch = np.broadcast_shapes(*(p.shape[:-1] for p in pieces))
        flat = np.concatenate([np.broadcast_to(p, (*batch, p.shape[-1])) for p in pieces], axis=-1)
        return flat, LayerwiseState(state.count + 1, tuple(states))
