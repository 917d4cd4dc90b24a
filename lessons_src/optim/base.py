r"""What every optimizer shares: the :class:`Optimizer` interface, the registry, the validators.

An optimizer is a pair of pure functions, in the style of optax:

* ``init(x) -> state`` builds the optimizer's memory for the points ``x`` (shape ``(..., d)``);
* ``step(objective, x, state) -> (x_next, state_next)`` applies the update rule once.

The state is a small named tuple you can print; its first field is ``count``, the number of steps
taken so far, which a step-size schedule reads. Hyperparameters may be numbers or arrays: an array
of 48 learning rates makes a batch of 48 runs that step together in one array computation. A step
size may also be a schedule :math:`t \mapsto \eta_t` (:mod:`lessons_src.schedules`).

Every concrete subclass with a ``name`` registers itself when it is defined, so
``make_optimizer(name, ...)`` finds it and the conformance tests run on it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from ..schedules import Schedule

#: Every optimizer class by its short name, filled as the classes are defined.
OPTIMIZERS: dict[str, type[Optimizer]] = {}


def validate_range(name: str, value: ArrayLike, *, low: float, high: float = np.inf,
                   low_open: bool = False) -> Array:
    """Check a hyperparameter lies in ``[low, high)`` (``(low, high)`` with ``low_open``).

    Returns it as a float array with a trailing axis, so it broadcasts over coordinates. The error
    names the argument and the offending value.
    """
    if isinstance(value, bool | str | bytes) or callable(value):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    lo_ok = array > low if low_open else array >= low
    ok = np.isfinite(array) & lo_ok & (array < high)
    if not np.all(ok):
        bad = float(array[~ok].flat[0])
        if high == np.inf:
            wanted = "positive and finite" if low_open else f"finite and at least {low:g}"
        else:
            wanted = f"in ({low:g}, {high:g})" if low_open else f"in [{low:g}, {high:g})"
        raise ValueError(f"{name} must be {wanted}, got {bad:g}")
    return array[..., None]


def validate_positive(name: str, value: ArrayLike) -> Array:
    """A positive, finite hyperparameter (number or array)."""
    return validate_range(name, value, low=0.0, low_open=True)


def validate_decay(name: str, value: ArrayLike) -> Array:
    """A decay rate or momentum coefficient in :math:`[0, 1)`."""
    return validate_range(name, value, low=0.0, high=1.0)


def validate_guard(value: ArrayLike, name: str = "eps") -> Array:
    r"""The small guard :math:`\varepsilon \ge 0` of a division.

    :math:`\varepsilon = 0` is allowed (the textbook rule, as in PyTorch); a zero gradient then
    gives 0/0 and the runner flags the run as diverged rather than carrying a silent NaN.
    """
    return validate_range(name, value, low=0.0)


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


def validate_number(name: str, value: Any) -> float:
    """One finite real number (not an array, not a string)."""
    if isinstance(value, bool | str | bytes) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be one finite number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one finite number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be one finite number, got {value!r}")
    return number


def validate_count(name: str, value: Any, *, low: int = 0) -> int:
    """A whole number at least ``low`` (a step count, a batch size)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float) \
            or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, got {value!r}")
    return int(value)


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
