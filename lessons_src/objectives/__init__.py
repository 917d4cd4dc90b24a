r"""Functions to minimise, each knowing its value, gradient and Hessian on batches of points.

==============  ==================================================================================
module          objectives
==============  ==================================================================================
``base``        :class:`Objective` (the interface), :class:`FiniteSum`, :func:`as_points`
``quadratics``  :class:`Parabola`, :class:`QuadraticND`, :class:`LinearLoss`
``landscapes``  :class:`Wiggly` (and :class:`SmoothedWiggly`), :class:`Rosenbrock`,
                :class:`Saddle`, :class:`DoubleWell`, :class:`Cliff`, :class:`GentleSlope`
``models``      :class:`SigmoidNeuron`, :class:`LeastSquares`, and the data they are fitted to
``networks``    :class:`SoftmaxRegression`, :class:`MLP` on the handwritten digits (:func:`load_digits`)
``online``      :class:`ReddiProblem`: a different loss at every step
``minibatch``   :class:`Minibatches`: the seeded stream of batch gradients of a finite sum;
                :class:`BatchLoss`, one batch's loss
``wrappers``    :class:`Scaled`, :class:`ClippedGradient`, :class:`ValueClipped`
==============  ==================================================================================
"""

from .base import Array, FiniteSum, Objective, as_points
from .landscapes import (
    Cliff,
    DoubleWell,
    GentleSlope,
    Rosenbrock,
    Saddle,
    SmoothedWiggly,
    Wiggly,
    monte_carlo_smoothing,
    wiggly_smoothing,
)
from .minibatch import BatchLoss, Minibatches, SamplerState
from .models import (
    LeastSquares,
    SigmoidNeuron,
    batch_normalize,
    logit,
    make_line_data,
    sigmoid,
    sparse_feature_data,
)
from .networks import MLP, Digits, DigitsRace, SoftmaxRegression, digits_race, load_digits, split
from .online import OnlineProblem, ReddiProblem
from .quadratics import LinearLoss, Parabola, Quadratic1D, QuadraticND
from .wrappers import ClippedGradient, Scaled, ValueClipped, clip_by_norm, validate_max_norm

__all__ = [
    "MLP",
    "Array",
    "BatchLoss",
    "Cliff",
    "ClippedGradient",
    "Digits",
    "DigitsRace",
    "DoubleWell",
    "FiniteSum",
    "GentleSlope",
    "LeastSquares",
    "LinearLoss",
    "Minibatches",
    "Objective",
    "OnlineProblem",
    "Parabola",
    "Quadratic1D",
    "QuadraticND",
    "ReddiProblem",
    "Rosenbrock",
    "Saddle",
    "SamplerState",
    "Scaled",
    "SigmoidNeuron",
    "SmoothedWiggly",
    "SoftmaxRegression",
    "ValueClipped",
    "Wiggly",
    "as_points",
    "batch_normalize",
    "clip_by_norm",
    "digits_race",
    "load_digits",
    "logit",
    "make_line_data",
    "monte_carlo_smoothing",
    "sigmoid",
    "sparse_feature_data",
    "split",
    "validate_max_norm",
    "wiggly_smoothing",
]
