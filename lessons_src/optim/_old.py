r"""The optimizers of the course, one small class each.

Every optimizer is a pair of pure functions, in the style of optax:

* ``init(x) -> state`` builds the optimizer's memory for the points ``x`` (shape ``(..., d)``);
* ``step(objective, x, state) -> (x_next, state_next)`` applies the update rule once.

The state is a small named tuple you can print. Hyperparameters may be numbers or arrays: an array
of 48 learning rates makes a batch of 48 runs that step together in one array computation (the
runner broadcasts the start point against the hyperparameters' shape). Symbols follow the chapters:
:math:`\eta` step size, :math:`g_k = \nabla f(x_k)`, :math:`\beta` momentum, :math:`\rho` and
:math:`\beta_2` decay rates of squared-gradient averages, :math:`\varepsilon` a small guard.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .objectives import Array, Objective


def _hyper(name: str, value: ArrayLike, *, low: float, high: float = np.inf,
           low_open: bool = False) -> Array:
    """Validate a hyperparameter and give it a trailing axis so it broadcasts over coordinates."""
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    lo_ok = array > low if low_open else array >= low
    hi_ok = array < high
    ok = np.isfinite(array) & lo_ok & hi_ok
    if not np.all(ok):
        bad = float(array[~ok].flat[0])
        if high == np.inf:
            wanted = "positive and finite" if low_open else f"finite and at least {low:g}"
        else:
            wanted = f"in [{low:g}, {high:g})"
        raise ValueError(f"{name} must be {wanted}, got {bad:g}")
    return array[..., None]


def _step_size(name: str, value: ArrayLike) -> Array:
    return _hyper(name, value, low=0.0, low_open=True)


def _decay(name: str, value: ArrayLike) -> Array:
    return _hyper(name, value, low=0.0, high=1.0)


def _guard(value: ArrayLike) -> Array:
    # ε = 0 is allowed (the textbook rule, as in PyTorch); a zero gradient then gives 0/0 and
    # the runner flags the run as diverged rather than carrying a silent NaN.
    return _hyper("eps", value, low=0.0)


class Optimizer(ABC):
    """An update rule :math:`x_{k+1} = x_k + \\Delta(x_k, \\text{state}_k)`."""

    name: str

    @abstractmethod
    def init(self, x: Array) -> Any:
        """The optimizer's state before the first step."""

    @abstractmethod
    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """One update: the next points and the next state."""

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of runs that the array-valued hyperparameters describe."""
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        return np.broadcast_shapes(*(a.shape[:-1] for a in arrays)) if arrays else ()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={_short(v)}" for k, v in vars(self).items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({fields})"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        return f"{flat[0]:g}" if flat.size == 1 else f"array of {flat.size}"
    return repr(value)


class GradientDescent(Optimizer):
    r"""Gradient descent: :math:`x_{k+1} = x_k - \eta\, g_k`."""

    name = "gd"

    def __init__(self, lr: ArrayLike) -> None:
        self.lr = _step_size("lr", lr)

    def init(self, x: Array) -> None:
        return None

    def step(self, objective: Objective, x: Array, state: None) -> tuple[Array, None]:
        return x - self.lr * objective.grad(x), state


class VelocityState(NamedTuple):
    velocity: Array


class Momentum(Optimizer):
    r"""Heavy-ball momentum (Polyak):

    .. math::
        v_{k+1} = \beta v_k - \eta\, g_k, \qquad x_{k+1} = x_k + v_{k+1}.

    ``velocity0`` is :math:`v_0` (zero unless a chapter says otherwise). PyTorch's
    ``SGD(momentum=β)`` keeps :math:`b = -v/\eta` instead; for a constant :math:`\eta` the iterates
    are the same.
    """

    name = "momentum"

    def __init__(self, lr: ArrayLike, beta: ArrayLike = 0.9, velocity0: float = 0.0) -> None:
        self.lr = _step_size("lr", lr)
        self.beta = _decay("beta", beta)
        if np.ndim(velocity0) != 0 or not np.isfinite(velocity0):
            raise ValueError(f"velocity0 must be one finite number, got {velocity0!r}")
        self.velocity0 = float(velocity0)

    def init(self, x: Array) -> VelocityState:
        return VelocityState(np.full_like(x, self.velocity0))

    def step(self, objective: Objective, x: Array, state: VelocityState):
        v = self.beta * state.velocity - self.lr * objective.grad(x)
        return x + v, VelocityState(v)


class Nesterov(Optimizer):
    r"""Nesterov's accelerated gradient, in look-ahead form:

    .. math::
        v_{k+1} = \beta v_k - \eta\, \nabla f(x_k + \beta v_k), \qquad x_{k+1} = x_k + v_{k+1}.

    PyTorch's ``SGD(momentum=β, nesterov=True)`` stores the look-ahead point
    :math:`x_k + \beta v_k` as its parameter instead of :math:`x_k`.
    """

    name = "nesterov"

    def __init__(self, lr: ArrayLike, beta: ArrayLike = 0.9) -> None:
        self.lr = _step_size("lr", lr)
        self.beta = _decay("beta", beta)

    def init(self, x: Array) -> VelocityState:
        return VelocityState(np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: VelocityState):
        lookahead = x + self.beta * state.velocity
        v = self.beta * state.velocity - self.lr * objective.grad(lookahead)
        return x + v, VelocityState(v)


class SquaresState(NamedTuple):
    squares: Array


class AdaGrad(Optimizer):
    r"""AdaGrad: per-coordinate steps shrunk by all past squared gradients,

    .. math::
        s_{k+1} = s_k + g_k^2, \qquad x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.
    """

    name = "adagrad"

    def __init__(self, lr: ArrayLike, eps: ArrayLike = 1e-10) -> None:
        self.lr = _step_size("lr", lr)
        self.eps = _guard(eps)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = state.squares + g**2
        return x - self.lr * g / (np.sqrt(s) + self.eps), SquaresState(s)


class RMSProp(Optimizer):
    r"""RMSProp: AdaGrad with an exponential moving average of squared gradients,

    .. math::
        s_{k+1} = \rho s_k + (1 - \rho) g_k^2, \qquad
        x_{k+1} = x_k - \frac{\eta}{\sqrt{s_{k+1}} + \varepsilon}\, g_k.

    :math:`\rho` is PyTorch's ``alpha``.
    """

    name = "rmsprop"

    def __init__(self, lr: ArrayLike, rho: ArrayLike = 0.99, eps: ArrayLike = 1e-8) -> None:
        self.lr = _step_size("lr", lr)
        self.rho = _decay("rho", rho)
        self.eps = _guard(eps)

    def init(self, x: Array) -> SquaresState:
        return SquaresState(np.zeros_like(x))

    def step(self, objective: Objective, x: Array, state: SquaresState):
        g = objective.grad(x)
        s = self.rho * state.squares + (1 - self.rho) * g**2
        return x - self.lr * g / (np.sqrt(s) + self.eps), SquaresState(s)


class AdamState(NamedTuple):
    count: int
    mu: Array
    nu: Array
    nu_max: Array


def bias_correction(moment: Array, decay: Array, count: int) -> Array:
    r"""Undo the pull towards zero of an average started at zero: :math:`\hat m_t = m_t / (1 - \beta^t)`."""
    return moment / (1 - decay**count)


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected,

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        x_t = x_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},

    with :math:`\hat m_t = m_t / (1-\beta_1^t)` and :math:`\hat v_t = v_t / (1-\beta_2^t)`.
    ``bias_correction=False`` uses :math:`m_t, v_t` as they are. ``amsgrad=True`` (Reddi et al.,
    2018, in PyTorch's form) keeps :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)` and divides by
    :math:`\sqrt{v^{\max}_t / (1-\beta_2^t)} + \varepsilon`.
    """

    name = "adam"

    def __init__(self, lr: ArrayLike, beta1: ArrayLike = 0.9, beta2: ArrayLike = 0.999,
                 eps: ArrayLike = 1e-8, *, bias_correction: bool = True,
                 amsgrad: bool = False) -> None:
        self.lr = _step_size("lr", lr)
        self.beta1 = _decay("beta1", beta1)
        self.beta2 = _decay("beta2", beta2)
        self.eps = _guard(eps)
        self.bias_correction = bool(bias_correction)
        self.amsgrad = bool(amsgrad)

    def init(self, x: Array) -> AdamState:
        zeros = np.zeros_like(x)
        return AdamState(0, zeros, zeros, zeros)

    def step(self, objective: Objective, x: Array, state: AdamState):
        t = state.count + 1
        g = objective.grad(x)
        m = self.beta1 * state.mu + (1 - self.beta1) * g
        v = self.beta2 * state.nu + (1 - self.beta2) * g**2
        v_max = np.maximum(state.nu_max, v) if self.amsgrad else v
        if self.bias_correction:
            m_hat = bias_correction(m, self.beta1, t)
            v_hat = bias_correction(v_max, self.beta2, t)
        else:
            m_hat, v_hat = m, v_max
        x_next = x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return x_next, AdamState(t, m, v, v_max)


class Newton(Optimizer):
    r"""Newton's method, optionally damped and regularised:

    .. math::
        x_{k+1} = x_k - \eta\,\bigl(\nabla^2 f(x_k) + \alpha I\bigr)^{-1} g_k.

    With :math:`\eta = 1, \alpha = 0` it jumps to the minimum of the local quadratic model; in 1-D
    the step is :math:`f'(x)/(f''(x) + \alpha)`.
    """

    name = "newton"

    def __init__(self, lr: ArrayLike = 1.0, alpha: ArrayLike = 0.0) -> None:
        self.lr = _step_size("lr", lr)
        self.alpha = _hyper("alpha", alpha, low=0.0)

    def init(self, x: Array) -> None:
        return None

    def step(self, objective: Objective, x: Array, state: None) -> tuple[Array, None]:
        g = objective.grad(x)
        H = objective.hessian(x)
        if x.shape[-1] == 1:
            direction = g / (H[..., 0] + self.alpha)
        else:
            direction = _solve(H + self.alpha[..., None] * np.eye(x.shape[-1]), g)
        return x - self.lr * direction, state


def _solve(H: Array, g: Array) -> Array:
    """Solve ``H d = g`` for a batch; a singular system gives NaN for that run only."""
    H, g = np.broadcast_arrays(H, g[..., None])
    try:
        return np.linalg.solve(H, g)[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(g.shape[:-1], np.nan)
        for index in np.ndindex(g.shape[:-2]):
            try:
                out[index] = np.linalg.solve(H[index], g[index])[..., 0]
            except np.linalg.LinAlgError:
                pass
        return out


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (GradientDescent, Momentum, Nesterov, AdaGrad, RMSProp, Adam, Newton)
}


def make_optimizer(name: str, **hyperparameters: Any) -> Optimizer:
    """Build an optimizer by its short name, e.g. ``make_optimizer("adam", lr=0.1)``."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    return cls(**hyperparameters)
