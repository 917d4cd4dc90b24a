r"""Online problems: step :math:`t` sees its own loss :math:`f_t`.

:func:`lessons_src.runner.run_online` steps an optimizer on such a sequence. The values a run
records are those of the average loss the sequence estimates.
"""

from __future__ import annotations

from typing import Protocol

from .base import Objective
from .quadratics import LinearLoss


class OnlineProblem(Protocol):
    """A sequence of losses :math:`f_1, f_2, \\dots` and the average loss they estimate."""

    @property
    def average(self) -> Objective: ...

    def loss_at(self, t: int) -> Objective: ...


class ReddiProblem:
    r"""The online problem of Reddi, Kale & Kumar (2018, Theorem 1) on :math:`x \in [-1, 1]`:

    .. math::
        f_t(x) = \begin{cases} C x & t \equiv 1 \pmod 3, \\ -x & \text{otherwise,} \end{cases}
        \qquad C > 2.

    The average loss is :math:`\tfrac{C-2}{3}\,x`, minimised at :math:`x^* = -1`.
    """

    lo, hi = -1.0, 1.0

    def __init__(self, C: float = 3.0) -> None:
        if not C > 2:
            raise ValueError(f"C must be larger than 2, got {C}")
        self.C = float(C)
        self._big, self._small = LinearLoss(self.C), LinearLoss(-1.0)

    @property
    def average(self) -> Objective:
        return LinearLoss((self.C - 2) / 3)

    @property
    def minimizer(self) -> float:
        return self.lo

    @property
    def adam_beta2(self) -> float:
        r"""The paper's choice :math:`\beta_2 = 1/(1 + C^2)` (with :math:`\beta_1 = 0`)."""
        return 1 / (1 + self.C**2)

    def loss_at(self, t: int) -> Objective:
        return self._big if t % 3 == 1 else self._small

