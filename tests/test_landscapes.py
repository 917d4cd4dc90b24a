"""lessons_src.landscapes and the claims of chapter 3 (hard landscapes), checked from the math."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import GradientDescent, Momentum, Saddle, Wiggly, run, theory
from lessons_src.analysis import local_minima_1d, tail_range
from lessons_src.objectives import Cliff, ClippedGradient, DoubleWell, clip_by_norm
from lessons_src.optim import Clip
from lessons_src.theory import (
    fraction_positive_definite,
    matrix_from_eigen,
    power_norms,
    random_symmetric,
    ripple_radius,
    saddle_escape_steps,
)

NEW_OBJECTIVES = {
    "double-well": lambda: DoubleWell(),
    "double-well-a-b": lambda: DoubleWell(a=3.0, b=0.5),
    "cliff": lambda: Cliff(),
    "cliff-other": lambda: Cliff(a=1.5, height=5.0, at=0.7, width=0.3),
}


def _points(dim: int, seed: int, n: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, size=(n, dim))


@pytest.mark.parametrize("make", NEW_OBJECTIVES.values(), ids=NEW_OBJECTIVES.keys())
def test_derivatives_match_finite_differences(make):
    objective = make()
    x = _points(objective.dim, 1)
    h = 1e-6
    eye = np.eye(objective.dim)
    numeric_grad = np.stack(
        [(objective.value(x + h * e) - objective.value(x - h * e)) / (2 * h) for e in eye], -1
    )
    numeric_hess = np.stack(
        [(objective.grad(x + h * e) - objective.grad(x - h * e)) / (2 * h) for e in eye], -1
    )
    np.testing.assert_allclose(objective.grad(x), numeric_grad, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(objective.hessian(x), numeric_hess, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", NEW_OBJECTIVES.values(), ids=NEW_OBJECTIVES.keys())
def test_batch_shapes(make):
    objective = make()
    x = np.zeros((3, 4, objective.dim)) + 0.3
    assert objective.value(x).shape == (3, 4)
    assert objective.grad(x).shape == (3, 4, objective.dim)
    assert objective.hessian(x).shape == (3, 4, objective.dim, objective.dim)


def test_double_well_critical_points():
    well = DoubleWell(a=2.0, b=3.0)
    assert np.allclose(well.grad(np.zeros(2)), 0)
    assert np.allclose(well.hessian(np.zeros(2)), np.diag([2.0, -3.0]))
    assert np.isclose(well.value(np.zeros(2)), 3.0 / 4)
    for minimum in well.minimizers:
        assert np.allclose(well.grad(minimum), 0)
        assert np.allclose(well.hessian(minimum), np.diag([2.0, 6.0]))
        assert well.value(minimum) == 0


@pytest.mark.parametrize("kwargs", [{"a": 0}, {"b": -1}])
def test_double_well_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="positive"):
        DoubleWell(**kwargs)


def test_cliff_drop_and_steepest_slope():
    cliff = Cliff(a=0.5, height=40.0, at=-1.0, width=0.1)
    # far left of the drop the value is the bowl plus the full height, far right the bowl alone
    assert np.isclose(cliff.value(-3.0), 0.25 * 9 + 40, atol=1e-6)
    assert np.isclose(cliff.value(3.0), 0.25 * 9, atol=1e-6)
    assert cliff.steepest == 100.0
    # at the centre of the drop, f' = a c - h/(4w) exactly
    assert np.isclose(cliff.grad(-1.0)[0], 0.5 * -1 - 100.0)
    with pytest.raises(ValueError, match="positive"):
        Cliff(width=0)


def test_cliff_is_quiet_for_huge_arguments():
    # the logistic is computed through tanh: no overflow warning (pytest turns them into errors)
    cliff = Cliff()
    assert np.isfinite(cliff.grad(np.array([[1e6], [-1e6]]))).all()


def test_clip_by_norm_caps_length_and_keeps_direction():
    g = np.random.default_rng(2).normal(size=(50, 3)) * 10
    for tau in (0.1, 1.0, 5.0):
        clipped = clip_by_norm(g, tau)
        norms = np.linalg.norm(g, axis=-1)
        assert np.allclose(np.linalg.norm(clipped, axis=-1), np.minimum(norms, tau))
        # positive multiple of g: the cross-products vanish and the dot products are positive
        assert np.allclose(np.cross(clipped, g), 0, atol=1e-9)
        assert np.all(np.einsum("ij,ij->i", clipped, g) > 0)
    assert np.array_equal(clip_by_norm(np.zeros((2, 3)), 1.0), np.zeros((2, 3)))
    assert np.array_equal(clip_by_norm(g, np.inf), g)


def test_clip_with_infinite_threshold_is_plain_descent():
    cliff = Cliff()
    plain = run(cliff, GradientDescent(lr=0.2), x0=-3.0, steps=50)
    wrapped = run(cliff, Clip(GradientDescent(lr=0.2), np.inf), x0=-3.0, steps=50)
    assert np.array_equal(plain.points, wrapped.points)


def test_clip_step_lengths_and_sweep_over_thresholds():
    cliff = Cliff()
    taus = np.array([0.5, 2.0, 8.0])
    sweep = run(cliff, Clip(GradientDescent(lr=0.2), taus), x0=-3.0, steps=40)
    assert sweep.batch_shape == (3,)
    steps = np.abs(np.diff(sweep.points[..., 0], axis=0))
    assert np.all(steps <= 0.2 * taus + 1e-12)
    grads = np.abs(cliff.grad(sweep.points[:-1]))[..., 0]
    small = grads <= taus
    assert np.allclose(steps[small], (0.2 * grads)[small])


def test_clipped_objective_and_clip_optimizer_agree():
    well = DoubleWell(a=20.0)
    start = np.array([1.0, 0.5])
    a = run(ClippedGradient(well, 1.0), GradientDescent(lr=0.05), x0=start, steps=30)
    b = run(well, Clip(GradientDescent(lr=0.05), 1.0), x0=start, steps=30)
    assert np.allclose(a.points, b.points)


def test_clip_wraps_a_stateful_optimizer():
    cliff = Cliff()
    clipped = run(cliff, Clip(Momentum(lr=0.05, beta=0.5), 1.0), x0=-3.0, steps=5)
    # hand-rolled heavy ball on clipped gradients
    x, v = np.array([-3.0]), np.zeros(1)
    for k in range(5):
        v = 0.5 * v - 0.05 * clip_by_norm(cliff.grad(x), 1.0)
        x = x + v
        assert np.allclose(clipped.points[k + 1], x)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_clip_rejects_bad_thresholds(bad):
    with pytest.raises(ValueError, match="max_norm"):
        Clip(GradientDescent(lr=0.1), bad)
    with pytest.raises(ValueError, match="max_norm"):
        ClippedGradient(Cliff(), bad)
    with pytest.raises(TypeError):
        Clip("gd", 1.0)


@pytest.mark.parametrize("lr, mu", [(0.1, 1.0), (0.05, 3.0), (0.3, 0.5)])
def test_saddle_escape_steps_exact_on_a_quadratic_saddle(lr, mu):
    offsets = np.array([1e-1, 1e-4, 1e-9])
    starts = np.stack([np.ones(3), offsets], axis=-1)
    traj = run(Saddle(1.0, mu), GradientDescent(lr=lr), x0=starts, steps=2000)
    measured = np.argmax(np.abs(traj.points[..., 1]) >= 0.5, axis=0)
    assert np.array_equal(measured, saddle_escape_steps(lr, mu, offsets, 0.5))


def test_start_on_the_stable_line_converges_to_the_saddle():
    traj = run(DoubleWell(), GradientDescent(lr=0.1), x0=[1.0, 0.0], steps=400)
    assert np.allclose(traj.final, 0, atol=1e-15)
    assert np.isclose(traj.values[-1], 0.25)


def test_ripple_radius_formula_and_bound_on_wiggly():
    wiggly = Wiggly()
    period = np.linspace(0, 2 * np.pi, 100_001)[:, None]
    B = np.abs(wiggly.grad(period)[:, 0] - 0.045 * period[:, 0]).max()
    assert np.isclose(ripple_radius(10.0, 0.045, B), B / 0.045)
    assert np.isclose(ripple_radius(30.0, 0.045, B), 30 * B / (1 - abs(1 - 30 * 0.045)))
    assert ripple_radius(50.0, 0.045, B) == np.inf
    lrs = np.array([1.0, 4.0, 16.0, 30.0])
    traj = run(wiggly, GradientDescent(lr=lrs), x0=-20.0, steps=3000)
    tail = np.abs(traj.points[500:, :, 0]).max(axis=0)
    assert np.all(tail <= ripple_radius(lrs, 0.045, B))


def test_local_minima_are_minima_and_include_the_global_one():
    wiggly = Wiggly()
    minima = local_minima_1d(wiggly, -20, 20)
    assert np.allclose(wiggly.grad(minima[:, None]), 0, atol=1e-10)
    assert np.all(wiggly.hessian(minima[:, None]) > 0)
    assert np.min(np.abs(minima - wiggly.global_minimizer())) < 1e-8
    # between two consecutive minima there is exactly one maximum: f' changes sign twice
    grid = np.linspace(-20, 20, 400_001)[:, None]
    slope = wiggly.grad(grid)[:, 0]
    up = np.sum((slope[:-1] < 0) & (slope[1:] >= 0))
    assert len(minima) == up


def test_local_step_size_rule_at_every_wiggly_minimum():
    """Theorem ch3-thm-local: attraction below 2/f''(x*), repulsion above."""
    wiggly = Wiggly()
    minima = local_minima_1d(wiggly, -20, 20)
    thresholds = theory.stability_threshold(wiggly.hessian(minima[:, None])[:, 0, 0])
    lrs = thresholds[:, None] * np.array([0.8, 0.95, 1.05, 1.2])
    traj = run(wiggly, GradientDescent(lr=lrs), x0=(minima - 1e-5)[:, None, None], steps=400)
    gap = np.abs(traj.final[..., 0] - minima[:, None])
    assert np.all(gap[:, :2] < 1e-9)
    assert np.all(gap[:, 2:] > 1e-4)


def test_seed_sweep_claims():
    """The seed's sweep lr = 16·2^-i from x0 = -20: the chapter's table and corollary."""
    wiggly = Wiggly()
    lrs = 16 * 2.0 ** -np.arange(10)
    sweep = run(wiggly, GradientDescent(lr=lrs), x0=-20.0, steps=1000)
    settled = tail_range(sweep.points, 200) < 1e-9
    assert np.array_equal(settled, lrs <= 0.25)
    first_dip = local_minima_1d(wiggly, -20, -18)[0]
    assert np.allclose(sweep.final[settled, 0], first_dip)
    assert not sweep.diverged.any()
    # the first dip's threshold separates the settled from the moving runs
    threshold = theory.stability_threshold(wiggly.hessian(first_dip)[0, 0])
    assert 0.25 < threshold < 0.5
    # monotone creep (theorem ch3-thm-monotone) for lr <= 1/max f'' on [-20, first dip]
    segment = np.linspace(-20, first_dip, 10_001)[:, None]
    bound = 1 / wiggly.hessian(segment)[:, 0, 0].max()
    for i in np.flatnonzero(lrs <= bound):
        assert np.all(np.diff(sweep.points[:, i, 0]) >= 0)
    # corollary ch3-cor-never: above every threshold within the ripple radius nothing settles
    period = np.linspace(0, 2 * np.pi, 100_001)[:, None]
    B = np.abs(wiggly.grad(period)[:, 0] - 0.045 * period[:, 0]).max()
    radius = B / 0.045
    wide = local_minima_1d(wiggly, -radius, radius)
    largest = theory.stability_threshold(wiggly.hessian(wide[:, None])[:, 0, 0]).max()
    never = np.geomspace(largest * 1.01, 1 / 0.045, 50)
    runs = run(wiggly, GradientDescent(lr=never), x0=-20.0, steps=2000)
    assert np.all(tail_range(runs.points, 200) > 1e-3)


def test_no_fixed_step_reaches_the_global_minimum():
    wiggly = Wiggly()
    lrs = np.geomspace(0.005, 3, 1500)
    traj = run(wiggly, GradientDescent(lr=lrs), x0=-20.0, steps=1000)
    assert not np.any(np.abs(traj.final[:, 0] - wiggly.global_minimizer()) < 1e-3)


def test_matrix_powers_and_their_bounds():
    rng = np.random.default_rng(3)
    V = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    lam = np.array([1.1, -0.7, 0.3])
    W = matrix_from_eigen(lam, V)
    assert np.allclose(np.sort(np.linalg.eigvals(W).real), np.sort(lam))
    x = rng.normal(size=3)
    norms = power_norms(W, x, 30)
    direct = [np.linalg.norm(np.linalg.matrix_power(W, t) @ x) for t in range(31)]
    assert np.allclose(norms, direct)
    c = np.linalg.solve(V, x)
    t = np.arange(31)
    upper = np.linalg.cond(V) * 1.1**t * np.linalg.norm(x)
    lower = abs(c[0]) * 1.1**t / np.linalg.norm(np.linalg.inv(V), 2)
    assert np.all((lower <= norms * (1 + 1e-12)) & (norms <= upper * (1 + 1e-12)))


def test_power_norms_batched_over_matrices():
    V = np.array([[1.0, 0.6], [0.2, 1.0]])
    rhos = np.array([0.8, 1.0, 1.2])
    W = matrix_from_eigen(rhos[:, None] * np.array([1.0, 0.6]), V)
    norms = power_norms(W, np.array([1.0, 1.0]), 60)
    assert norms.shape == (61, 3)
    assert norms[-1, 0] < 1e-4 < 1e3 < norms[-1, 2]
    # rho = 1: the component along v1 survives unchanged, so the norm tends to |c1| ||v1||
    c = np.linalg.solve(V, [1.0, 1.0])
    assert np.isclose(norms[-1, 1], abs(c[0]) * np.linalg.norm(V[:, 0]), rtol=1e-9)


def test_non_normal_burst_with_eigenvalues_below_one():
    W = np.array([[0.9, -2.0], [0.0, 0.8]])
    norms = power_norms(W, np.array([0.0, 1.0]), 100)
    assert norms.max() > 5 and norms[-1] < 1e-2


def test_random_symmetric_and_positive_definite_fractions():
    rng = np.random.default_rng(0)
    H = random_symmetric(4, 10, rng)
    assert H.shape == (10, 4, 4) and np.array_equal(H, np.swapaxes(H, -1, -2))
    assert fraction_positive_definite(np.eye(3)[None].repeat(5, 0)) == 1.0
    samples = 200_000
    # n = 1: a single N(0, 1) entry is positive half the time
    assert abs(fraction_positive_definite(random_symmetric(1, samples, rng)) - 0.5) < 0.005
    # n = 2: PD iff trace/2 > sqrt(((a-c)/2)^2 + b^2); the three are iid N(0, 1/2), so the
    # probability is the solid angle of a 45-degree cone: (1 - 1/sqrt 2)/2 = (2 - sqrt 2)/4
    exact = (2 - np.sqrt(2)) / 4
    assert abs(fraction_positive_definite(random_symmetric(2, samples, rng)) - exact) < 0.004
    # and it falls faster than 2^-n
    assert fraction_positive_definite(random_symmetric(4, samples, rng)) < 2.0**-4 / 4


def test_tail_range():
    points = np.zeros((10, 2, 1))
    points[:, 1, 0] = np.arange(10)
    assert np.array_equal(tail_range(points, 3), [0.0, 2.0])
