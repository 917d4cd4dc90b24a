r"""The validators: every check of a hyperparameter in one place, each error naming the argument.

Optimizers (:mod:`lessons_src.optim.base` re-exports these), objectives and the mini-batch
stream validate their arguments here. Numbers come back as float arrays with a trailing axis, so
an array of values (a sweep) broadcasts over coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


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


def validate_max_norm(max_norm: ArrayLike) -> Array:
    """Check a clipping threshold (positive; ``np.inf``: no clipping); add a trailing axis."""
    if isinstance(max_norm, bool | str | bytes):
        raise ValueError(f"max_norm must be a positive number (np.inf for no clipping), got {max_norm!r}")
    array = np.asarray(max_norm, dtype=float)
    if np.any(np.isnan(array)) or np.any(array <= 0):
        bad = float(array[np.isnan(array) | (array <= 0)].flat[0])
        raise ValueError(f"max_norm must be positive (np.inf for no clipping), got {bad:g}")
    return array[..., None]
