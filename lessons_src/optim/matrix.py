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
from .base import (
    GradientOptimizer,
    validate_count,
    validate_decay,
    validate_number,
    validate_range,
    validate_step_size,
)

__all__ = ["Adafactor", "AdafactorState", "Muon", "MuonState", "check_matrix", "newton_schulz"]


def check_matrix(x: Array, optimizer: str, name: str = "x") -> Array:
    """``x`` as a float array of matrices, shape ``(..., m, n)``; refused, naming the argument
    and the optimizer, if it has fewer than two axes."""
    array = np.asarray(x, dtype=float)
    if array.ndim < 2:
        raise ValueError(f"{name} must be a matrix parameter of shape (..., m, n) for {optimizer}, "
                         f"got shape {array.shape}")
    return array


def _check_matrix_gradient(grad: Array, x: Array) -> None:
    """A matrix's gradient has the matrix's shape: its last two axes are no batch axes."""
    if np.shape(grad)[-2:] != np.shape(x)[-2:]:
        raise ValueError(f"grad must have the shape of x, {np.shape(x)}, got shape {np.shape(grad)}")


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
            _check_matrix_gradient(grad, x)
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


#: Keller Jordan's quintic Newton–Schulz coefficients (PyTorch's defaults).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
ADJUST_LR = ("original", "match_rms_adamw", "none")


def newton_schulz(matrix: Array, coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                  steps: int = 5, eps: float = 1e-7) -> Array:
    r"""Approximately orthogonalise ``matrix`` (shape ``(..., m, n)``), :math:`G = U S V^\top
    \mapsto U S' V^\top` with :math:`S'_{ii}` near 1, by ``steps`` iterations of the quintic

    .. math::
        X_0 = \frac{G}{\max(\|G\|_F, \varepsilon)}, \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top,

    run on the wide orientation (:math:`G^\top` when :math:`m > n`), in float64: PyTorch's
    ``_zeropower_via_newtonschulz`` runs the same steps in bfloat16.

    >>> newton_schulz(np.array([[3.0, 0.0], [0.0, 0.5]])).round(2)
    array([[0.71, 0.  ],
           [0.  , 1.04]])
    """
    a, b, c = coefficients
    x = np.asarray(matrix, dtype=float)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = np.swapaxes(x, -1, -2)
    norm = np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True))
    x = x / np.maximum(norm, eps)
    for _ in range(steps):
        gram = x @ np.swapaxes(x, -1, -2)
        update = b * gram + c * (gram @ gram)
        x = a * x + update @ x
    return np.swapaxes(x, -1, -2) if tall else x


def _validate_coefficients(value: object) -> tuple[float, float, float]:
    if isinstance(value, str | bytes) or np.ndim(value) != 1 or len(value) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {value!r}")
    try:
        return tuple(validate_number("ns_coefficients", v) for v in value)  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"ns_coefficients must be three finite numbers (a, b, c), "
                         f"got {value!r}") from None


class MuonState(NamedTuple):
    count: int
    momentum_buffer: Array


class Muon(GradientOptimizer):
    r"""Muon (Jordan et al., 2024; Liu et al., 2025, for the decay and ``match_rms_adamw``), in
    PyTorch's form (``torch.optim.Muon``): momentum, then the step is the momentum's
    orthogonalised direction, the same length along every singular direction. For a matrix
    parameter :math:`X` of shape :math:`m \times n`,

    .. math::
        B_t = \mu B_{t-1} + (1-\mu) G_t, \qquad
        \tilde B_t = \begin{cases} (1-\mu) G_t + \mu B_t & \text{nesterov}\\
                                   B_t & \text{otherwise}\end{cases}, \qquad
        X_t = (1-\eta\lambda) X_{t-1} - \eta\, s(m, n)\, \mathrm{NS}_k(\tilde B_t),

    with :func:`newton_schulz` :math:`\mathrm{NS}_k` and the shape factor
    :math:`s = \sqrt{\max(1, m/n)}` (``adjust_lr_fn="original"``), :math:`0.2\sqrt{\max(m, n)}`
    (``"match_rms_adamw"``) or 1 (``"none"``). (PyTorch's code keeps :math:`B_t` as this moving
    average, ``lerp``; its docstring writes :math:`\mu B_{t-1} + G_t`.)

    **Precision.** PyTorch 2.13 runs Newton–Schulz in bfloat16, even for float64 parameters; this
    class runs it in float64. It equals a float64 copy of PyTorch's step to 1e-10 over 300 steps,
    and PyTorch's own Muon to bfloat16 accuracy (``tests/test_torch_parity.py``).

    Defaults (PyTorch's): ``lr=1e-3``, ``weight_decay=0.1`` (:math:`\lambda`, decoupled),
    ``momentum=0.95``, ``nesterov=True``, ``ns_coefficients=(3.4445, -4.7750, 2.0315)``,
    ``eps=1e-7``, ``ns_steps=5``, ``adjust_lr_fn="original"``. Only matrix parameters, shape
    ``(..., m, n)``: a vector is refused, naming ``x`` (use AdamW for biases).

    >>> muon, x = Muon(lr=0.1, weight_decay=0.0), np.zeros((2, 2))
    >>> muon.update(np.array([[1.0, 0.0], [0.0, 4.0]]), x, muon.init(x))[0].round(3)
    array([[-0.074,  0.   ],
           [ 0.   , -0.074]])
    """

    name = "muon"

    def __init__(self, lr: ArrayLike | Schedule = 1e-3, weight_decay: ArrayLike = 0.1,
                 momentum: ArrayLike = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: ArrayLike = 1e-7, ns_steps: int = 5,
                 adjust_lr_fn: str = "original") -> None:
        self.lr = validate_step_size("lr", lr)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)
        self.momentum = validate_decay("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.ns_coefficients = _validate_coefficients(ns_coefficients)
        self.eps = validate_range("eps", eps, low=0.0)
        self.ns_steps = validate_count("ns_steps", ns_steps, low=1)
        if adjust_lr_fn not in ADJUST_LR:
            raise ValueError(f"adjust_lr_fn must be one of {', '.join(map(repr, ADJUST_LR))}, "
                             f"got {adjust_lr_fn!r}")
        self.adjust_lr_fn = adjust_lr_fn

    def init(self, x: Array) -> MuonState:
        return MuonState(0, np.zeros_like(check_matrix(x, "Muon")))

    def shape_factor(self, m: int, n: int) -> float:
        """:math:`s(m, n)`, the step's factor for an ``m × n`` parameter."""
        if self.adjust_lr_fn == "original":
            return float(np.sqrt(max(1.0, m / n)))
        if self.adjust_lr_fn == "match_rms_adamw":
            return 0.2 * float(np.sqrt(max(m, n)))
        return 1.0

    def update(self, grad: Array, x: Array, state: MuonState) -> tuple[Array, MuonState]:
        x = check_matrix(x, "Muon")
        _check_matrix_gradient(grad, x)
        momentum = self.momentum[..., None]
        buffer = _lerp(state.momentum_buffer, grad, 1 - momentum)
        direction = _lerp(grad, buffer, momentum) if self.nesterov else buffer
        if self.eps.size != 1:
            raise ValueError("eps must be one number for Muon (it guards one norm per matrix)")
        eps = float(self.eps.ravel()[0])
        ortho = newton_schulz(direction, self.ns_coefficients, self.ns_steps, eps)
        lr = self.step_size(state.count)[..., None]
        adjusted = lr * self.shape_factor(*x.shape[-2:])
        x_next = x * (1 - lr * self.weight_decay[..., None]) - adjusted * ortho
        return x_next, MuonState(state.count + 1, buffer)
