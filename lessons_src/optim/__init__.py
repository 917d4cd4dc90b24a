r"""Every update rule of the course, one small class each, registered by name.

======================  ==========================================================
module                  optimizers
======================  ==========================================================
``first_order``         :class:`GradientDescent`, :class:`MinibatchSGD`, :class:`CoordinateDescent`
``momentum``            :class:`Momentum`, :class:`Nesterov`, :class:`TorchMomentum`
``adaptive``            :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`WriteBackAdam`
``second_order``        :class:`Newton`
``line_search``         :class:`Armijo`
``wrappers``            :class:`Clip`, :class:`Projected`
======================  ==========================================================

``OPTIMIZERS`` maps each short name to its class; ``make_optimizer("adam", lr=0.1)`` builds one.
"""

from .adaptive import AdaGrad, Adam, AdamState, RMSProp, SquaresState, WriteBackAdam, WriteBackState, debias
from .base import (
    OPTIMIZERS,
    Optimizer,
    make_optimizer,
    validate_count,
    validate_decay,
    validate_guard,
    validate_number,
    validate_positive,
    validate_range,
    validate_step_size,
)
from .first_order import (
    CoordinateDescent,
    GradientDescent,
    MinibatchSGD,
    SGDState,
    StepState,
    check_batch_size,
    check_finite_sum,
)
from .line_search import Armijo, ArmijoState, armijo_holds
from .momentum import BufferState, Momentum, Nesterov, TorchMomentum, VelocityState
from .second_order import Newton, NewtonState, solve_batched
from .wrappers import Clip, Projected

__all__ = [
    "OPTIMIZERS",
    "AdaGrad",
    "Adam",
    "AdamState",
    "Armijo",
    "ArmijoState",
    "BufferState",
    "Clip",
    "CoordinateDescent",
    "GradientDescent",
    "MinibatchSGD",
    "Momentum",
    "Nesterov",
    "Newton",
    "NewtonState",
    "Optimizer",
    "Projected",
    "RMSProp",
    "SGDState",
    "SquaresState",
    "StepState",
    "TorchMomentum",
    "VelocityState",
    "WriteBackAdam",
    "WriteBackState",
    "armijo_holds",
    "check_batch_size",
    "check_finite_sum",
    "debias",
    "make_optimizer",
    "solve_batched",
    "validate_count",
    "validate_decay",
    "validate_guard",
    "validate_number",
    "validate_positive",
    "validate_range",
    "validate_step_size",
]
