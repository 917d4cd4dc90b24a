r"""Closed-form results that the chapters prove, so notebooks and tests can check runs against them.

=====================  ===========================================================================
module                 results
=====================  ===========================================================================
``gradient_descent``   the multiplier :math:`1 - \eta\lambda`, rates, :math:`2/\lambda_{\max}`,
                       the best fixed step, Armijo's guaranteed step
``landscapes``         saddle escape times, ripple radius, powers of a matrix, random Hessians
``momentum``           iteration matrices of heavy ball and Nesterov, their roots, rates, limits
``adaptive``           step multipliers, moving averages from zero and their bias
``second_order``       the local quadratic model of Newton's method
=====================  ===========================================================================
"""

from .adaptive import (
    bias_factor,
    ema_from_zero,
    ema_weights,
    log10_writeback_factor,
    reddi_period_drift,
    step_multiplier,
    uncorrected_step_factor,
)
from .gradient_descent import (
    armijo_safe_step,
    best_gd_rate,
    best_gd_step,
    gd_multiplier,
    gd_rate,
    stability_threshold,
)
from .landscapes import (
    fraction_positive_definite,
    matrix_from_eigen,
    power_norms,
    random_symmetric,
    ripple_radius,
    saddle_escape_steps,
)
from .momentum import (
    critical_damping,
    heavy_ball_limit,
    heavy_ball_matrix,
    heavy_ball_rate,
    heavy_ball_roots,
    nesterov_limit,
    nesterov_matrix,
    nesterov_rate,
    nesterov_roots,
    optimal_heavy_ball,
    optimal_heavy_ball_rate,
    optimal_nesterov_rate,
)
from .second_order import quadratic_model

__all__ = [
    "armijo_safe_step",
    "best_gd_rate",
    "best_gd_step",
    "bias_factor",
    "critical_damping",
    "ema_from_zero",
    "ema_weights",
    "fraction_positive_definite",
    "gd_multiplier",
    "gd_rate",
    "heavy_ball_limit",
    "heavy_ball_matrix",
    "heavy_ball_rate",
    "heavy_ball_roots",
    "log10_writeback_factor",
    "matrix_from_eigen",
    "nesterov_limit",
    "nesterov_matrix",
    "nesterov_rate",
    "nesterov_roots",
    "optimal_heavy_ball",
    "optimal_heavy_ball_rate",
    "optimal_nesterov_rate",
    "power_norms",
    "quadratic_model",
    "random_symmetric",
    "reddi_period_drift",
    "ripple_radius",
    "saddle_escape_steps",
    "stability_threshold",
    "step_multiplier",
    "uncorrected_step_factor",
]
