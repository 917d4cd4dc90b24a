"""Property-based tests (hypothesis) of the optimizers and the runner.

Each property runs ``EXAMPLES`` random examples (set explicitly so the count can be reported).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons_src import (
    AdaGrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    Newton,
    Quadratic1D,
    QuadraticND,
    RMSProp,
    Rosenbrock,
    Saddle,
    Wiggly,
    run,
)
from lessons_src.runner import DIVERGENCE_BOUND, DIVERGENCE_RISE

EXAMPLES = 200
STEPS = 200
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------------------------------------
# Strategies.
# ---------------------------------------------------------------------------------------------

finite_coordinates = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def spd_quadratics(draw, rotated: bool = True) -> QuadraticND:
    """½xᵀAx − bᵀx in 2-D or 3-D with eigenvalues in [1e-2, 1e2] and random eigenvectors
    (the coordinate axes when ``rotated`` is False)."""
    dim = draw(st.sampled_from([2, 3]))
    eigenvalues = 10.0 ** np.array(draw(st.lists(st.floats(-2, 2), min_size=dim, max_size=dim)))
    if rotated:
        seed = draw(st.integers(0, 2**32 - 1))
        q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    else:
        q = np.eye(dim)
    A = (q * eigenvalues) @ q.T
    A = (A + A.T) / 2
    minimizer = np.array(draw(st.lists(st.floats(-10, 10), min_size=dim, max_size=dim)))
    return QuadraticND(A, A @ minimizer)


def elementwise_objectives():
    """Objectives whose gradient is computed coordinate by coordinate (no matrix product), so a
    batch of points is evaluated bit for bit like each point alone."""
    curvature = st.floats(-2, 2).map(lambda u: 10.0**u)
    return st.one_of(
        st.builds(Quadratic1D, curvature, st.floats(-10, 10), st.floats(-10, 10)),
        spd_quadratics(rotated=False),
        st.builds(Rosenbrock, st.floats(-2, 2), st.floats(0.1, 100)),
        st.builds(Saddle, curvature, curvature),
        st.just(Wiggly()),
    )


def starts(dim: int):
    return st.lists(finite_coordinates, min_size=dim, max_size=dim).map(np.array)


learning_rates = st.floats(-4, 1).map(lambda u: 10.0**u)  # log-uniform in [1e-4, 10]
decays = st.floats(0.0, 1.0, exclude_max=True)  # β, ρ, β1, β2 ∈ [0, 1)
guards = st.one_of(st.just(0.0), st.floats(1e-12, 1e-2))  # ε ≥ 0
dampings = st.floats(0.0, 10.0)  # Newton's α ≥ 0

#: For each optimizer: its class, the strategy of each hyperparameter, and fixed flags.
SPACES = {
    "gd": (GradientDescent, {"lr": learning_rates}),
    "momentum": (Momentum, {"lr": learning_rates, "beta": decays}),
    "nesterov": (Nesterov, {"lr": learning_rates, "beta": decays}),
    "adagrad": (AdaGrad, {"lr": learning_rates, "eps": guards}),
    "rmsprop": (RMSProp, {"lr": learning_rates, "rho": decays, "eps": guards}),
    "adam": (Adam, {"lr": learning_rates, "beta1": decays, "beta2": decays, "eps": guards}),
    "newton": (Newton, {"lr": learning_rates, "alpha": dampings}),
}
LINEAR = ["gd", "momentum", "nesterov", "newton"]  # updates that are affine in x on a quadratic


@st.composite
def sweeps(draw, names=tuple(SPACES)):
    """An optimizer with some hyperparameters swept over ``n`` values, and a factory that builds
    the optimizer of run ``i`` alone (``i=None``: the whole sweep)."""
    name = draw(st.sampled_from(list(names)))
    cls, space = SPACES[name]
    n = draw(st.integers(1, 4))
    values = {}
    for param, strategy in space.items():
        swept = param == "lr" or draw(st.booleans())
        values[param] = (
            draw(st.lists(strategy, min_size=n, max_size=n)) if swept else draw(strategy)
        )
    flags = {}
    if name == "adam":
        flags = {"bias_correction": draw(st.booleans()), "amsgrad": draw(st.booleans())}
    if name == "momentum":
        flags = {"velocity0": draw(st.floats(-10, 10))}

    def build(i=None):
        chosen = {
            p: (v if not isinstance(v, list) else (np.array(v) if i is None else v[i]))
            for p, v in values.items()
        }
        return cls(**chosen, **flags)

    return n, build


# ---------------------------------------------------------------------------------------------
# No silent NaN.
# ---------------------------------------------------------------------------------------------


def assert_no_silent_nan(trajectory, steps: int) -> None:
    """Every run is either finite and within the bound throughout, or flagged as diverged at a
    step k ≥ 1 with finite points before k and only NaN from k on, or finite throughout and
    flagged at its last step because it ended far above its start (is_diverged)."""
    points = trajectory.points.reshape(steps + 1, -1, trajectory.points.shape[-1])
    diverged = np.asarray(trajectory.diverged).reshape(-1)
    diverged_at = np.asarray(trajectory.diverged_at).reshape(-1)
    values = np.asarray(trajectory.values).reshape(steps + 1, -1)
    for r in range(points.shape[1]):
        overflowed = bool(np.isnan(points[-1, r]).any())
        k = diverged_at[r] if overflowed else steps + 1
        if diverged[r] and overflowed:
            assert 1 <= k <= steps
            assert np.all(np.isnan(points[k:, r]))
        elif diverged[r]:  # finite, but far above the start
            assert diverged_at[r] == steps
            assert values[-1, r] > values[0, r] + DIVERGENCE_RISE * (abs(values[0, r]) + 1)
        else:
            assert diverged_at[r] == -1
            assert not overflowed
        assert np.all(np.isfinite(points[:k, r]))
        assert np.all(np.abs(points[:k, r]) <= DIVERGENCE_BOUND)


@SETTINGS
@given(data=st.data(), objective=spd_quadratics(), sweep=sweeps())
def test_spd_quadratic_runs_are_finite_or_flagged(data, objective, sweep):
    """Random SPD quadratic, optimizer and hyperparameters, 200 steps: no silent NaN, and no
    numpy warning escapes the runner."""
    _, build = sweep
    x0 = data.draw(starts(objective.dim))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trajectory = run(objective, build(), x0, STEPS)
    assert_no_silent_nan(trajectory, STEPS)


@SETTINGS
@given(data=st.data(), objective=elementwise_objectives(), sweep=sweeps())
def test_other_objective_runs_are_finite_or_flagged(data, objective, sweep):
    """The same on parabolas, Rosenbrock valleys, saddles and the wiggly function."""
    _, build = sweep
    x0 = data.draw(starts(objective.dim))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trajectory = run(objective, build(), x0, STEPS)
    assert_no_silent_nan(trajectory, STEPS)


# ---------------------------------------------------------------------------------------------
# A sweep equals its runs made one at a time.
# ---------------------------------------------------------------------------------------------

SWEEP_STEPS = 100


@SETTINGS
@given(data=st.data(), objective=st.one_of(elementwise_objectives(), spd_quadratics()),
       sweep=sweeps())
def test_sweep_equals_single_runs_bitwise(data, objective, sweep):
    """Every optimizer's sweep is bit for bit the same as running each hyperparameter setting
    alone (NaN where diverged), including on rotated quadratics, whose gradient sums each
    matrix-vector product in the same order for a batch as for one point."""
    n, build = sweep
    x0 = data.draw(starts(objective.dim))
    trajectory = run(objective, build(), x0, SWEEP_STEPS)
    assert trajectory.batch_shape == (n,)
    for i in range(n):
        solo = run(objective, build(i), x0, SWEEP_STEPS)
        np.testing.assert_array_equal(trajectory.points[:, i], solo.points)
        assert trajectory.diverged_at[i] == solo.diverged_at


@st.composite
def stable_linear_sweeps(draw, largest_eigenvalue: float):
    """GD, heavy ball, Nesterov or Newton with step sizes a fraction s ∈ [0.01, 0.95] of their
    stability limit on a quadratic with largest Hessian eigenvalue λ (h = ηλ):

    * GD: |1 − h| < 1 iff h < 2;
    * heavy ball, z² − (1 + β − h) z + β: Jury's test gives h < 2 + 2β;
    * Nesterov, z² − (1 − h)(1 + β) z + β(1 − h): Jury's test gives h < (2 + 2β) / (1 + 2β);
    * Newton, multiplier 1 − η λ / (λ + α) ∈ (1 − η, 1): η < 2.
    """
    name = draw(st.sampled_from(LINEAR))
    n = draw(st.integers(1, 4))
    fractions = np.array(draw(st.lists(st.floats(0.01, 0.95), min_size=n, max_size=n)))
    betas = np.array(draw(st.lists(decays, min_size=n, max_size=n)))
    if name == "gd":
        lrs, cls, extra = fractions * 2 / largest_eigenvalue, GradientDescent, {}
    elif name == "momentum":
        lrs = fractions * (2 + 2 * betas) / largest_eigenvalue
        cls, extra = Momentum, {"beta": betas}
    elif name == "nesterov":
        lrs = fractions * (2 + 2 * betas) / (1 + 2 * betas) / largest_eigenvalue
        cls, extra = Nesterov, {"beta": betas}
    else:
        alphas = np.array(draw(st.lists(dampings, min_size=n, max_size=n)))
        lrs, cls, extra = fractions * 2, Newton, {"alpha": alphas}

    def build(i=None):
        pick = (lambda v: v) if i is None else (lambda v: float(v[i]))
        return cls(lr=pick(lrs), **{k: pick(v) for k, v in extra.items()})

    return n, build


@SETTINGS
@given(data=st.data(), objective=spd_quadratics())
def test_stable_sweep_equals_single_runs_on_rotated_quadratics(data, objective):
    """Stable sweeps of the linear methods (GD, heavy ball, Nesterov, Newton) on rotated SPD
    quadratics converge, and each run equals the same run made alone, bit for bit."""
    n, build = data.draw(stable_linear_sweeps(objective.eigenvalues[-1]))
    x0 = data.draw(starts(objective.dim))
    trajectory = run(objective, build(), x0, SWEEP_STEPS)
    for i in range(n):
        solo = run(objective, build(i), x0, SWEEP_STEPS)
        assert not solo.diverged
        assert not trajectory.diverged[i]
        np.testing.assert_array_equal(trajectory.points[:, i], solo.points)


# ---------------------------------------------------------------------------------------------
# Bad inputs.
# ---------------------------------------------------------------------------------------------

any_objective = st.one_of(spd_quadratics(), elementwise_objectives())


@SETTINGS
@given(
    data=st.data(),
    objective=any_objective,
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_non_finite_start_is_refused(data, objective, bad):
    x0 = data.draw(starts(objective.dim))
    x0[data.draw(st.integers(0, objective.dim - 1))] = bad
    with pytest.raises(ValueError, match="start point must be finite"):
        run(objective, GradientDescent(0.01), x0, 10)


@SETTINGS
@given(
    objective=any_objective,
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
)
def test_start_of_wrong_shape_is_refused(objective, shape):
    """Any start whose last axis is not d (or a bare number for d > 1) raises ValueError."""
    d = objective.dim
    if shape and shape[-1] == d:
        shape = (*shape[:-1], d + 1)
    if not shape and d == 1:
        shape = (2,)
    with pytest.raises(ValueError, match=rf"must have shape \(\.\.\., {d}\)"):
        run(objective, GradientDescent(0.01), np.zeros(shape), 10)


BAD_VALUES = {
    "lr": st.one_of(st.floats(max_value=0.0), st.just(np.nan), st.just(np.inf)),
    "beta": st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-300), st.just(np.nan)),
    "eps": st.one_of(st.floats(max_value=-1e-300), st.just(np.nan), st.just(np.inf)),
    "alpha": st.one_of(st.floats(max_value=-1e-300), st.just(np.nan), st.just(np.inf)),
}
DECAY_NAMES = {"beta", "rho", "beta1", "beta2"}


@SETTINGS
@given(data=st.data(), name=st.sampled_from(list(SPACES)))
def test_out_of_range_hyperparameter_is_refused(data, name):
    """A negative or zero or non-finite rate, a decay outside [0, 1), a negative ε or α raise
    ValueError naming the parameter, whatever the other (valid) hyperparameters are."""
    cls, space = SPACES[name]
    param = data.draw(st.sampled_from(list(space)))
    kind = "beta" if param in DECAY_NAMES else param
    kwargs = {p: data.draw(s) for p, s in space.items()}
    kwargs[param] = data.draw(BAD_VALUES[kind])
    with pytest.raises(ValueError, match=rf"^{re.escape(param)} must be"):
        cls(**kwargs)


@SETTINGS
@given(
    steps=st.one_of(
        st.integers(max_value=0),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
        st.none(),
        st.booleans(),
    )
)
def test_bad_step_count_is_refused(steps):
    """steps ≤ 0 raises ValueError; a float, string, None or bool raises TypeError."""
    expected = ValueError if isinstance(steps, int) and not isinstance(steps, bool) else TypeError
    with pytest.raises(expected, match="steps must be"):
        run(Quadratic1D(1.0, -2.0, 1.0), GradientDescent(0.1), 5.0, steps)
