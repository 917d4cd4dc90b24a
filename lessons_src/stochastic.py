r"""Stochastic and mini-batch gradient descent on finite sums.

A *finite-sum* objective is a loss made of one term per training example. Besides
``value``/``grad``/``hessian`` it offers

* ``n_examples``: the number :math:`N` of examples;
* ``minibatch_grad(x, index)``: an unbiased estimate :math:`\hat g` of :math:`\nabla f(x)` from the
  examples in ``index``, an integer array of shape ``(k,)`` or ``(..., k)`` (one batch per run).

:class:`lessons_src.neuron.SigmoidNeuron` and :class:`LeastSquares` below are finite sums.
:class:`MinibatchSGD` draws the batches with a seeded random generator that it creates afresh in
``init``, so two runs with the same ``seed`` are identical, and every run of a sweep (every entry of
the batch of points) draws its own batches in one array operation.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, as_points
from .optimizers import Optimizer, _step_size

SAMPLING = ("replace", "shuffle")


@runtime_checkable
class FiniteSum(Protocol):
    """An objective that is a sum or mean over ``n_examples`` training examples."""

    dim: int

    @property
    def n_examples(self) -> int: ...

    def minibatch_grad(self, x: ArrayLike, index: ArrayLike) -> Array: ...


class LeastSquares(Objective):
    r"""The mean squared error of a linear model, :math:`f(\theta) = \frac{1}{2N}\|A\theta - y\|^2`.

    Row :math:`a_i` of the design matrix ``A`` is example :math:`i`'s features, so
    :math:`f = \frac1N\sum_i \ell_i` with :math:`\ell_i = \tfrac12(a_i^\top\theta - y_i)^2`,
    :math:`\nabla \ell_i = (a_i^\top\theta - y_i)\,a_i`, :math:`\nabla f = A^\top(A\theta - y)/N`
    and
    :math:`\nabla^2 f = A^\top A / N`.
    """

    def __init__(self, A: ArrayLike, y: ArrayLike, name: str | None = None) -> None:
        A = np.asarray(A, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        if A.ndim != 2 or A.shape[0] != y.size or y.size == 0:
            raise ValueError(f"A must be (N, d) and y (N,), got {A.shape} and {y.shape}")
        self.A, self.y = A, y
        self.dim = A.shape[1]
        # f(θ) = ½ θᵀHθ − θᵀ(Aᵀy/N) + ½ mean(y²): value and gradient cost O(d²) per point
        self._H = A.T @ A / y.size
        self._Aty = A.T @ y / y.size
        self._half_y2 = 0.5 * float(np.mean(y**2))
        self.name = name or f"least squares, {y.size} examples in {self.dim}-D"

    @classmethod
    def line_fit(cls, x: ArrayLike, y: ArrayLike) -> LeastSquares:
        r"""Fit :math:`y \approx wx + b`: features :math:`(x_i, 1)`, parameters :math:`(w, b)`."""
        x = np.asarray(x, dtype=float).reshape(-1)
        return cls(np.stack([x, np.ones_like(x)], axis=1), y, name=f"line fit to {x.size} points")

    @property
    def n_examples(self) -> int:
        return int(self.y.size)

    @property
    def hessian_matrix(self) -> Array:
        r"""The constant Hessian :math:`A^\top A / N`."""
        return self._H.copy()

    @property
    def minimizer(self) -> Array:
        r"""The least-squares solution :math:`\theta^* = \arg\min \|A\theta - y\|`."""
        return np.linalg.lstsq(self.A, self.y, rcond=None)[0]

    @property
    def eigenvalues(self) -> Array:
        r"""Eigenvalues of the Hessian :math:`A^\top A / N`, ascending."""
        return np.linalg.eigvalsh(self._H)

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_{\max} / \lambda_{\min}` of the Hessian."""
        lam = self.eigenvalues
        return float(lam[-1] / lam[0])

    @property
    def smoothness(self) -> float:
        r"""The Lipschitz constant :math:`L` of the gradient: the top eigenvalue of ``A.T A/N``."""
        return float(np.linalg.eigvalsh(self.hessian_matrix)[-1])

    def residuals(self, x: ArrayLike) -> Array:
        r""":math:`A\theta - y`, shape ``(..., N)``."""
        return as_points(x, self.dim) @ self.A.T - self.y

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, self.dim)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self._H, x) - x @ self._Aty + self._half_y2

    def grad(self, x: ArrayLike) -> Array:
        return as_points(x, self.dim) @ self._H - self._Aty  # H is symmetric

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, self.dim)
        return np.broadcast_to(self.hessian_matrix, (*x.shape, self.dim)).copy()

    def example_grads(self, x: ArrayLike, index: ArrayLike | None = None) -> Array:
        r""":math:`\nabla\ell_i = (a_i^\top\theta - y_i)\,a_i` per example, ``(..., k, d)``."""
        x = as_points(x, self.dim)
        if index is None:
            A, y = self.A, self.y
        else:
            index = np.asarray(index)
            A, y = self.A[index], self.y[index]
        r = np.einsum("...kd,...d->...k", np.broadcast_to(A, (*np.shape(y), self.dim)), x) - y
        return r[..., None] * A

    def minibatch_grad(self, x: ArrayLike, index: ArrayLike) -> Array:
        r"""The batch mean :math:`\hat g = \frac1k \sum_{i\in B} \nabla\ell_i`, unbiased for ∇f."""
        return self.example_grads(x, index).mean(axis=-2)


def make_line_data(n: int, *, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.5,
                   low: float = 0.0, high: float = 3.0, seed: int = 0) -> tuple[Array, Array]:
    r"""Synthetic data for a line fit: :math:`x_i \sim U(\text{low}, \text{high})`,
    :math:`y_i = \text{slope}\cdot x_i + \text{intercept} + \varepsilon_i`,
    :math:`\varepsilon_i \sim \mathcal N(0, \text{noise}^2)`, from ``np.random.default_rng(seed)``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    return x, slope * x + intercept + noise * rng.normal(size=n)


def draw_batches(rng: np.random.Generator, n: int, batch_size: int, shape: tuple[int, ...],
                 count: int = 1) -> Array:
    r"""``count`` batches of ``batch_size`` indices drawn uniformly *with replacement* from
    :math:`\{0, \dots, n-1\}` for each run in ``shape``: an integer array ``(count, *shape, k)``.
    """
    return rng.integers(0, n, size=(count, *shape, batch_size))


def sample_minibatch_grads(objective: Objective, x: ArrayLike, batch_size: int, draws: int, *,
                           seed: int = 0, replace: bool = True) -> Array:
    r"""``draws`` independent mini-batch gradients :math:`\hat g` at one point ``x`` of shape (d,).

    Returns shape ``(draws, d)``. With ``replace=False`` each batch holds ``batch_size``
    distinct examples (a random subset), as one batch of a shuffled epoch does.
    """
    _check_finite_sum(objective)
    point = as_points(x, objective.dim)
    if point.ndim != 1:
        raise ValueError("sample_minibatch_grads takes a single point of shape (d,)")
    n = objective.n_examples
    _check_batch_size(batch_size, n, replace)
    rng = np.random.default_rng(seed)
    if replace:
        index = rng.integers(0, n, size=(draws, batch_size))
    else:
        # the batch_size smallest of n uniform keys form a uniformly random subset
        keys = rng.random((draws, n))
        index = np.argpartition(keys, batch_size - 1, axis=-1)[:, :batch_size]
    return objective.minibatch_grad(point, index)


class SGDState(NamedTuple):
    count: int
    rng: np.random.Generator | None
    order: Array | None  # the current epoch's shuffled example order, per run (``shuffle`` only)


class MinibatchSGD(Optimizer):
    r"""Mini-batch stochastic gradient descent with a seeded sampler,

    .. math::
        x_{t+1} = x_t - \eta_t\, \hat g_t, \qquad
        \mathbb E\,\hat g_t = \nabla f(x_t), \quad \hat g_t \text{ from a batch } B_t,\ |B_t| = k .

    ``batch_size=None`` uses the exact gradient (batch gradient descent). ``sampling="replace"``
    draws every batch independently and uniformly with replacement; ``"shuffle"`` walks through a
    fresh random permutation of the examples each epoch, :math:`\lceil N/k\rceil` steps per epoch
    (the last batch of an epoch may be smaller). Each run of a sweep draws its own batches; the
    whole sweep is reproducible from ``seed``. :math:`\eta_t` is :meth:`step_size`, the constant
    ``lr`` here; the schedules of :mod:`lessons_src.schedules` override it.
    """

    name = "sgd"

    def __init__(self, lr: ArrayLike, batch_size: int | None = 1, *, sampling: str = "replace",
                 seed: int = 0) -> None:
        self.lr = _step_size("lr", lr)
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if sampling not in SAMPLING:
            raise ValueError(f"sampling must be one of {SAMPLING}, got {sampling!r}")
        self.batch_size = None if batch_size is None else int(batch_size)
        self.sampling = sampling
        self.seed = int(seed)

    def step_size(self, count: ArrayLike) -> Array:
        r""":math:`\eta_t` for step number ``count`` (0 for the first step): here :math:`\eta`."""
        return self.lr

    def init(self, x: Array) -> SGDState:
        if self.batch_size is None:
            return SGDState(0, None, None)
        return SGDState(0, np.random.default_rng(self.seed), None)

    def gradient(self, objective: Objective, x: Array, state: SGDState) -> tuple[Array, SGDState]:
        """The gradient estimate at ``x`` and the sampler's next state (count not advanced)."""
        if self.batch_size is None:
            return objective.grad(x), state
        _check_finite_sum(objective)
        n = objective.n_examples
        _check_batch_size(self.batch_size, n, self.sampling == "replace")
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

    def step(self, objective: Objective, x: Array, state: SGDState) -> tuple[Array, SGDState]:
        g, state = self.gradient(objective, x, state)
        x_next = x - self.step_size(state.count) * g
        return x_next, SGDState(state.count + 1, state.rng, state.order)


def _check_finite_sum(objective: Any) -> None:
    if not isinstance(objective, FiniteSum):
        raise TypeError(
            f"{objective!r} is not a finite sum: it needs n_examples and minibatch_grad"
        )


def _check_batch_size(batch_size: int, n: int, replace: bool) -> None:
    if batch_size < 1 or (not replace and batch_size > n):
        raise ValueError(
            f"batch_size must be between 1 and the {n} examples without replacement, "
            f"got {batch_size}"
        )
