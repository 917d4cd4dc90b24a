r"""Decoupled weight decay for the other adaptive rules: NAdam and RAdam as ``AdamW`` is to Adam.

PyTorch spells them ``NAdam(..., decoupled_weight_decay=True)`` and ``RAdam(...,
decoupled_weight_decay=True)``; here each is its own class, like :class:`~.adaptive.AdamW`.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from ..objectives.base import Array
from ..schedules import Schedule
from .adaptive import NAdam, RAdam
from .base import validate_range

__all__ = ["NAdamW", "RAdamW"]


class _ShrinkFirst:
    r"""Decoupled weight decay for a rule's ``update``: :math:`x \leftarrow (1 - \eta_t\lambda)\,x`,
    then the rule's own step from the plain gradient (mixed in before the rule's class)."""

    weight_decay: Array

    def update(self, grad: Array, x: Array, state):  # type: ignore[no-untyped-def]
        decayed = x * (1 - self.step_size(state.count) * self.weight_decay)  # type: ignore[attr-defined]
        return super().update(grad, decayed, state)  # type: ignore[misc]


class NAdamW(_ShrinkFirst, NAdam):
    r"""NAdam with decoupled weight decay (Loshchilov and Hutter, 2019; Dozat, 2016), PyTorch's
    ``NAdam(decoupled_weight_decay=True)``: the point shrinks first, then takes NAdam's step
    (:class:`~.adaptive.NAdam`) computed from the plain gradient :math:`g_t`,

    .. math::
        x_t = (1 - \eta\lambda)\, x_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{v_t/(1-\beta_2^t)}
        + \varepsilon}.

    Defaults: ``lr=0.002``, ``beta1=0.9``, ``beta2=0.999``, ``eps=1e-8``, ``weight_decay=0.01``
    (:math:`\lambda`; as in ``AdamW``: PyTorch's NAdam defaults to 0, which is plain NAdam),
    ``momentum_decay=4e-3``.

    >>> from lessons_src import NAdamW, Parabola, run
    >>> run(Parabola(1, -2, 1), NAdamW(lr=0.1, weight_decay=0.1), x0=5.0, steps=300).final
    array([0.92916515])
    """

    name = "nadamw"

    def __init__(self, lr: ArrayLike | Schedule = 0.002, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
                 weight_decay: ArrayLike = 0.01, momentum_decay: ArrayLike = 4e-3) -> None:
        super().__init__(lr, beta1, beta2, eps, momentum_decay)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)


class RAdamW(_ShrinkFirst, RAdam):
    r"""RAdam with decoupled weight decay (Loshchilov and Hutter, 2019; Liu et al., 2020),
    PyTorch's ``RAdam(decoupled_weight_decay=True)``: the point shrinks first, then takes
    RAdam's rectified step (:class:`~.adaptive.RAdam`) computed from the plain gradient,

    .. math::
        x_t = (1 - \eta\lambda)\, x_{t-1} - \eta\,\hat m_t \cdot
        \begin{cases} r_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \varepsilon} & \rho_t > 5,\\
        1 & \text{otherwise.}\end{cases}

    Defaults: ``lr=0.001``, ``beta1=0.9``, ``beta2=0.999``, ``eps=1e-8``, ``weight_decay=0.01``
    (:math:`\lambda`; PyTorch's RAdam defaults to 0, which is plain RAdam).

    >>> from lessons_src import Parabola, RAdamW, run
    >>> run(Parabola(1, -2, 1), RAdamW(lr=0.1, weight_decay=0.1), x0=5.0, steps=300).final
    array([0.90832989])
    """

    name = "radamw"

    def __init__(self, lr: ArrayLike | Schedule = 0.001, beta1: ArrayLike = 0.9,
                 beta2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
                 weight_decay: ArrayLike = 0.01) -> None:
        super().__init__(lr, beta1, beta2, eps)
        self.weight_decay = validate_range("weight_decay", weight_decay, low=0.0)
