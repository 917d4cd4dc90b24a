"""lessons_src: the optimizer package behind the Descent course.

Data flows one way: objectives -> optimizers -> runner -> plots and sliders.

>>> from lessons_src import Quadratic1D, GradientDescent, run
>>> run(Quadratic1D(1, -2, 1), GradientDescent(lr=0.1), x0=5.0, steps=20).final
array([1.04611686])
"""

from .objectives import Objective, Quadratic1D, QuadraticND, Rosenbrock, Saddle, Wiggly
from .optimizers import (
    OPTIMIZERS,
    AdaGrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    Newton,
    Optimizer,
    RMSProp,
    make_optimizer,
)
from .runner import Trajectory, run
from .sliders import Slider, interact

__all__ = [
    "OPTIMIZERS",
    "AdaGrad",
    "Adam",
    "GradientDescent",
    "Momentum",
    "Nesterov",
    "Newton",
    "Objective",
    "Optimizer",
    "Quadratic1D",
    "QuadraticND",
    "RMSProp",
    "Rosenbrock",
    "Saddle",
    "Slider",
    "Trajectory",
    "Wiggly",
    "interact",
    "make_optimizer",
    "run",
]
