r"""Every update rule of the course, one small class each, registered by name.

======================  ==========================================================
module                  optimizers
======================  ==========================================================
``first_order``         :class:`GradientDescent`, :class:`MinibatchSGD`, :class:`CoordinateDescent`
``momentum``            :class:`Momentum`, :class:`Nesterov`, :class:`TorchMomentum`
``adaptive``            :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`WriteBackAdam`,
                        :class:`AdamW`, :class:`NAdam`, :class:`Adamax`, :class:`Adadelta`,
                        :class:`RAdam`
``sign``                :class:`Lion`
``second_order``        :class:`Newton`
``line_search``         :class:`Armijo`
``wrappers``            :class:`Clip`, :class:`Projected`
======================  ==========================================================

``OPTIMIZERS`` maps each short name to its class; ``make_optimizer("adam", lr=0.1)`` builds one.
"""

from .adaptive import (
    Adadelta,
    AdaGrad,
    Adam,
    Adamax,
    AdamState,
    AdamW,
    NAdam,
    RAdam,
    RMSProp,
    SquaresState,
    WriteBackAdam,
    WriteBackState,
    debias,
)
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
from .sign import Lion, LionState
from .wrappers import Clip, Projected

__all__ = [
    "OPTIMIZERS",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "AdamState",
    "AdamW",
    "Adamax",
    "Armijo",
    "ArmijoState",
    "BufferState",
    "Clip",
    "CoordinateDescent",
    "GradientDescent",
    "Lion",
    "LionState",
    "MinibatchSGD",
    "Momentum",
    "NAdam",
    "Nesterov",
    "Newton",
    "NewtonState",
    "Optimizer",
    "Projected",
    "RAdam",
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
