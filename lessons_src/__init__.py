"""lessons_src: the optimizer package behind the Descent course.

Data flows one way: objectives -> optimizers -> runner -> analysis and theory -> plots and sliders.

==================  ==============================================================================
where               what
==================  ==============================================================================
``objectives/``     functions to minimise, with exact gradients and Hessians
``optim/``          every update rule, one class each, registered by name
``schedules``       step sizes that change with the step count (the one schedule mechanism)
``runner``          ``run``: the loop, the whole trajectory and, on request, the optimizer states
``analysis``        measuring runs: first step below a tolerance, rates, widths, u-turns
``curvature``       the sharpness (top Hessian eigenvalue) by power iteration on Hessian-vector products
``theory/``         the closed forms the chapters prove: thresholds, rates, bias factors
``viz/``            plots, sliders that work live and on the static site, the race animation
``notebook``        ``glue``: a computed number into the prose
==================  ==============================================================================

>>> from lessons_src import Parabola, GradientDescent, run
>>> run(Parabola(1, -2, 1), GradientDescent(lr=0.1), x0=5.0, steps=20).final
array([1.04611686])

Pictures and widgets load when first used: ``import lessons_src`` does not import matplotlib's
pyplot or ipywidgets; ``lessons_src.viz``, ``plots``, ``Slider`` and ``interact`` are imported on
first access (a module-level ``__getattr__``), so a script that only runs optimizers starts fast.
"""

from __future__ import annotations

from typing import Any

from . import analysis, curvature, objectives, optim, schedules, theory, viz  # viz: cheap, see below
from .analysis import first_below, first_true
from .curvature import preconditioned_sharpness, sharpness, sharpness_along
from .objectives import (
    Cliff,
    DoubleWell,
    LeastSquares,
    Objective,
    Parabola,
    Quadratic1D,
    QuadraticND,
    Rosenbrock,
    Saddle,
    SigmoidNeuron,
    Wiggly,
)
from .optim import (
    ASGD,
    LBFGS,
    OPTIMIZERS,
    SOAP,
    Adadelta,
    Adafactor,
    AdaGrad,
    Adam,
    Adamax,
    AdamW,
    Armijo,
    Clip,
    CoordinateDescent,
    GradientDescent,
    Layerwise,
    Lion,
    MinibatchSGD,
    Momentum,
    Muon,
    NAdam,
    NAdamW,
    Nesterov,
    Newton,
    Optimizer,
    Prodigy,
    Projected,
    RAdam,
    RAdamW,
    RMSProp,
    Rprop,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
    Shampoo,
    TorchMomentum,
    WriteBackAdam,
    make_optimizer,
)
from .runner import Trajectory, continuation, is_diverged, run, run_online
from .schedules import Schedule

#: Public names that live in ``viz``. Importing ``viz`` is cheap: it loads its submodules
#: (pyplot, ipywidgets) only when one is first used.
_FROM_VIZ = ("plots", "Slider", "interact")


def __getattr__(name: str) -> Any:
    """A picture or widget name (``plots``, ``Slider``, ``interact``), from ``viz``, when first used."""
    if name not in _FROM_VIZ:
        raise AttributeError(f"module 'lessons_src' has no attribute {name!r}")
    value = getattr(viz, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ASGD",
    "LBFGS",
    "OPTIMIZERS",
    "SOAP",
    "AdaGrad",
    "Adadelta",
    "Adafactor",
    "Adam",
    "AdamW",
    "Adamax",
    "Armijo",
    "Cliff",
    "Clip",
    "CoordinateDescent",
    "DoubleWell",
    "GradientDescent",
    "Layerwise",
    "LeastSquares",
    "Lion",
    "MinibatchSGD",
    "Momentum",
    "Muon",
    "NAdam",
    "NAdamW",
    "Nesterov",
    "Newton",
    "Objective",
    "Optimizer",
    "Parabola",
    "Prodigy",
    "Projected",
    "Quadratic1D",
    "QuadraticND",
    "RAdam",
    "RAdamW",
    "RMSProp",
    "Rosenbrock",
    "Rprop",
    "Saddle",
    "Schedule",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
    "Shampoo",
    "SigmoidNeuron",
    "Slider",
    "TorchMomentum",
    "Trajectory",
    "Wiggly",
    "WriteBackAdam",
    "analysis",
    "continuation",
    "curvature",
    "first_below",
    "first_true",
    "interact",
    "is_diverged",
    "make_optimizer",
    "objectives",
    "optim",
    "plots",
    "preconditioned_sharpness",
    "run",
    "run_online",
    "schedules",
    "sharpness",
    "sharpness_along",
    "theory",
    "viz",
]
