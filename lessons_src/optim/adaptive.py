r"""Adaptive step sizes: AdaGrad, RMSProp, Adam (with AMSGrad), and an Adam that goes wrong.

Each divides the step by a running measure of the squared gradients, coordinate by coordinate.
Symbols follow the chapters: :math:`s_t` accumulated squares, :math:`\rho` RMSProp's decay,
:math:`m_t, v_t` Adam's moments, :math:`\beta_1, \beta_2` their decay rates, :math:`\varepsilon`
the guard of the division.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .base import GradientOptimizer, validate_decay, validate_guard, validate_range, validate_step_size


class SquaresState(NamedTuple):
    count: int
    squares: Array


def _denominator(squares: Array, eps: Array, inside: bool) -> Array:
    r""":math:`\sqrt s + \varepsilon`, or :math:`\sqrt{s + \varepsilon}` with ``inside``."""
    return np.sqrt(squares + eps) if inside else np.sqrt(squares) + eps


class AdaGrad(GradientOptimizer):
    r"""AdaGrad: per-coordinate steps shrunk by all past squared gradients,

    .. math::
        s_{k+1} = s_k + g_k^2, \qquad x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.

    ``eps_inside=True`` divides by :math:`\sqrt{s_{k+1} + \varepsilon}` instead.
    """

    name = "adagrad"

    def __init__(self, lr: ArrayLike | Schedule, eps: ArrayLike = 1e-10, *,
                 eps_inside: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.eps = validate_guard(eps)
        self.eps_inside = bool(eps_inside)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(0, np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: SquaresState) -> tuple[Array, SquaresState]:
        s = state.squares + grad**2
        lr = self.step_size(state.count)
        x_next = x - lr * grad / _denominator(s, self.eps, self.eps_inside)
        return x_next, SquaresState(state.count + 1, s)


class RMSProp(GradientOptimizer):
    r"""RMSProp: AdaGrad with an exponential moving average of squared gradients,

    .. math::
        s_{k+1} = \rho s_k + (1 - \rho) g_k^2, \qquad
        x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.

    :math:`\rho` is PyTorch's ``alpha``. ``eps_inside=True`` divides by
    :math:`\sqrt{s_{k+1} + \varepsilon}` instead (as in Goodfellow et al., Algorithm 8.5).
    """

    name = "rmsprop"

    def __init__(self, lr: ArrayLike | Schedule, rho: ArrayLike = 0.99, eps: ArrayLike = 1e-8, *,
                 eps_inside: bool = False) -> None:
        self.lr = validate_step_size("lr", lr)
        self.rho = validate_decay("rho", rho)
        self.eps = validate_guard(eps)
        self.eps_inside = bool(eps_inside)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(0, np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: SquaresState) -> tuple[Array, SquaresState]:
        s = self.rho * state.squares + (1 - self.rho) * grad**2
        lr = self.step_size(state.count)
        x_next = x - lr * grad / _denominator(s, self.eps, self.eps_inside)
        return x_next, SquaresState(state.count + 1, s)


class AdamState(NamedTuple):
    count: int
    mu: Array
    nu: Array
    nu_max: Array | None  # AMSGrad's running maximum of nu; None without amsgrad


def bias_correction(decay: ArrayLike, count: int) -> Array:
    r"""The weight :math:`1 - \beta^t` that an average started at zero has after :math:`t` steps.

    The one place the course writes it: every bias-corrected rule divides by it.
    """
    return 1 - decay**count


def debias(moment: Array, decay: ArrayLike, count: int) -> Array:
    r"""Undo the pull towards zero of an average started at zero: :math:`\hat m_t = m_t / (1 - \beta^t)`."""
    return moment / bias_correction(decay, count)


class Adam(GradientOptimizer):
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected,

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        x_t = x_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},

    with :math:`\hat m_t = m_t / (1-\beta_1^t)` and :math:`\hat v_t = v_t / (1-\beta_2^t)`
    (:func:`debias`). ``bias_correction=False`` uses :math:`m_t, v_t` as they are.
    ``amsgrad=True`` (Reddi et al., 2018, in PyTorch's form) keeps
    :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)` and divides by
    :math:`\sqrt{v^{\max}_t / (1-\beta_2^t)} + \varepsilon`. ``weight_decay=λ`` is PyTorch's
    ``Adam(weight_decay=λ)``: L2 regularisation, :math:`g_t + \lambda x_{t-1}` in place of
    :math:`g_t` (for the decoupled kind see :class:`AdamW`).
    """

    name = "adam"

    def __init__(self, lr: ArrayLike | Schedule, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8, *, bias_correction: bool = True,
                 amsgrad: bool = False, weight_decay: ArrayLike = 0.0) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)
        self.bias_correction = bool(bias_correction)
        self.amsgrad = bool(amsgrad)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def init(self, x: Array) -> AdamState:
        return AdamState(0, np.zeros_like(x), np.zeros_like(x),
                         np.zeros_like(x) if self.amsgrad else None)

    def update(self, grad: Array, x: Array, state: AdamState) -> tuple[Array, AdamState]:
        if np.any(self.weight_decay):  # L2: the decay joins the gradient
            grad = grad + self.weight_decay * x
        return self._adam_step(grad, x, state)

    def _adam_step(self, g: Array, x: Array,
                   state: AdamState) -> tuple[Array, AdamState]:
        t = state.count + 1
        m = self.beta1 * state.mu + (1 - self.beta1) * g
        v = self.beta2 * state.nu + (1 - self.beta2) * g**2
        v_max = np.maximum(state.nu_max, v) if self.amsgrad else None
        v_used = v_max if self.amsgrad else v
        if self.bias_correction:
            m_hat = debias(m, self.beta1, t)
            v_hat = debias(v_used, self.beta2, t)
        else:
            m_hat, v_hat = m, v_used
        x_next = x - self.step_size(state.count) * m_hat / (np.sqrt(v_hat) + self.eps)
        return x_next, AdamState(t, m, v, v_max)


class WriteBackState(NamedTuple):
    count: int
    m: Array
    v: Array


class WriteBackAdam(GradientOptimizer):
    r"""Adam with a bug found in published code: the corrected moments are written back,

    .. math::
        m_t = \frac{\beta_1 m_{t-1} + (1-\beta_1) g_t}{1 - \beta_1^t}, \qquad
        v_t = \frac{\beta_2 v_{t-1} + (1-\beta_2) g_t^2}{1 - \beta_2^t}, \qquad
        x_t = x_{t-1} - \frac{\eta}{\varepsilon + \sqrt{v_t}}\, m_t .

    Because the corrected values replace the running averages, the next step corrects them again
    and the corrections compound (:func:`lessons_src.theory.log10_writeback_factor`). Real Adam
    (:class:`Adam`) keeps :math:`m_t, v_t` and corrects copies.
    """

    name = "write-back-adam"

    def __init__(self, lr: ArrayLike | Schedule, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> WriteBackState:
        return WriteBackState(0, np.zeros_like(x), np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: WriteBackState) -> tuple[Array, WriteBackState]:
        t = state.count + 1
        m = (self.beta1 * state.m + (1 - self.beta1) * grad) / bias_correction(self.beta1, t)
        v = (self.beta2 * state.v + (1 - self.beta2) * grad**2) / bias_correction(self.beta2, t)
        lr = self.step_size(state.count)
        return x - lr / (self.eps + np.sqrt(v)) * m, WriteBackState(t, m, v)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019), PyTorch's ``AdamW``:

    .. math::
        x \leftarrow (1 - \eta\lambda)\, x, \qquad
        x_t = x - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},

    with Adam's moments of the plain gradient :math:`g_t`. Compare ``Adam(weight_decay=λ)``,
    which adds :math:`\lambda x` to the gradient (L2 regularisation) and so divides the decay by
    :math:`\sqrt{\hat v_t}` too.
    """

    name = "adamw"

    def __init__(self, lr: ArrayLike | Schedule, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8, weight_decay: ArrayLike = 0.01, *,
                 bias_correction: bool = True, amsgrad: bool = False) -> None:
        super().__init__(lr, beta1, beta2, eps, bias_correction=bias_correction, amsgrad=amsgrad)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)

    def update(self, grad: Array, x: Array, state: AdamState) -> tuple[Array, AdamState]:
        decayed = x * (1 - self.step_size(state.count) * self.weight_decay)
        return self._adam_step(grad, decayed, state)


class NAdamState(NamedTuple):
    count: int
    mu: Array
    nu: Array
    mu_product: Array


class NAdam(GradientOptimizer):
    r"""NAdam (Dozat, 2016): Adam with Nesterov's look-ahead in the first moment, in PyTorch's form.

    With the warming momentum :math:`\mu_t = \beta_1\bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr)`
    (:math:`\psi` = ``momentum_decay``),

    .. math::
        \hat m_t = \frac{\mu_{t+1} m_t}{1 - \prod_{i \le t+1}\mu_i}
                 + \frac{(1 - \mu_t)\, g_t}{1 - \prod_{i \le t}\mu_i}, \qquad
        x_t = x_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{v_t/(1-\beta_2^t)} + \varepsilon},

    where :math:`m_t, v_t` are Adam's moving averages of :math:`g_t` and :math:`g_t^2`.
    """

    name = "nadam"

    def __init__(self, lr: ArrayLike | Schedule = 0.002, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
                 momentum_decay: ArrayLike = 4e-3) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)
        self.momentum_decay = validate_range("momentum_decay", momentum_decay, low=0.0)

    def init(self, x: Array) -> NAdamState:
        return NAdamState(0, np.zeros_like(x), np.zeros_like(x), np.ones_like(x))

    def update(self, grad: Array, x: Array, state: NAdamState) -> tuple[Array, NAdamState]:
        t = state.count + 1
        lr = self.step_size(state.count)
        mu = self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = state.mu_product * mu
        m = self.beta1 * state.mu + (1 - self.beta1) * grad
        v = self.beta2 * state.nu + (1 - self.beta2) * grad**2
        denominator = np.sqrt(v / bias_correction(self.beta2, t)) + self.eps
        now = lr * (1 - mu) / (1 - mu_product)                 # weight of g_t
        ahead = lr * mu_next / (1 - mu_product * mu_next)        # weight of m_t
        x_next = x - now * grad / denominator - ahead * m / denominator
        return x_next, NAdamState(t, m, v, mu_product)


class AdamaxState(NamedTuple):
    count: int
    mu: Array
    u: Array


class Adamax(GradientOptimizer):
    r"""AdaMax (Kingma and Ba, 2015): Adam with the :math:`\infty`-norm in place of the square,

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        u_t = \max\bigl(\beta_2 u_{t-1},\ |g_t| + \varepsilon\bigr), \qquad
        x_t = x_{t-1} - \frac{\eta}{1 - \beta_1^t}\,\frac{m_t}{u_t}.

    :math:`u_t` is the limit :math:`p \to \infty` of :math:`(v_t)^{1/p}` for a moving average of
    :math:`|grad|^p`; it needs no bias correction (PyTorch adds :math:`\varepsilon` inside the max).
    """

    name = "adamax"

    def __init__(self, lr: ArrayLike | Schedule = 0.002, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> AdamaxState:
        return AdamaxState(0, np.zeros_like(x), np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: AdamaxState) -> tuple[Array, AdamaxState]:
        t = state.count + 1
        m = self.beta1 * state.mu + (1 - self.beta1) * grad
        u = np.maximum(self.beta2 * state.u, np.abs(grad) + self.eps)
        x_next = x - self.step_size(state.count) / bias_correction(self.beta1, t) * m / u
        return x_next, AdamaxState(t, m, u)


class AdadeltaState(NamedTuple):
    count: int
    squares: Array
    deltas: Array


class Adadelta(GradientOptimizer):
    r"""Adadelta (Zeiler, 2012): RMSProp whose numerator is a running size of past steps,

    .. math::
        s_t = \rho s_{t-1} + (1-\rho) g_t^2, \qquad
        \Delta_t = \frac{\sqrt{u_{t-1} + \varepsilon}}{\sqrt{s_t + \varepsilon}}\, g_t, \qquad
        u_t = \rho u_{t-1} + (1-\rho) \Delta_t^2, \qquad
        x_t = x_{t-1} - \eta\, \Delta_t .

    The ratio of an RMS of steps to an RMS of gradients has the units of :math:`x` over those of
    :math:`grad`, like an inverse curvature, so :math:`\Delta_t` has the units of :math:`x`:
    Zeiler's "units that match"; :math:`\eta = 1` (PyTorch's default) is the rule as published.
    """

    name = "adadelta"

    def __init__(self, lr: ArrayLike | Schedule = 1.0, rho: ArrayLike = 0.9,
                 eps: ArrayLike = 1e-6) -> None:
        self.lr = validate_step_size("lr", lr)
        self.rho = validate_decay("rho", rho)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> AdadeltaState:
        return AdadeltaState(0, np.zeros_like(x), np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: AdadeltaState) -> tuple[Array, AdadeltaState]:
        s = self.rho * state.squares + (1 - self.rho) * grad**2
        delta = np.sqrt(state.deltas + self.eps) / np.sqrt(s + self.eps) * grad
        u = self.rho * state.deltas + (1 - self.rho) * delta**2
        x_next = x - self.step_size(state.count) * delta
        return x_next, AdadeltaState(state.count + 1, s, u)


def radam_rho_inf(beta2: ArrayLike) -> Array:
    r"""RAdam's :math:`\rho_\infty = 2/(1-\beta_2) - 1`, the length of an infinite average."""
    return 2 / (1 - beta2) - 1


def radam_rho(beta2: ArrayLike, t: ArrayLike) -> Array:
    r"""RAdam's :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`, with
    :math:`\rho_\infty = 2/(1-\beta_2) - 1`: the length of the average that :math:`\hat v_t`
    amounts to."""
    rho_inf = radam_rho_inf(beta2)
    return rho_inf - 2 * t * beta2**t / bias_correction(beta2, t)


def radam_rectification(beta2: ArrayLike, t: ArrayLike) -> Array:
    r"""RAdam's :math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}
    {(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`, defined where :math:`\rho_t > 4` (NaN elsewhere)."""
    rho_inf, rho = radam_rho_inf(beta2), radam_rho(beta2, t)
    top = (rho - 4) * (rho - 2) * rho_inf
    ratio = top / ((rho_inf - 4) * (rho_inf - 2) * rho)
    return np.sqrt(np.where(rho > 4, ratio, np.nan))


class RAdamState(NamedTuple):
    count: int
    mu: Array
    nu: Array


class RAdam(GradientOptimizer):
    r"""RAdam (Liu et al., 2020): Adam whose adaptive step is switched on only once the variance
    of :math:`1/\sqrt{\hat v_t}` is finite, and then rectified.

    With :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)` (the length of the average),

    .. math::
        x_t = x_{t-1} - \eta\,\hat m_t \cdot
        \begin{cases}
            r_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \varepsilon} & \rho_t > 5,\\[1ex]
            1 & \text{otherwise (momentum SGD),}
        \end{cases}
        \qquad r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    (:func:`radam_rho`, :func:`radam_rectification`).
    """

    name = "radam"

    def __init__(self, lr: ArrayLike | Schedule = 0.001, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8) -> None:
        self.lr = validate_step_size("lr", lr)
        self.beta1 = validate_decay("beta1", beta1)
        self.beta2 = validate_decay("beta2", beta2)
        self.eps = validate_guard(eps)

    def init(self, x: Array) -> RAdamState:
        return RAdamState(0, np.zeros_like(x), np.zeros_like(x))

    def update(self, grad: Array, x: Array, state: RAdamState) -> tuple[Array, RAdamState]:
        t = state.count + 1
        m = self.beta1 * state.mu + (1 - self.beta1) * grad
        v = self.beta2 * state.nu + (1 - self.beta2) * grad**2
        m_hat = debias(m, self.beta1, t)
        rho_t = radam_rho(self.beta2, t)
        with np.errstate(invalid="ignore", divide="ignore"):
            rect = radam_rectification(self.beta2, t)
            adaptive = np.sqrt(bias_correction(self.beta2, t)) / (np.sqrt(v) + self.eps)
        scale = np.where(rho_t > 5, adaptive * rect, 1.0)
        x_next = x - m_hat * self.step_size(state.count) * scale
        return x_next, RAdamState(t, m, v)
