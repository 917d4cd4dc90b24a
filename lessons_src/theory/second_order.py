r"""The local model behind Newton's method."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective, as_points


def quadratic_model(objective: Objective, at: ArrayLike, x: ArrayLike, alpha: float = 0.0) -> Array:
    r"""The local model that a (regularised) Newton step minimises, for a 1-D objective:

    .. math::
        m(x) = f(x_k) + f'(x_k)(x - x_k) + \tfrac12\bigl(f''(x_k) + \alpha\bigr)(x - x_k)^2 .

    ``at`` is the point :math:`x_k`; ``x`` is an array of numbers, and the result has its shape.
    """
    if objective.dim != 1:
        raise ValueError("quadratic_model draws 1-D objectives only")
    xk = as_points(at, 1).reshape(1)
    d = np.asarray(x, dtype=float) - xk[0]
    g, h = objective.grad(xk)[0], objective.hessian(xk)[0, 0]
    return objective.value(xk)[()] + g * d + 0.5 * (h + alpha) * d**2

