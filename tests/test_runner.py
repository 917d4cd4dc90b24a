"""The runner: vectorised sweeps equal one run at a time, divergence is flagged at the right step,
no numpy warning escapes, bad inputs are refused, and Trajectory's helpers have the right shapes."""

from __future__ import annotations

import re
import warnings
from fractions import Fraction

import numpy as np
import pytest

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
from lessons_src.runner import DIVERGENCE_BOUND

PARABOLA = Quadratic1D(1.0, -2.0, 1.0)  # f = x² − 2x + 1 = (x − 1)², f'' = 2, x* = 1
ROTATED = QuadraticND.from_eigenvalues([0.1, 2.0], angle=0.7, minimizer=[1.0, -2.0])


def assert_same_run(sweep_run, solo) -> None:
    """One run picked out of a sweep equals, bit for bit, the same run made alone (NaN matches NaN)."""
    np.testing.assert_array_equal(sweep_run.points, solo.points)
    assert bool(sweep_run.diverged) == bool(solo.diverged)
    assert int(sweep_run.diverged_at) == int(solo.diverged_at)


# ---------------------------------------------------------------------------------------------
# Sweeps.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objective", "x0"),
    [(PARABOLA, 5.0), (ROTATED, [3.0, 4.0])],
    ids=["parabola", "rotated-quadratic"],
)
def test_gd_sweep_of_48_learning_rates_equals_single_runs(objective, x0):
    """48 step sizes across the threshold (so some runs diverge) in one call equal 48 calls."""
    lrs = np.geomspace(1e-3, 3.0, 48)
    sweep = run(objective, GradientDescent(lrs), x0, 200)
    assert sweep.batch_shape == (48,)
    assert sweep.diverged.any()
    assert not sweep.diverged.all()
    for i, lr in enumerate(lrs):
        assert_same_run(sweep.run(i), run(objective, GradientDescent(lr), x0, 200))


@pytest.mark.parametrize(
    ("objective", "x0", "lrs"),
    [
        (Rosenbrock(), [-1.2, 1.0], np.geomspace(1e-5, 1e-2, 6)),
        (ROTATED, [3.0, 4.0], np.geomspace(1e-3, 2.0, 6)),
    ],
    ids=["rosenbrock", "rotated-quadratic"],
)
def test_momentum_grid_of_lr_and_beta_equals_single_runs(objective, x0, lrs):
    """lr[:, None] × beta[None, :] gives a 6 × 4 grid of runs; each equals its own run."""
    betas = np.array([0.0, 0.5, 0.9, 0.99])
    sweep = run(objective, Momentum(lrs[:, None], betas[None, :]), x0, 150)
    assert sweep.batch_shape == (6, 4)
    assert sweep.points.shape == (151, 6, 4, 2)
    for i, j in np.ndindex(6, 4):
        solo = run(objective, Momentum(lrs[i], betas[j]), x0, 150)
        assert_same_run(sweep.run((i, j)), solo)


def _optimizer(name: str, lr):
    return {
        "gd": lambda: GradientDescent(lr),
        "momentum": lambda: Momentum(lr, 0.9),
        "nesterov": lambda: Nesterov(lr, 0.8),
        "adagrad": lambda: AdaGrad(lr),
        "rmsprop": lambda: RMSProp(lr, 0.9),
        "adam": lambda: Adam(lr),
        "adam-amsgrad-raw": lambda: Adam(lr, 0.8, 0.99, bias_correction=False, amsgrad=True),
        "newton": lambda: Newton(lr, alpha=0.5),
    }[name]()


OPTIMIZER_NAMES = [
    "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adam-amsgrad-raw", "newton"
]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@pytest.mark.parametrize(
    ("objective", "x0"),
    [(Rosenbrock(), [-1.2, 1.0]), (Wiggly(), [2.5]), (Saddle(1.0, 0.5), [1.0, 1e-3])],
    ids=["rosenbrock", "wiggly", "saddle"],
)
def test_array_lr_sweep_equals_single_runs_for_every_optimizer(name, objective, x0):
    """An array of step sizes for any optimizer is the same as one run per step size (bitwise)."""
    lrs = np.geomspace(1e-4, 2.0, 12)
    sweep = run(objective, _optimizer(name, lrs), x0, 120)
    for i, lr in enumerate(lrs):
        assert_same_run(sweep.run(i), run(objective, _optimizer(name, lr), x0, 120))


def test_sweep_over_start_points_equals_single_runs():
    """Seven start points of shape (7, 2) with one optimizer: each row is its own run."""
    starts = np.random.default_rng(0).uniform(-2, 2, size=(7, 2))
    sweep = run(Rosenbrock(), Adam(0.05), starts, 100)
    assert sweep.batch_shape == (7,)
    for i, x0 in enumerate(starts):
        assert_same_run(sweep.run(i), run(Rosenbrock(), Adam(0.05), x0, 100))


def test_start_column_pairs_with_lr_sweep():
    """A 1-D sweep of starts x0[:, None] (shape (n, 1)) pairs elementwise with n step sizes."""
    starts = np.array([-3.0, 0.5, 4.0])
    lrs = np.array([0.1, 0.2, 0.3])
    sweep = run(PARABOLA, GradientDescent(lrs), starts[:, None], 10)
    k = np.arange(11)[:, None]
    # x_k − 1 = (1 − 2η)^k (x_0 − 1) for each pair.
    np.testing.assert_allclose(sweep.points[..., 0], 1 + (1 - 2 * lrs) ** k * (starts - 1),
                               rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Divergence.
# ---------------------------------------------------------------------------------------------


def _first_escape(lr: float, x0: int, bound: float) -> int:
    """The first k with |x_k| > bound for GD on (x − 1)², in exact integer arithmetic:
    x_k − 1 = (1 − 2η)^k (x_0 − 1), with 1 − 2η an integer for the η used here."""
    multiplier = Fraction(1) - 2 * Fraction(lr)
    assert multiplier.denominator == 1
    bound = Fraction(bound)
    k = 0
    while abs(1 + multiplier**k * (x0 - 1)) <= bound:
        k += 1
    return k


def _closed_form(lr: float, x0: float, steps: int) -> np.ndarray:
    return np.array([1 + float((1 - 2 * Fraction(lr)) ** k * (Fraction(x0) - 1))
                     for k in range(steps + 1)])


@pytest.mark.parametrize("x0", [5, -3, 2])
def test_divergence_is_flagged_at_the_closed_form_step(x0):
    """GD with η = 100 on (x − 1)² multiplies the error by −199 per step; the run is flagged at
    the first step where |x_k| exceeds DIVERGENCE_BOUND and is NaN from that step on."""
    k = _first_escape(100, x0, DIVERGENCE_BOUND)
    trajectory = run(PARABOLA, GradientDescent(100.0), float(x0), k + 10)
    assert trajectory.diverged
    assert trajectory.diverged_at == k
    np.testing.assert_allclose(trajectory.points[:k, 0], _closed_form(100, x0, k - 1), rtol=1e-13)
    assert np.all(np.abs(trajectory.points[:k]) <= DIVERGENCE_BOUND)
    assert np.all(np.isnan(trajectory.points[k:]))


def test_custom_bound_is_respected():
    """With bound=1e6 the flag comes at the first step past 1e6 instead."""
    k = _first_escape(100, 5, 1e6)
    trajectory = run(PARABOLA, GradientDescent(100.0), 5.0, 30, bound=1e6)
    assert trajectory.diverged_at == k
    assert np.all(np.isnan(trajectory.points[k:]))
    assert np.all(np.isfinite(trajectory.points[:k]))


def test_diverged_runs_do_not_disturb_the_others():
    """In a sweep with η = 100 and η = 5 (both diverge) among converging and cycling step sizes,
    the diverged runs are NaN from their own step on and every other run follows its closed form."""
    lrs = np.array([0.1, 100.0, 0.6, 1.0, 5.0, 0.25])
    steps = 80
    sweep = run(PARABOLA, GradientDescent(lrs), 5.0, steps)
    expected_at = {1: _first_escape(100, 5, DIVERGENCE_BOUND), 4: _first_escape(5, 5, 1e50)}
    assert expected_at[1] < expected_at[4] <= steps
    for i, lr in enumerate(lrs):
        points = sweep.points[:, i, 0]
        if i in expected_at:
            k = expected_at[i]
            assert sweep.diverged[i]
            assert sweep.diverged_at[i] == k
            assert np.all(np.isnan(points[k:]))
            np.testing.assert_allclose(points[:k], _closed_form(lr, 5, k - 1), rtol=1e-12)
        else:
            assert not sweep.diverged[i]
            assert sweep.diverged_at[i] == -1
            np.testing.assert_allclose(points, _closed_form(lr, 5, steps), rtol=1e-13, atol=1e-15)
        assert_same_run(sweep.run(i), run(PARABOLA, GradientDescent(lr), 5.0, steps))


def test_all_runs_diverged_leaves_nan_to_the_end():
    """When every run has diverged the loop may stop early; the remaining rows are still NaN."""
    sweep = run(PARABOLA, GradientDescent([100.0, 1000.0]), 5.0, 500)
    assert sweep.points.shape == (501, 2, 1)
    assert sweep.diverged.all()
    for i in range(2):
        k = sweep.diverged_at[i]
        assert np.all(np.isfinite(sweep.points[:k, i]))
        assert np.all(np.isnan(sweep.points[k:, i]))


def test_no_numpy_warnings_escape():
    """Overflow, inf − inf, 0/0 and singular Hessians inside runs emit no warning at all."""
    singular = QuadraticND.from_eigenvalues([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trajectories = [
            run(PARABOLA, GradientDescent(np.geomspace(1e-3, 1e3, 30)), 5.0, 400),
            run(Rosenbrock(), GradientDescent(np.geomspace(1e-4, 10.0, 30)), [-1.2, 1.0], 300),
            run(Rosenbrock(), Momentum(np.geomspace(1e-4, 1.0, 10), 0.99), [-1.2, 1.0], 300),
            run(Wiggly(), GradientDescent([1e-2, 1e300]), 1.0, 50),
            run(Saddle(1.0, 2.0), Adam([0.1, 10.0]), [1.0, 1.0], 300),
            run(singular, Newton(alpha=[0.0, 1.0]), [1.0, 1.0], 20),
            run(PARABOLA, AdaGrad(0.1, eps=0.0), 1.0, 5),  # 0/0 at the minimiser
        ]
        for t in trajectories:
            _ = t.values, t.grad_norms, t.distances(np.zeros(t.points.shape[-1])), t.final
    # The sweeps really went through overflow and NaN.
    assert all(t.diverged.any() for t in trajectories[:2])
    assert trajectories[3].diverged.tolist() == [False, True]
    assert trajectories[5].diverged.tolist() == [True, False]


# ---------------------------------------------------------------------------------------------
# Bad inputs.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x0",
    [[np.nan, 0.0], [0.0, np.inf], [-np.inf, 1.0], [[0.0, 0.0], [1.0, np.nan]]],
    ids=["nan", "inf", "-inf", "nan-in-batch"],
)
def test_non_finite_start_raises(x0):
    with pytest.raises(ValueError, match="start point must be finite"):
        run(Rosenbrock(), GradientDescent(0.01), x0, 10)


@pytest.mark.parametrize("x0", [np.nan, np.inf])
def test_non_finite_start_raises_1d(x0):
    with pytest.raises(ValueError, match="start point must be finite"):
        run(PARABOLA, GradientDescent(0.1), x0, 10)


@pytest.mark.parametrize(
    ("objective", "x0", "shape"),
    [
        (Rosenbrock(), [1.0, 2.0, 3.0], "(3,)"),
        (Rosenbrock(), 1.0, "()"),
        (Rosenbrock(), np.zeros((4, 3)), "(4, 3)"),
        (PARABOLA, [1.0, 2.0], "(2,)"),
        (ROTATED, [[1.0], [2.0]], "(2, 1)"),
    ],
)
def test_wrong_start_shape_raises(objective, x0, shape):
    """The message gives the wanted (..., d) and the shape received."""
    d = objective.dim
    with pytest.raises(ValueError, match=rf"\(\.\.\., {d}\).*got shape {re.escape(shape)}"):
        run(objective, GradientDescent(0.1), x0, 10)


def test_start_batch_incompatible_with_sweep_raises():
    with pytest.raises(ValueError, match="broadcast"):
        run(Rosenbrock(), GradientDescent([0.1, 0.2]), np.zeros((3, 2)), 10)


@pytest.mark.parametrize("steps", [0, -1, -100])
def test_non_positive_steps_raise(steps):
    with pytest.raises(ValueError, match=f"steps must be at least 1, got {steps}"):
        run(PARABOLA, GradientDescent(0.1), 5.0, steps)


@pytest.mark.parametrize("steps", [2.5, 2.0, True, "3", None, np.float64(3.0)])
def test_non_integer_steps_raise(steps):
    with pytest.raises(TypeError, match="steps must be an integer"):
        run(PARABOLA, GradientDescent(0.1), 5.0, steps)


def test_numpy_integer_steps_are_accepted():
    assert run(PARABOLA, GradientDescent(0.1), 5.0, np.int64(3)).steps == 3


@pytest.mark.parametrize(
    "optimizer",
    ["gd", GradientDescent, None, lambda f, x, s: (x, s), {"lr": 0.1}],
    ids=["name", "class", "none", "function", "dict"],
)
def test_non_optimizer_raises(optimizer):
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        run(PARABOLA, optimizer, 5.0, 10)


# ---------------------------------------------------------------------------------------------
# Trajectory.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objective", "optimizer", "x0", "batch"),
    [
        (PARABOLA, GradientDescent(0.1), 5.0, ()),
        (Rosenbrock(), GradientDescent([1e-4, 1e-3, 1e-2]), [-1.2, 1.0], (3,)),
        (ROTATED, Momentum(np.array([0.1, 0.2])[:, None], [0.0, 0.5, 0.9]), [3.0, 4.0], (2, 3)),
        (ROTATED, Adam(0.1), np.zeros((5, 2)), (5,)),
    ],
    ids=["single", "lr-sweep", "grid", "start-sweep"],
)
def test_trajectory_shapes(objective, optimizer, x0, batch):
    steps, d = 25, objective.dim
    t = run(objective, optimizer, x0, steps)
    assert t.steps == steps
    assert t.batch_shape == batch
    assert t.points.shape == (steps + 1, *batch, d)
    assert t.final.shape == (*batch, d)
    assert t.values.shape == (steps + 1, *batch)
    assert t.grad_norms.shape == (steps + 1, *batch)
    assert t.distances(np.zeros(d)).shape == (steps + 1, *batch)
    assert t.diverged.shape == batch
    assert t.diverged_at.shape == batch
    np.testing.assert_array_equal(t.points[0], np.broadcast_to(np.asarray(x0, float),
                                                               (*batch, d)))


def test_trajectory_values_grad_norms_distances_on_the_parabola():
    """On (x − 1)², f(x_k) = e_k², |f'(x_k)| = 2 e_k and distances(1) = e_k with e_k = |x_k − 1|;
    diverged rows are NaN in all three."""
    lrs = np.array([0.1, 0.3, 100.0])
    t = run(PARABOLA, GradientDescent(lrs), 5.0, 40)
    e = np.abs(np.stack([_closed_form(lr, 5, 40) for lr in lrs[:2]], axis=1) - 1)
    np.testing.assert_allclose(t.distances([1.0])[:, :2], e, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t.values[:, :2], e**2, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(t.grad_norms[:, :2], 2 * e, rtol=1e-12, atol=1e-15)
    k = t.diverged_at[2]
    for series in (t.values, t.grad_norms, t.distances([1.0])):
        assert np.all(np.isfinite(series[:k, 2]))
        assert np.all(np.isnan(series[k:, 2]))


def test_trajectory_run_extracts_one_run():
    """run(i) of a 1-D sweep and run((i, j)) of a grid are trajectories of their own."""
    sweep = run(PARABOLA, GradientDescent([0.1, 100.0, 0.4]), 5.0, 30)
    one = sweep.run(1)
    assert one.batch_shape == ()
    assert one.steps == 30
    np.testing.assert_array_equal(one.points, sweep.points[:, 1])
    assert one.diverged and one.diverged_at == sweep.diverged_at[1]
    assert one.objective is PARABOLA
    assert one.values.shape == (31,)
    other = sweep.run(2)
    assert not other.diverged and other.diverged_at == -1
    np.testing.assert_array_equal(other.final, sweep.final[2])

    grid = run(ROTATED, Momentum(np.array([0.1, 0.2])[:, None], [0.0, 0.9]), [3.0, 4.0], 30)
    cell = grid.run((1, 0))
    np.testing.assert_array_equal(cell.points, grid.points[:, 1, 0])
    row = grid.run(1)
    assert row.batch_shape == (2,)
    np.testing.assert_array_equal(row.points, grid.points[:, 1])
    np.testing.assert_array_equal(row.diverged_at, grid.diverged_at[1])


def test_objective_at_gives_each_step_its_own_loss():
    """Online learning: step t follows the gradient of objective_at(t); values use the objective."""
    pull_right, pull_left = Quadratic1D(1.0, -2.0, 0.0), Quadratic1D(1.0, 2.0, 0.0)  # minima ±1
    losses = {1: pull_right, 2: pull_left, 3: pull_right}
    trajectory = run(PARABOLA, GradientDescent(0.25), 0.0, 3, objective_at=losses.__getitem__)
    expected = [0.0]
    for t in (1, 2, 3):
        x = expected[-1]
        expected.append(x - 0.25 * (2 * x + losses[t].b))
    np.testing.assert_allclose(trajectory.points[:, 0], expected)
    np.testing.assert_allclose(trajectory.values, [(x - 1) ** 2 for x in expected])


def test_divergence_step_is_the_first_past_the_bound_whatever_the_bound():
    """The loop's quick escape test (a sum of squares against bound²) and its full test agree:
    each run's ``diverged_at`` is the first step with a coordinate beyond ``bound``, also when
    bound² overflows (then only the full test runs) and in several dimensions."""
    from lessons_src import GradientDescent, QuadraticND

    bowl = QuadraticND.from_eigenvalues([1.0, 3.0], angle=0.4)
    rates = np.array([0.1, 0.5, 0.6, 0.7, 0.8, 1.0])  # the last three diverge (η > 2/3)
    wide = run(bowl, GradientDescent(rates), [1.0, -2.0], 200, bound=1e200)
    for bound in (10.0, 1e3, 1e20):
        bounded = run(bowl, GradientDescent(rates), [1.0, -2.0], 200, bound=bound)
        beyond = np.any(np.abs(wide.points) > bound, axis=-1)
        expected = np.where(beyond.any(axis=0), beyond.argmax(axis=0), -1)
        stopped = np.isnan(bounded.points).any(axis=-1)
        assert np.array_equal(np.where(stopped.any(axis=0), stopped.argmax(axis=0), -1), expected)
        escaped = expected >= 0
        assert np.array_equal(bounded.diverged_at[escaped], expected[escaped]), bound
        assert escaped.sum() >= 2 and not escaped[:3].any()
        assert np.array_equal(bounded.points[:, :3], wide.points[:, :3])  # the others are untouched


def test_the_loop_checks_the_gradient_as_step_does():
    """run's fast path skips update's gradient check only when the gradient must pass it: a
    gradient of the wrong shape is still refused by name, and one of another dtype is converted
    (the trajectory is that of ``step``)."""
    from lessons_src import Adam, Parabola

    class Float32Parabola(Parabola):
        def grad(self, x):
            return super().grad(x).astype(np.float32)

    class WrongShape(Parabola):
        def grad(self, x):
            return np.concatenate([super().grad(x)] * 2, axis=-1)

    bowl = Float32Parabola(1, -2, 1)
    optimizer = Adam(lr=np.array([0.1, 0.3]))
    x = np.full((2, 1), 5.0)
    state = optimizer.init(x)
    expected = [x]
    for _ in range(20):
        x, state = optimizer.step(bowl, x, state)
        expected.append(x)
    assert np.array_equal(run(bowl, optimizer, 5.0, 20).points, np.array(expected))
    with pytest.raises(ValueError, match=r"^grad must have the shape of x"):
        run(WrongShape(1, -2, 1), Adam(lr=0.1), 5.0, 3)
