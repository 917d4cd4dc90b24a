r"""What every optimizer shares: the :class:`Optimizer` interface, the registry, the validators.

An optimizer is a pair of pure functions, in the style of optax:

* ``init(x) -> state`` builds the optimizer's memory for the points ``x`` (shape ``(..., d)``);
* ``update(grad, x, state) -> (x_next, state_next)`` applies the update rule once to the gradient
  the caller computed (:class:`GradientOptimizer`: every first-order rule);
* ``step(objective, x, state) -> (x_next, state_next)`` is the convenience that computes the
  gradient itself and calls ``update``; :func:`~lessons_src.runner.run` uses it.

A rule that needs more than the gradient says so in its type: :class:`CurvatureOptimizer`
(Newton's method) takes the Hessian too, :class:`LineSearchOptimizer` (Armijo) a function that
evaluates the loss. States are immutable values: named tuples of numbers and arrays that no step
modifies, with no field that aliases another, and randomness only as a key in the state.

The state is a small named tuple you can print; its first field is ``count``, the number of steps
taken so far, which a step-size schedule reads. Hyperparameters may be numbers or arrays: an array
of 48 learning rates makes a batch of 48 runs that step together in one array computation. A step
size may also be a schedule :math:`t \mapsto \eta_t` (:mod:`lessons_src.schedules`).

Every concrete subclass with a ``name`` registers itself when it is defined, so
``make_optimizer(name, ...)`` finds it and the conformance tests run on it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..schedules import Schedule
from ..validation import (
    validate_count,
    validate_decay,
    validate_guard,
    validate_number,
    validate_positive,
    validate_range,
)

__all__ = [
    "OPTIMIZERS",
    "CurvatureOptimizer",
    "GradientOptimizer",
    "LineSearchOptimizer",
    "Optimizer",
    "check_gradient",
    "make_optimizer",
    "validate_count",
    "validate_decay",
    "validate_guard",
    "validate_number",
    "validate_positive",
    "validate_range",
    "validate_step_size",
]

#: Every optimizer class by its short name, filled as the classes are defined.
OPTIMIZERS: dict[str, type[Optimizer]] = {}


def validate_step_size(name: str, value: ArrayLike | Schedule) -> Array | Schedule:
    """A step size: a positive number, an array of them (a sweep), or a :class:`Schedule`."""
    if isinstance(value, Schedule):
        return value
    if callable(value):
        raise ValueError(
            f"{name} must be a number, an array or a lessons_src.schedules.Schedule, got "
            f"{value!r}; wrap a plain function t -> η with Schedule(function)"
        )
    return validate_positive(name, value)


class Optimizer(ABC):
    r"""An update rule :math:`x_{k+1} = x_k + \Delta(x_k, \text{state}_k)`."""

    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return
        if name in OPTIMIZERS and OPTIMIZERS[name] is not cls:
            raise TypeError(f"two optimizers are named {name!r}: {OPTIMIZERS[name].__name__} "
                            f"and {cls.__name__}")
        OPTIMIZERS[name] = cls

    @abstractmethod
    def init(self, x: Array) -> Any:
        """The optimizer's state before the first step."""

    @abstractmethod
    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """One update: the next points and the next state."""

    def step_size(self, count: int, name: str = "lr") -> Array:
        r""":math:`\eta_t` for the step that follows ``count`` steps: the hyperparameter ``name``
        itself, or its schedule evaluated at ``count``, shape ``(..., 1)``."""
        value = getattr(self, name)
        return value.at(count, name) if isinstance(value, Schedule) else value

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of runs that the array-valued hyperparameters describe."""
        shapes = []
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                shapes.append(value.shape[:-1])
            elif isinstance(value, Schedule | Optimizer):
                shapes.append(value.batch_shape)
        return np.broadcast_shapes(*shapes) if shapes else ()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={_short(v)}" for k, v in vars(self).items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({fields})"


def check_gradient(grad: ArrayLike, x: Array, name: str = "grad") -> Array:
    """``grad`` as a float array, refused unless it fits ``x``: the same number of coordinates,
    and batch axes that broadcast against those of ``x``. The error names the argument."""
    if type(grad) is np.ndarray and type(x) is np.ndarray and grad.shape == x.shape:
        return grad  # the common case, checked cheaply: a sweep calls this once a step
    g = np.asarray(grad, dtype=float)
    x_shape = np.shape(x)
    fits = g.ndim >= 1 and len(x_shape) >= 1 and g.shape[-1] == x_shape[-1]
    if fits:
        try:
            np.broadcast_shapes(g.shape, x_shape)
        except ValueError:
            fits = False
    if not fits:
        raise ValueError(f"{name} must have the shape of x, {x_shape}, got shape {g.shape}")
    return g


class GradientOptimizer(Optimizer):
    r"""A first-order rule: its step depends on the points, the state and one gradient.

    Subclasses define ``update(grad, x, state)``; the base class checks the gradient's shape
    first (:func:`check_gradient`) and provides ``step``, which computes the gradient at
    :meth:`grad_point` (``x`` itself, or Nesterov's look-ahead) and calls ``update``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "update" in cls.__dict__:
            cls.update = _checking(cls.__dict__["update"])

    @abstractmethod
    def update(self, grad: Array, x: Array, state: Any) -> tuple[Array, Any]:
        """One update with the gradient ``grad`` taken at :meth:`grad_point`."""

    def grad_point(self, x: Array, state: Any) -> Array:
        """Where ``update`` wants its gradient evaluated: ``x`` (look-ahead rules override)."""
        return x

    def gradient(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """The gradient ``update`` takes, and the state after asking for it (a sampler may move)."""
        return objective.grad(self.grad_point(x, state)), state

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """``update`` with the gradient of ``objective``."""
        g, state = self.gradient(objective, x, state)
        return self.update(g, x, state)


def _checking(update: Callable[..., tuple[Array, Any]]) -> Callable[..., tuple[Array, Any]]:
    @wraps(update)
    def checked(self: GradientOptimizer, grad: ArrayLike, x: Array, state: Any):
        return update(self, check_gradient(grad, x), x, state)

    checked.__wrapped_update__ = update  # type: ignore[attr-defined]
    return checked


class CurvatureOptimizer(Optimizer):
    r"""A second-order rule: ``update(grad, hessian, x, state)`` also takes
    :math:`\nabla^2 f(x)`, shape ``(..., d, d)``."""

    @abstractmethod
    def update(self, grad: Array, hessian: Array, x: Array, state: Any) -> tuple[Array, Any]:
        """One update with the gradient and the Hessian at ``x``."""

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """``update`` with the gradient and Hessian of ``objective`` at ``x``."""
        return self.update(objective.grad(x), objective.hessian(x), x, state)


class LineSearchOptimizer(Optimizer):
    r"""A rule that tries steps: ``update(grad, x, state, value)`` also takes ``value``, a
    function that returns :math:`f` at a batch of points (each call counts as an evaluation)."""

    @abstractmethod
    def update(self, grad: Array, x: Array, state: Any,
               value: Callable[[Array], Array]) -> tuple[Array, Any]:
        """One update with the gradient at ``x`` and the loss ``value``."""

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """``update`` with the gradient and values of ``objective``."""
        return self.update(objective.grad(x), x, state, objective.value)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        return f"{flat[0]:g}" if flat.size == 1 else f"array of {flat.size}"
    return repr(value)


def make_optimizer(name: str, **hyperparameters: Any) -> Optimizer:
    """Build a registered optimizer by its short name, e.g. ``make_optimizer("adam", lr=0.1)``."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(sorted(OPTIMIZERS))}"
        ) from None
    return cls(**hyperparameters)
