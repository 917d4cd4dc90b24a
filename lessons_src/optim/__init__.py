r"""Every update rule of the course, one small class each, registered by name.

======================  ==========================================================
module                  optimizers
======================  ==========================================================
``base``                :class:`Optimizer`; :class:`GradientOptimizer` (``update(grad, x, state)``),
                        :class:`CurvatureOptimizer` (also the Hessian),
                        :class:`LineSearchOptimizer` (also the loss)
``first_order``         :class:`GradientDescent`, :class:`DecoupledGD`, :class:`MinibatchSGD`,
                        :class:`CoordinateDescent`
``momentum``            :class:`Momentum`, :class:`Nesterov`, :class:`TorchMomentum`
``adaptive``            :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`WriteBackAdam`,
                        :class:`AdamW`, :class:`NAdam`, :class:`Adamax`, :class:`Adadelta`,
                        :class:`RAdam`
``sign``                :class:`Lion`, :class:`Rprop`
``averaging``           :class:`ASGD`, :class:`ScheduleFreeSGD`, :class:`ScheduleFreeAdamW`
``matrix``              :class:`Adafactor`, :class:`Muon` (matrix parameters, shape ``(..., m, n)``)
``kronecker``           :class:`Shampoo`, :class:`SOAP` (Kronecker-factored, matrix parameters)
``decoupled``           :class:`NAdamW`, :class:`RAdamW` (PyTorch's ``decoupled_weight_decay=True``)
``step_size_free``      :class:`Prodigy`
``second_order``        :class:`Newton`
``quasi_newton``        :class:`ClosureOptimizer` (also a closure), :class:`LBFGS`
``line_search``         :class:`Armijo`
``wrappers``            :class:`Clip`, :class:`Projected`, :class:`Layerwise` (a rule per layer)
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
    RAdamState,
    RMSProp,
    SquaresState,
    WriteBackAdam,
    WriteBackState,
    bias_correction,
    debias,
    radam_rectification,
    radam_rho,
    radam_rho_inf,
)
from .averaging import (
    ASGD,
    ASGDState,
    ScheduleFreeAdamW,
    ScheduleFreeAdamWState,
    ScheduleFreeSGD,
    ScheduleFreeSGDState,
)
from .base import (
    OPTIMIZERS,
    CurvatureOptimizer,
    GradientOptimizer,
    LineSearchOptimizer,
    Optimizer,
    check_gradient,
    make_optimizer,
    validate_count,
    validate_decay,
    validate_guard,
    validate_number,
    validate_positive,
    validate_range,
    validate_step_size,
)
from .decoupled import NAdamW, RAdamW
from .first_order import (
    CoordinateDescent,
    DecoupledGD,
    GradientDescent,
    MinibatchSGD,
    SGDState,
    StepState,
    check_batch_size,
    check_finite_sum,
)
from .kronecker import SOAP, Shampoo, ShampooState, SOAPState, inverse_root
from .line_search import Armijo, ArmijoState, armijo_holds
from .matrix import Adafactor, AdafactorState, Muon, MuonState, check_matrix, newton_schulz
from .momentum import BufferState, Momentum, Nesterov, TorchMomentum, VelocityState
from .quasi_newton import LBFGS, ClosureOptimizer, LBFGSState
from .second_order import Newton, NewtonState, solve_batched
from .sign import Lion, LionState, Rprop, RpropState
from .step_size_free import Prodigy, ProdigyState
from .wrappers import Clip, Layerwise, LayerwiseState, Projected

__all__ = [
    "ASGD",
    "LBFGS",
    "OPTIMIZERS",
    "SOAP",
    "ASGDState",
    "AdaGrad",
    "Adadelta",
    "Adafactor",
    "AdafactorState",
    "Adam",
    "AdamState",
    "AdamW",
    "Adamax",
    "Armijo",
    "ArmijoState",
    "BufferState",
    "Clip",
    "ClosureOptimizer",
    "CoordinateDescent",
    "CurvatureOptimizer",
    "DecoupledGD",
    "GradientDescent",
    "GradientOptimizer",
    "LBFGSState",
    "Layerwise",
    "LayerwiseState",
    "LineSearchOptimizer",
    "Lion",
    "LionState",
    "MinibatchSGD",
    "Momentum",
    "Muon",
    "MuonState",
    "NAdam",
    "NAdamW",
    "Nesterov",
    "Newton",
    "NewtonState",
    "Optimizer",
    "Prodigy",
    "ProdigyState",
    "Projected",
    "RAdam",
    "RAdamState",
    "RAdamW",
    "RMSProp",
    "Rprop",
    "RpropState",
    "SGDState",
    "SOAPState",
    "ScheduleFreeAdamW",
    "ScheduleFreeAdamWState",
    "ScheduleFreeSGD",
    "ScheduleFreeSGDState",
    "Shampoo",
    "ShampooState",
    "SquaresState",
    "StepState",
    "TorchMomentum",
    "VelocityState",
    "WriteBackAdam",
    "WriteBackState",
    "armijo_holds",
    "bias_correction",
    "check_batch_size",
    "check_finite_sum",
    "check_gradient",
    "check_matrix",
    "debias",
    "inverse_root",
    "make_optimizer",
    "newton_schulz",
    "radam_rectification",
    "radam_rho",
    "radam_rho_inf",
    "solve_batched",
    "validate_count",
    "validate_decay",
    "validate_guard",
    "validate_number",
    "validate_positive",
    "validate_range",
    "validate_step_size",
]
