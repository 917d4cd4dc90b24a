r"""A single sigmoid neuron fitted to two training points: the loss surface of chapter 4.

The neuron predicts :math:`\hat y = \sigma(wx + b)` with :math:`\sigma(z) = 1/(1 + e^{-z})`. Its
parameters :math:`\theta = (w, b)` are the point at which the objective is evaluated, so points
have shape ``(..., 2)`` like every 2-D objective of the course. The loss is the squared error
summed over the training examples,

.. math::
    L(w, b) = \sum_{i=1}^{n} \ell_i(w, b), \qquad
    \ell_i(w, b) = \tfrac12\bigl(\sigma(w x_i + b) - y_i\bigr)^2 .

The default examples are :math:`(x, y) = (0.5, 0.2)` and :math:`(2.5, 0.9)`. Seed 002 lost its
figures, and with them the two points; these are the points of the lecture its pictures come from
(Khapra's CS7015), and they reproduce the losses the seed's caption compares (:math:`L(0.5, 0) <
L(-0.1, 0)`).

Besides ``value``/``grad``/``hessian`` the neuron exposes its examples one by one, which is what
stochastic and mini-batch descent need: ``example_values``, ``example_grads`` and
``minibatch_grad`` (an unbiased estimate of :math:`\nabla L` from a subset of the examples).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective, as_points


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
