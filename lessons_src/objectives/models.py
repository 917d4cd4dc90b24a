r"""Objectives that are models fitted to data: a sigmoid neuron and least squares.

Both are finite sums (:class:`~lessons_src.objectives.base.FiniteSum`): besides
``value``/``grad``/``hessian`` they expose ``n_examples`` and ``minibatch_grad(x, index)``, an
unbiased estimate of the gradient from the examples in ``index``, which stochastic descent needs.
The data makers here build the small data sets the chapters use.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .base import Array, Objective, as_points


def sigmoid(z: ArrayLike) -> Array:
    r"""The logistic function :math:`\sigma(z) = 1/(1 + e^{-z}) = \tfrac12(1 + \tanh(z/2))`.

    Written with :math:`\tanh` so that it never overflows.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def logit(p: ArrayLike) -> Array:
    r"""The inverse of :math:`\sigma`: :math:`\sigma^{-1}(p) = \ln\frac{p}{1 - p}`."""
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


class SigmoidNeuron(Objective):
    r"""Squared-error loss of :math:`\hat y = \sigma(wx + b)` on a few examples, as a
    function of the parameters :math:`(w, b)`.

    With :math:`f_i = \sigma(wx_i + b)` and :math:`r_i = f_i - y_i`, the chain rule gives

    .. math::
        \nabla \ell_i = r_i f_i (1 - f_i)\,(x_i, 1), \qquad
        \nabla^2 \ell_i = \bigl[f_i^2(1 - f_i)^2 + r_i f_i(1 - f_i)(1 - 2f_i)\bigr]
        \begin{pmatrix} x_i^2 & x_i \\ x_i & 1 \end{pmatrix},

    and :math:`L`'s gradient and Hessian are the sums over :math:`i`.
    """

    dim = 2

    def __init__(self, x: ArrayLike = (0.5, 2.5), y: ArrayLike = (0.2, 0.9)) -> None:
        xs = np.asarray(x, dtype=float).reshape(-1)
        ys = np.asarray(y, dtype=float).reshape(-1)
        if xs.shape != ys.shape or xs.size == 0:
            raise ValueError(
                f"x and y must be non-empty and of equal length, got {xs.size} and {ys.size}"
            )
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            raise ValueError("the training examples must be finite")
        self.x, self.y = xs, ys
        pairs = ", ".join(f"({a:g}, {b:g})" for a, b in zip(xs, ys, strict=True))
        self.name = f"sigmoid neuron on {pairs}"

    @property
    def n_examples(self) -> int:
        """The number :math:`n` of training examples."""
        return int(self.x.size)

    @property
    def minimizer(self) -> Array:
        r"""The :math:`(w, b)` with :math:`\sigma(wx_i + b) = y_i` for both examples (loss zero).

        Solves :math:`wx_i + b = \sigma^{-1}(y_i)`; defined only for two examples with distinct
        :math:`x_i` and targets strictly between 0 and 1.
        """
        if self.n_examples != 2 or self.x[0] == self.x[1]:
            raise ValueError("an exact fit needs exactly two examples with different x")
        if not np.all((self.y > 0) & (self.y < 1)):
            raise ValueError("an exact fit needs targets strictly between 0 and 1")
        z = logit(self.y)
        w = (z[1] - z[0]) / (self.x[1] - self.x[0])
        return np.array([w, z[0] - w * self.x[0]])

    def predict(self, theta: ArrayLike, x: ArrayLike) -> Array:
        r"""The prediction :math:`\sigma(wx + b)`.

        ``theta`` has shape ``(..., 2)``; the inputs ``x`` broadcast against ``(...)``.
        """
        theta = as_points(theta, 2)
        return sigmoid(theta[..., 0] * np.asarray(x, dtype=float) + theta[..., 1])

    def _parts(self, theta: ArrayLike, index: ArrayLike | None) -> tuple[Array, Array, Array]:
        """Inputs, outputs ``f`` and residuals ``f - y`` of the chosen examples, ``(..., k)``."""
        theta = as_points(theta, 2)
        if index is None:
            xs, ys = self.x, self.y
        else:
            index = np.asarray(index)
            if not np.issubdtype(index.dtype, np.integer):
                raise TypeError("example indices must be integers")
            xs, ys = self.x[index], self.y[index]
        f = sigmoid(theta[..., 0, None] * xs + theta[..., 1, None])
        return xs, f, f - ys

    def example_values(self, theta: ArrayLike, index: ArrayLike | None = None) -> Array:
        r""":math:`\ell_i(\theta)` per example, shape ``(..., k)``: all, or those in ``index``.

        ``index`` is an integer array broadcast against the batch of points with a trailing
        axis of examples: shape ``(k,)`` picks the same examples for every point, shape
        ``(..., k)`` different ones per run.
        """
        _, _, r = self._parts(theta, index)
        return 0.5 * r**2

    def example_grads(self, theta: ArrayLike, index: ArrayLike | None = None) -> Array:
        r""":math:`\nabla \ell_i(\theta) = r_i f_i(1 - f_i)(x_i, 1)`, shape ``(..., k, 2)``."""
        xs, f, r = self._parts(theta, index)
        dz = r * f * (1 - f)
        return np.stack([dz * xs, dz], axis=-1)

    def minibatch_grad(self, theta: ArrayLike, index: ArrayLike) -> Array:
        r"""The unbiased estimate :math:`\frac{n}{k}\sum_{i \in B} \nabla \ell_i` of ∇L.

        For a batch :math:`B` of :math:`k` indices drawn uniformly (with or without replacement),
        its expectation is :math:`\sum_i \nabla\ell_i = \nabla L`.
        """
        grads = self.example_grads(theta, index)
        return grads.mean(axis=-2) * self.n_examples

    def value(self, theta: ArrayLike) -> Array:
        return self.example_values(theta).sum(axis=-1)

    def grad(self, theta: ArrayLike) -> Array:
        return self.example_grads(theta).sum(axis=-2)

    def hessian(self, theta: ArrayLike) -> Array:
        xs, f, r = self._parts(theta, None)
        s = f * (1 - f)
        d2 = s**2 + r * s * (1 - 2 * f)  # second derivative of ℓ_i in z = w x_i + b
        u = np.stack([np.broadcast_to(xs, d2.shape), np.ones_like(d2)], axis=-1)  # (..., n, 2)
        return np.einsum("...i,...ij,...ik->...jk", d2, u, u)


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
    :math:`y_i = \text{slope}\cdot x_i + \text{intercept} + \xi_i`,
    :math:`\xi_i \sim \mathcal N(0, \text{noise}^2)`, from ``np.random.default_rng(seed)``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    return x, slope * x + intercept + noise * rng.normal(size=n)


def sparse_feature_data(n: int = 200, every: int = 20, *,
                        weights: tuple[float, float] = (1.0, 2.0)) -> LeastSquares:
    r"""A linear fit :math:`y_i = w_1 d_i + w_2 s_i` with a dense and a *sparse* feature.

    The dense feature :math:`d_i = \pm 1` is never zero (it is :math:`+1` on the first block of
    ``every`` examples, :math:`-1` on the next, and so on); the sparse one is :math:`s_i = 1` for
    one example in ``every`` (:math:`i \equiv 0 \bmod` ``every``) and 0 otherwise. When ``n`` is a
    multiple of ``2 * every`` the two features are orthogonal and the mean loss is
    :math:`f(w) = \tfrac12\bigl[(w_1 - w_1^*)^2 + p\,(w_2 - w_2^*)^2\bigr]` with
    :math:`p = 1/\text{every}`: the sparse weight's gradient is :math:`p` times smaller.
    """
    if n < 1 or every < 1:
        raise ValueError(f"n and every must be at least 1, got n={n}, every={every}")
    i = np.arange(n)
    dense = np.where((i // every) % 2 == 0, 1.0, -1.0)
    sparse = (i % every == 0).astype(float)
    A = np.stack([dense, sparse], axis=1)
    return LeastSquares(A, A @ np.asarray(weights, dtype=float),
                        name=f"dense and sparse feature (1 example in {every})")


def batch_normalize(X: ArrayLike, eps: float = 0.0) -> Array:
    r"""Centre and scale every column of ``X`` over the batch (rows), as batch normalisation does:

    .. math::
        \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{\sigma_j^2 + \varepsilon}}, \qquad
        \mu_j = \frac1m\sum_i x_{ij}, \quad \sigma_j^2 = \frac1m\sum_i (x_{ij} - \mu_j)^2 .

    (The learnt scale :math:`\gamma` and shift :math:`\beta` of a batch-norm layer are left out.)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (examples × features), got shape {X.shape}")
    if eps < 0:
        raise ValueError(f"eps must be at least 0, got {eps:g}")
    mean = X.mean(axis=0)
    var = X.var(axis=0)
    if np.any(var + eps == 0):
        raise ValueError("a constant column cannot be normalised with eps = 0")
    return (X - mean) / np.sqrt(var + eps)

