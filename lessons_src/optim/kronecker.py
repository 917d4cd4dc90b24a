r"""Kronecker-factored preconditioners for matrix parameters: Shampoo and SOAP.

Full-matrix AdaGrad would keep an :math:`mn \times mn` matrix for an :math:`m \times n` weight.
Shampoo keeps two, :math:`L` (:math:`m \times m`, the rows' statistics) and :math:`R`
(:math:`n \times n`, the columns'), whose Kronecker product stands in for the big one; SOAP runs
Adam in the eigenbasis of the same two matrices. Parameters have shape ``(..., m, n)`` as in
:mod:`lessons_src.optim.matrix`: the last two axes are the matrix, any before them a sweep.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .adaptive import bias_correction
from .base import (
    GradientOptimizer,
    validate_count,
    validate_decay,
    validate_guard,
    validate_positive,
    validate_range,
    validate_step_size,
)
from .matrix import _check_matrix_gradient, _lerp, check_matrix

__all__ = ["SOAP", "SOAPState", "Shampoo", "ShampooState", "inverse_root"]


def _transpose(a: Array) -> Array:
    return np.swapaxes(a, -1, -2)


def _eigh(matrix: Array) -> tuple[Array, Array]:
    """``np.linalg.eigh``, with NaN eigenvalues and vectors for a matrix that is not finite (a
    diverged run of a sweep) instead of an error for the whole batch."""
    finite = np.all(np.isfinite(matrix), axis=(-2, -1))
    if finite.all():
        return np.linalg.eigh(matrix)
    eigenvalues, vectors = np.linalg.eigh(np.where(finite[..., None, None], matrix, np.eye(matrix.shape[-1])))
    return (np.where(finite[..., None], eigenvalues, np.nan),
            np.where(finite[..., None, None], vectors, np.nan))


def inverse_root(matrix: Array, p: float) -> Array:
    r""":math:`A^{-1/p}` of symmetric positive definite matrices (shape ``(..., k, k)``), from the
    eigendecomposition :math:`A = Q \Lambda Q^\top`: :math:`Q \Lambda^{-1/p} Q^\top`.

    >>> inverse_root(np.diag([16.0, 1.0]), 4)
    array([[0.5, 0. ],
           [0. , 1. ]])
    """
    eigenvalues, vectors = _eigh(matrix)
    return (vectors * eigenvalues[..., None, :] ** (-1.0 / p)) @ _transpose(vectors)


def _identity_stack(batch: tuple[int, ...], size: int, scale: Array) -> Array:
    """``scale`` (shape ``(..., 1)``) times the identity, one per point of the batch."""
    return np.zeros((*batch, size, size)) + scale[..., None] * np.eye(size)


class ShampooState(NamedTuple):
    count: int
    left: Array
    right: Array
    left_root: Array
    right_root: Array


class Shampoo(GradientOptimizer):
    r"""Shampoo (Gupta, Koren and Singer, 2018), for one matrix parameter: AdaGrad with a
    Kronecker-factored preconditioner. For :math:`X` of shape :math:`m \times n` and gradient
    :math:`G_t`,

    .. math::
        L_t = L_{t-1} + G_t G_t^\top, \quad R_t = R_{t-1} + G_t^\top G_t, \quad
        L_0 = \varepsilon I_m,\ R_0 = \varepsilon I_n, \qquad
        X_t = X_{t-1} - \eta\, L_t^{-1/4}\, G_t\, R_t^{-1/4}.

    :math:`L_t^{-1/4} \otimes R_t^{-1/4}` approximates full-matrix AdaGrad's
    :math:`(\sum_s g_s g_s^\top)^{-1/2}` on :math:`g = \operatorname{vec}(G)`. With
    :math:`\varepsilon \to 0` the first step is :math:`-\eta U V^\top` for :math:`G_1 = U S V^\top`
    (of full rank): the orthogonalised gradient, Muon's direction. The roots come from
    eigendecompositions, recomputed every ``precondition_frequency`` steps and at the first step
    (in between, the last roots are reused while :math:`L, R` keep accumulating).

    It equals ``pytorch_optimizer.Shampoo`` with ``momentum=0``, no weight decay and
    ``preconditioning_compute_steps=1`` to 1e-10 over 300 steps (``tests/test_kronecker_parity.py``).
    Differences: the reference has no roots before its first recomputation (its steps before
    step ``preconditioning_compute_steps`` are zero), here the first step computes them; the
    reference's momentum (which averages the gradient with the last *preconditioned* step) is left
    out, as in the paper's algorithm.

    Defaults (the reference's): ``lr=1e-3`` (:math:`\eta`), ``eps=1e-6`` (:math:`\varepsilon`,
    ``matrix_eps``), ``precondition_frequency=1``. Only matrix parameters, shape ``(..., m, n)``.

    >>> shampoo, x = Shampoo(lr=0.1, eps=1e-12), np.zeros((2, 2))
    >>> shampoo.update(np.diag([16.0, 1.0]), x, shampoo.init(x))[0]   # the first step: -η U Vᵀ
    array([[-0.1,  0. ],
           [ 0. , -0.1]])
    """

    name = "shampoo"

    def __init__(self, lr: ArrayLike | Schedule = 1e-3, eps: ArrayLike = 1e-6,
                 precondition_frequency: int = 1) -> None:
        self.lr = validate_step_size("lr", lr)
        self.eps = validate_positive("eps", eps)
        self.precondition_frequency = validate_count("precondition_frequency", precondition_frequency,
                                                     low=1)

    def init(self, x: Array) -> ShampooState:
        x = check_matrix(x, "Shampoo")
        batch = np.broadcast_shapes(x.shape[:-2], self.eps.shape[:-1])
        m, n = x.shape[-2:]
        return ShampooState(0, _identity_stack(batch, m, self.eps), _identity_stack(batch, n, self.eps),
                            np.zeros((*batch, m, m)), np.zeros((*batch, n, n)))

    def update(self, grad: Array, x: Array, state: ShampooState) -> tuple[Array, ShampooState]:
        x = check_matrix(x, "Shampoo")
        _check_matrix_gradient(grad, x)
        t = state.count + 1
        left = state.left + grad @ _transpose(grad)
        right = state.right + _transpose(grad) @ grad
        left_root, right_root = state.left_root, state.right_root
        if t == 1 or t % self.precondition_frequency == 0:
            left_root, right_root = inverse_root(left, 4), inverse_root(right, 4)
        lr = self.step_size(state.count)[..., None]
        x_next = x - lr * (left_root @ grad @ right_root)
        return x_next, ShampooState(t, left, right, left_root, right_root)


class SOAPState(NamedTuple):
    count: int
    exp_avg: Array
    exp_avg_sq: Array
    left: Array
    right: Array
    left_basis: Array
    right_basis: Array


def _eigenbasis(matrix: Array) -> Array:
    """Eigenvectors of symmetric matrices, largest eigenvalue first (the reference's
    ``eigh(m + 1e-30 I)``, columns flipped)."""
    size = matrix.shape[-1]
    return np.flip(_eigh(matrix + 1e-30 * np.eye(size))[1], axis=-1)


def _power_step(statistic: Array, basis: Array) -> tuple[Array, Array]:
    """One step of power iteration with QR from ``basis``, its columns first sorted by the Rayleigh
    quotients :math:`q_i^\top S q_i` (largest first); returns the new basis and the order."""
    product = statistic @ basis
    estimates = np.sum(basis * product, axis=-2)
    order = np.argsort(-estimates, axis=-1, kind="stable")
    ordered = np.take_along_axis(product, order[..., None, :], axis=-1)
    return np.linalg.qr(ordered)[0], order


class SOAP(GradientOptimizer):
    r"""SOAP (Vyas et al., 2024): Adam run in the eigenbasis of Shampoo's preconditioner, as
    ``pytorch_optimizer.SOAP`` (the authors' code) has it. For :math:`X` of shape
    :math:`m \times n` with gradient :math:`G_t`, Shampoo's statistics as moving averages

    .. math::
        L_t = \beta_s L_{t-1} + (1-\beta_s) G_t G_t^\top, \qquad
        R_t = \beta_s R_{t-1} + (1-\beta_s) G_t^\top G_t,

    and their eigenbases :math:`Q_L, Q_R` (exact at the first step, then refreshed every
    :math:`f` = ``precondition_frequency`` steps by one step of power iteration with a QR
    decomposition, :math:`Q \leftarrow \operatorname{qr}(L Q)`). Adam's moments live in the
    rotated coordinates :math:`\tilde G = Q_L^\top G Q_R`:

    .. math::
        M_t = \beta_1 M_{t-1} + (1-\beta_1) G_t, \qquad
        V_t = \beta_2 V_{t-1} + (1-\beta_2)\, (Q_L^\top G_t Q_R)^{\circ 2}, \\
        X_t = (1-\eta\lambda)\left(X_{t-1} - \eta\, \frac{\sqrt{1-\beta_2^{k}}}{1-\beta_1^{k}}\,
        Q_L \frac{Q_L^\top M_t Q_R}{\sqrt{V_t} + \epsilon} Q_R^\top\right),

    with :math:`k = t - 1`: the first call only measures :math:`L_1, R_1` and their eigenbases and
    leaves :math:`X` where it is (the reference's convention); the statistics take each gradient
    after the step it drives. With :math:`Q_L = I, Q_R = I` this is AdamW.

    It equals ``pytorch_optimizer.SOAP`` to 1e-10 over 300 steps in float64 with the QR step run in
    float64 (the reference casts the QR to float32; agreement with it unchanged is to float32
    accuracy, ``tests/test_kronecker_parity.py``). The eigenbasis of a repeated eigenvalue is not
    unique, so the first step's basis matches the reference's only when the first gradient's
    :math:`G G^\top` and :math:`G^\top G` have distinct eigenvalues.

    Defaults (the reference's): ``lr=3e-3``, ``beta1=0.95``, ``beta2=0.95``, ``shampoo_beta=None``
    (:math:`\beta_s = \beta_2`), ``eps=1e-8``, ``weight_decay=0.01`` (:math:`\lambda`, decoupled),
    ``precondition_frequency=10``. Only matrix parameters, shape ``(..., m, n)``.

    >>> soap, x = SOAP(lr=0.1, weight_decay=0.0), np.zeros((2, 2))
    >>> state = soap.init(x)
    >>> x, state = soap.update(np.diag([2.0, 1.0]), x, state)   # measures only
    >>> soap.update(np.diag([2.0, 1.0]), x, state)[0].round(6)   # then Adam's first step: -η sign
    array([[-0.1,  0. ],
           [ 0. , -0.1]])
    """

    name = "soap"

    def __init__(self, lr: ArrayLike | Schedule = 3e-3, beta1: ArrayLike = 0.95, beta2: ArrayLike = 0.95,
                 shampoo_beta: ArrayLike | None = None, eps: ArrayLike = 1e-8,
                 weight_decay: ArrayLike = 0.01, precondition_frequency: int = 10) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.shampoo_beta = self.beta2 if shampoo_beta is None else validate_decay("shampoo_beta",
                                                                                   shampoo_beta)
        self.eps = validate_guard(eps)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)
        self.precondition_frequency = validate_count("precondition_frequency", precondition_frequency,
                                                     low=1)

    def init(self, x: Array) -> SOAPState:
        x = check_matrix(x, "SOAP")
        m, n = x.shape[-2:]
        batch = x.shape[:-2]
        return SOAPState(0, np.zeros_like(x), np.zeros_like(x), np.zeros((*batch, m, m)),
                         np.zeros((*batch, n, n)), _identity_stack(batch, m, np.ones(1)),
                         _identity_stack(batch, n, np.ones(1)))

    def _statistics(self, grad: Array, state: SOAPState) -> tuple[Array, Array]:
        weight = (1 - self.shampoo_beta)[..., None]
        return (_lerp(state.left, grad @ _transpose(grad), weight),
                _lerp(state.right, _transpose(grad) @ grad, weight))

    def update(self, grad: Array, x: Array, state: SOAPState) -> tuple[Array, SOAPState]:
        x = check_matrix(x, "SOAP")
        _check_matrix_gradient(grad, x)
        if state.count == 0:
            left, right = self._statistics(grad, state)
            return x + 0.0, state._replace(count=1, left=left, right=right, left_basis=_eigenbasis(left),
                                           right_basis=_eigenbasis(right))
        k = state.count                                      # Adam's steps, this one included
        beta1, beta2 = self.beta1[..., None], self.beta2[..., None]
        q_left, q_right = state.left_basis, state.right_basis
        rotated = _transpose(q_left) @ grad @ q_right
        exp_avg = _lerp(state.exp_avg, grad, 1 - beta1)
        exp_avg_sq = _lerp(state.exp_avg_sq, rotated * rotated, 1 - beta2)
        direction = q_left @ ((_transpose(q_left) @ exp_avg @ q_right)
                              / (np.sqrt(exp_avg_sq) + self.eps[..., None])) @ _transpose(q_right)
        lr = self.step_size(state.count)[..., None]
        step_size = lr * np.sqrt(bias_correction(beta2, k)) / bias_correction(beta1, k)
        x_next = (x - step_size * direction) * (1 - lr * self.weight_decay[..., None])
        left, right = self._statistics(grad, state)
        if k % self.precondition_frequency == 0:
            q_left, rows = _power_step(left, q_left)
            q_right, columns = _power_step(right, q_right)
            exp_avg_sq = np.take_along_axis(exp_avg_sq, rows[..., :, None], axis=-2)
            exp_avg_sq = np.take_along_axis(exp_avg_sq, columns[..., None, :], axis=-1)
        return x_next, SOAPState(k + 1, exp_avg, exp_avg_sq, left, right, q_left, q_right)
