r"""Rules for matrix parameters: Adafactor's factored second moments, Muon's orthogonalised step.

A matrix parameter has shape ``(..., m, n)``: the last two axes are the matrix, any axes before
them a batch of runs (a sweep), as the last axis is for a vector parameter elsewhere in
:mod:`lessons_src.optim`. Hyperparameters of shape ``(..., 1)`` (a sweep) gain the matrix's
second axis here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import GradientOptimizer, validate_range, validate_step_size

__all__ = ["Adafactor", "AdafactorState", "check_matrix"]


def check_matrix(x: Array, optimizer: str, name: str = "x") -> Array:
    """``x`` as a float array of matrices, shape ``(..., m, n)``; refused, naming the argument
    and the optimizer, if it has fewer than two axes."""
    array = np.asarray(x, dtype=float)
    if array.ndim < 2:
        raise ValueError(f"{name} must be a matrix parameter of shape (..., m, n) for {optimizer}, "
                         f"got shape {array.shape}")
    return array


def _validate_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _norm(a: Array, axes: tuple[int, ...]) -> tuple[Array, int]:
    """The 2-norm over ``axes`` (kept) and the number of entries it covers."""
    return np.sqrt(np.sum(a * a, axis=axes, keepdims=True)), int(np.prod([a.shape[i] for i in axes]))


def _lerp(start: Array, end: Array, weight: Array) -> Array:
    """PyTorch's ``lerp``, rounding included: the formula it uses depends on the weight."""
    return np.where(weight < 0.5, start + weight * (end - start), end - (end - start) * (1 - weight))


class AdafactorState(NamedTuple):
    count: int
    row_var: Array | None
    col_var: Array | None
    variance: Array | None


class Adafactor(GradientOptimizer):
    r"""Adafactor (Shazeer and Stern, 2018), in PyTorch's form (``torch.optim.Adafactor``): an
    adaptive step whose second moment, for a matrix parameter, is kept as a row and a column
    average only (:math:`m + n` numbers for :math:`m n` parameters).

    With :math:`\hat\beta_{2,t} = 1 - t^{c}` (:math:`c` = ``beta2_decay``), the relative step
    :math:`\rho_t = \min(\eta, 1/\sqrt t)` and the RMS of the parameter
    :math:`\operatorname{RMS}(X) = \|X\|_F/\sqrt{mn}`: for a matrix (``matrix=True``)

    .. math::
        R_t = \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t}) \tfrac1n (G_t^{\circ 2})\mathbf 1_n,
        \quad
        C_t = \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t}) \tfrac1m \mathbf 1_m^\top G_t^{\circ 2},
        \quad
        \hat V_t = \frac{R_t C_t}{\max(\operatorname{mean}(R_t), \varepsilon_1)},

    for a vector :math:`\hat V_t = \hat\beta_{2,t}\hat V_{t-1} + (1-\hat\beta_{2,t}) g_t^2`; then

    .. math::
        U_t = \frac{G_t}{\sqrt{\max(\hat V_t, \varepsilon_1^2)}}, \qquad
        X_t = (1 - \eta\lambda) X_{t-1}
        - \frac{\max(\varepsilon_2, \operatorname{RMS}(X_{t-1}))\,\rho_t}
               {\max(1, \operatorname{RMS}(U_t)/d)}\, U_t .

    There is no first moment (PyTorch's form, as the paper's default :math:`\beta_1 = 0`).

    Defaults (PyTorch's): ``lr=0.01`` (:math:`\eta`, which caps the relative step),
    ``beta2_decay=-0.8``, ``eps1=None`` (the float64 machine epsilon, PyTorch's ``eps[0]``),
    ``eps2=1e-3`` (``eps[1]``), ``d=1`` (the clipping threshold), ``weight_decay=0``
    (:math:`\lambda`, decoupled), ``matrix=False``: the last axis is one vector parameter; with
    ``matrix=True`` the last two axes are one matrix, factored.

    >>> adafactor, x = Adafactor(lr=0.01, matrix=True), np.ones((2, 3))
    >>> adafactor.update(np.ones((2, 3)), x, adafactor.init(x))[0]   # x - ρ₁ RMS(x) sign(g)
    array([[0.99, 0.99, 0.99],
           [0.99, 0.99, 0.99]])
    """

    name = "adafactor"

    def __init__(self, lr: ArrayLike | Schedule = 0.01, beta2_decay: ArrayLike = -0.8,
                 eps1: ArrayLike | None = None, eps2: ArrayLike = 1e-3, d: ArrayLike = 1.0,
                 weight_decay: ArrayLike = 0.0, matrix: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta2_decay = validate_range("beta2_decay", beta2_decay, low=-np.inf)
        if np.any(self.beta2_decay > 0):
            raise ValueError(f"beta2_decay must be at most 0, got {beta2_decay!r}")
        self.eps1 = validate_range("eps1", np.finfo(float).eps if eps1 is None else eps1, low=0.0)
        self.eps2 = validate_range("eps2", eps2, low=0.0)
        self.d = validate_range("d", d, low=1.0)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)
        self.matrix = _validate_flag("matrix", matrix)

    def init(self, x: Array) -> AdafactorState:
        if not self.matrix:
            return AdafactorState(0, None, None, np.zeros_like(x))
        x = check_matrix(x, "Adafactor(matrix=True)")
        return AdafactorState(0, np.zeros_like(x[..., :1]), np.zeros_like(x[..., :1, :]), None)

    def _hyper(self, value: Array) -> Array:
        return value[..., None] if self.matrix else value

    def update(self, grad: Array, x: Array, state: AdafactorState) -> tuple[Array, AdafactorState]:
        t = state.count + 1
        axes = (-2, -1) if self.matrix else (-1,)
        lr = self._hyper(self.step_size(state.count))
        weight = t ** self._hyper(self.beta2_decay)            # 1 - β̂₂ₜ
        rho = np.minimum(lr, 1 / t**0.5)
        norm, size = _norm(x, axes)
        alpha = np.maximum(self._hyper(self.eps2), norm / size**0.5) * rho
        if np.any(self.weight_decay):
            x = x * (1 - lr * self._hyper(self.weight_decay))
        eps1 = self._hyper(self.eps1)
        row_var = col_var = variance = None
        if self.matrix:
            row_mean = np.sqrt(np.sum(grad * grad, axis=-1, keepdims=True)) ** 2 / grad.shape[-1]
            col_mean = np.sqrt(np.sum(grad * grad, axis=-2, keepdims=True)) ** 2 / grad.shape[-2]
            row_var = _lerp(state.row_var, row_mean, weight)
            col_var = _lerp(state.col_var, col_mean, weight)
            estimate = (row_var @ col_var) / np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = _lerp(state.variance, grad * grad, weight)
            estimate = variance
        step = 1 / np.sqrt(np.maximum(estimate, eps1 * eps1)) * grad
        norm, size = _norm(step, axes)
        denominator = np.maximum(1.0, norm / (size**0.5 * self._hyper(self.d)))
        x_next = x - alpha / denominator * step
        return x_next, AdafactorState(t, row_var, col_var, variance)
