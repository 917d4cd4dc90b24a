r"""Mini-batches: one seeded, reproducible stream of batch gradients from a finite sum.

A :class:`~lessons_src.objectives.base.FiniteSum` :math:`f = \frac1N\sum_i f_i` offers the gradient
over any batch of examples, :math:`\hat g_B(x) = \frac1{|B|}\sum_{i \in B}\nabla f_i(x)`.
:class:`Minibatches` decides which batches :math:`B_1, B_2, \dots`: drawn independently with
replacement, or a fresh random permutation per epoch walked through in order. Its state is a value
(:class:`SamplerState`: the draws so far, the generator's state as a tuple of integers, the
current epoch's order), so the stream is pure: the same state always gives the same batch.

The same stream feeds :class:`~lessons_src.optim.MinibatchSGD` (which draws from it inside
``step``), any other optimizer through ``update`` (``gradient`` gives the batch gradient and the
next state), and :func:`~lessons_src.runner.run` (``objective_at=Minibatches(...).at`` hands
step :math:`k` the loss of batch :math:`B_k`), so every optimizer can see the same batches.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..validation import validate_count
from .base import Array, FiniteSum, Objective

SAMPLING = ("replace", "shuffle")

#: The state of numpy's PCG64 generator as a tuple: (state, increment, has_uint32, uinteger).
Key = tuple[int, int, int, int]


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


def key_of(seed: int) -> Key:
    """The generator state ``np.random.default_rng(seed)`` starts from, as a value."""
    return _freeze(np.random.PCG64(seed))


def generator(key: Key) -> np.random.Generator:
    """A fresh generator that continues the stream from ``key`` (the key itself is unchanged)."""
    bits = np.random.PCG64()
    state, inc, has_uint32, uinteger = key
    bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                  "has_uint32": has_uint32, "uinteger": uinteger}
    return np.random.Generator(bits)


def _freeze(bits: np.random.BitGenerator) -> Key:
    s = bits.state
    return (s["state"]["state"], s["state"]["inc"], s["has_uint32"], s["uinteger"])


class SamplerState(NamedTuple):
    """Where a stream of batches stands: ``count`` batches drawn, the generator's ``key``, and
    the current epoch's ``order`` of examples per run (``"shuffle"`` only, else ``None``)."""

    count: int
    key: Key | None
    order: Array | None


class Minibatches:
    r"""Batches :math:`B_1, B_2, \dots` of ``batch_size`` examples out of a finite sum's :math:`N`.

    ``sampling="replace"`` draws every batch independently and uniformly with replacement;
    ``"shuffle"`` walks through a fresh random permutation of the examples each epoch,
    :math:`\lceil N/|B|\rceil` batches per epoch (the last one may be smaller). Each run of a
    batch of runs draws its own batches; everything is reproducible from ``seed`` (the stream is
    numpy's ``default_rng(seed)``). Example::

        stream = Minibatches(model, batch_size=32, sampling="shuffle", seed=0)
        g, state = stream.gradient(x, stream.init())   # the gradient over B_1, and what follows
    """

    def __init__(self, objective: Objective, batch_size: int, *, sampling: str = "replace",
                 seed: int = 0) -> None:
        check_finite_sum(objective)
        if sampling not in SAMPLING:
            raise ValueError(f"sampling must be one of {SAMPLING}, got {sampling!r}")
        batch_size = validate_count("batch_size", batch_size, low=1)
        check_batch_size(batch_size, objective.n_examples, sampling == "replace")
        self.objective, self.batch_size = objective, batch_size
        self.sampling, self.seed = sampling, validate_count("seed", seed)
        self._states = [self.init()]

    @property
    def per_epoch(self) -> int:
        r"""Batches in one epoch, :math:`\lceil N/|B|\rceil`."""
        return -(-self.objective.n_examples // self.batch_size)

    def init(self) -> SamplerState:
        """The stream before its first batch."""
        return SamplerState(0, key_of(self.seed), None)

    def sample(self, state: SamplerState,
               runs: tuple[int, ...] = ()) -> tuple[Array, SamplerState]:
        """The next batch's example indices, shape ``(*runs, |B|)``, and the state after it."""
        return draw(state, self.objective.n_examples, self.batch_size, self.sampling, runs)

    def gradient(self, x: ArrayLike, state: SamplerState) -> tuple[Array, SamplerState]:
        r"""The next batch gradient :math:`\hat g_B(x)` (one batch per run of ``x``, shape
        ``(..., d)``) and the state after it."""
        x = np.asarray(x, dtype=float)
        index, state = self.sample(state, x.shape[:-1])
        return self.objective.minibatch_grad(x, index), state

    def at(self, k: int) -> BatchLoss:
        """The loss of batch :math:`B_k` (``k = 1, 2, ...``) for one run, as an objective: what
        ``run(objective_at=...)`` takes. The same ``k`` always gives the same batch."""
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"k must be an integer of at least 1, got {k!r}")
        return BatchLoss(self.objective, self._index(int(k)))

    def _index(self, k: int) -> Array:
        # replay the stream to batch k; the states seen are cached (a pure function's memo)
        while len(self._states) < k:
            self._states.append(self.sample(self._states[-1])[1])
        return self.sample(self._states[k - 1])[0]

    def __repr__(self) -> str:
        return (f"Minibatches({self.objective!r}, batch_size={self.batch_size}, "
                f"sampling={self.sampling!r}, seed={self.seed})")


def draw(state: SamplerState, n: int, batch_size: int, sampling: str,
         runs: tuple[int, ...] = ()) -> tuple[Array, SamplerState]:
    """The next batch of ``batch_size`` indices out of ``n`` per run and the state after it.

    The one place batches are drawn: a new generator continues from ``state.key`` and its end
    state becomes the next key, so ``state`` itself never changes. With ``"shuffle"``, a new epoch
    (``count`` a multiple of the batches per epoch) draws a fresh permutation per run.
    """
    count, key, order = state
    if sampling == "replace":
        rng = generator(key)
        index = rng.integers(0, n, size=(*runs, batch_size))
        key = _freeze(rng.bit_generator)
    else:
        per_epoch = -(-n // batch_size)
        position = count % per_epoch
        if position == 0 or order is None:  # a new epoch: the only draw of random numbers
            rng = generator(key)
            order = rng.permuted(np.broadcast_to(np.arange(n), (*runs, n)), axis=-1)
            key = _freeze(rng.bit_generator)
        index = order[..., position * batch_size:(position + 1) * batch_size]
    return index, SamplerState(count + 1, key, order)


class BatchLoss(Objective):
    r"""A finite sum whose gradient is taken over one batch :math:`B` only:
    ``grad`` is :math:`\hat g_B`, while ``value`` and ``hessian`` are the full objective's."""

    def __init__(self, objective: Objective, index: ArrayLike) -> None:
        check_finite_sum(objective)
        self.objective, self.index = objective, np.asarray(index)
        self.dim = objective.dim
        self.name = f"{objective.name}, batch of {self.index.shape[-1]}"

    def value(self, x: ArrayLike) -> Array:
        return self.objective.value(x)

    def grad(self, x: ArrayLike) -> Array:
        return self.objective.minibatch_grad(x, self.index)

    def hessian(self, x: ArrayLike) -> Array:
        return self.objective.hessian(x)
