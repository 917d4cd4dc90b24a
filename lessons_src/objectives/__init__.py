r"""Functions to minimise, each knowing its value, gradient and Hessian on batches of points.

==============  ==================================================================================
module          objectives
==============  ==================================================================================
``base``        :class:`Objective` (the interface), :class:`FiniteSum`, :func:`as_points`
``quadratics``  :class:`Parabola`, :class:`QuadraticND`, :class:`LinearLoss`
``landscapes``  :class:`Wiggly` (and :class:`SmoothedWiggly`), :class:`Rosenbrock`,
                :class:`Saddle`, :class:`DoubleWell`, :class:`Cliff`, :class:`GentleSlope`
``models``      :class:`SigmoidNeuron`, :class:`LeastSquares`, and the data they are fitted to
``online``      :class:`ReddiProblem`: a different loss at every step
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
from .models import (
    LeastSquares,
    SigmoidNeuron,
    batch_normalize,
    logit,
    make_line_data,
    sigmoid,
    sparse_feature_data,
)
from .online import OnlineProblem, ReddiProblem
from .quadratics import LinearLoss, Parabola, Quadratic1D, QuadraticND
from .wrappers import ClippedGradient, Scaled, ValueClipped, clip_by_norm, validate_max_norm

__all__ = [
    "Array",
    "Cliff",
    "ClippedGradient",
    "DoubleWell",
    "FiniteSum",
    "GentleSlope",
    "LeastSquares",
    "LinearLoss",
    "Objective",
    "OnlineProblem",
    "Parabola",
    "Quadratic1D",
    "QuadraticND",
    "ReddiProblem",
    "Rosenbrock",
    "Saddle",
    "Scaled",
    "SigmoidNeuron",
    "SmoothedWiggly",
    "ValueClipped",
    "Wiggly",
    "as_points",
    "batch_normalize",
    "clip_by_norm",
    "logit",
    "make_line_data",
    "monte_carlo_smoothing",
    "sigmoid",
    "sparse_feature_data",
    "validate_max_norm",
    "wiggly_smoothing",
]
