"""lessons_src.adaptive and the claims of chapters 7 and 8: the bias of moment estimates, the
seed's compounding Adam, ε placement, AdaGrad's and RMSProp's steps, Reddi et al.'s problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessons_src import (
    AdaGrad,
    Adam,
    GradientDescent,
    Quadratic1D,
    QuadraticND,
    RMSProp,
    Wiggly,
    run,
)
from lessons_src.analysis import effective_steps
from lessons_src.objectives import GentleSlope, LinearLoss, ReddiProblem, Scaled, sparse_feature_data
from lessons_src.optim import Projected, WriteBackAdam
from lessons_src.runner import run_online
from lessons_src.schedules import inverse_sqrt_decay
from lessons_src.theory import (
    bias_factor,
    ema_from_zero,
    ema_weights,
    log10_writeback_factor,
    reddi_period_drift,
    step_multiplier,
    uncorrected_step_factor,
)

LOG10_MAX = math.log10(np.finfo(float).max)

# ---------------------------------------------------------------------------------------------
# Moment estimates and their bias (chapter 8, theorem ch8-thm-bias)
# ---------------------------------------------------------------------------------------------


def _z(samples: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Sample mean minus expectation, in standard errors, per step."""
    return (samples.mean(axis=1) - expected) / (samples.std(axis=1) / np.sqrt(samples.shape[1]))


@pytest.mark.parametrize(("beta1", "beta2"), [(0.9, 0.999), (0.5, 0.9), (0.99, 0.99)])
def test_bias_corrected_moments_are_unbiased_on_stationary_noise(beta1, beta2):
    rng = np.random.default_rng(7)
    mean, sd = 0.7, 1.5
    g = rng.normal(mean, sd, size=(60, 40_000))
    t = np.arange(1, 61)
    m, v = ema_from_zero(g, beta1), ema_from_zero(g**2, beta2)
    second = mean**2 + sd**2
    # Uncorrected: E[m_t] = (1 − β1^t) E[g] and E[v_t] = (1 − β2^t) E[g²] ...
    assert np.max(np.abs(_z(m, bias_factor(beta1, t) * mean))) < 5
    assert np.max(np.abs(_z(v, bias_factor(beta2, t) * second))) < 5
    # ... and corrected: E[m̂_t] = E[g], E[v̂_t] = E[g²].
    assert np.max(np.abs(_z(m / bias_factor(beta1, t)[:, None], mean))) < 5
    assert np.max(np.abs(_z(v / bias_factor(beta2, t)[:, None], second))) < 5
    # The uncorrected first moment really is biased: at t = 1 it is off by many standard errors.
    assert abs(_z(m[:1], mean)[0]) > 20 or beta1 < 0.6


def test_ema_is_the_unrolled_weighted_sum():
    g = np.random.default_rng(1).normal(size=25)
    for beta in (0.0, 0.3, 0.9):
        m = ema_from_zero(g, beta)
        for t in (1, 7, 25):
            assert np.isclose(m[t - 1], ema_weights(beta, t) @ g[:t])
            assert np.isclose(ema_weights(beta, t).sum(), bias_factor(beta, t))


def test_ema_broadcasts_over_betas():
    g = np.ones((5, 1))
    m = ema_from_zero(g, np.array([0.5, 0.9]))
    assert m.shape == (5, 2)
    assert np.allclose(m[:, 0], 1 - 0.5 ** np.arange(1, 6))


# ---------------------------------------------------------------------------------------------
# Adam under a constant gradient (theorem ch8-thm-first) and Adam ⊃ RMSProp
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("beta1", "beta2"), [(0.9, 0.999), (0.5, 0.99), (0.0, 0.9)])
def test_adam_steps_under_a_constant_gradient(beta1, beta2):
    line = LinearLoss(-2.0)
    plain = run(line, Adam(lr=0.01, beta1=beta1, beta2=beta2, eps=0.0, bias_correction=False),
                x0=0.0, steps=50)
    corrected = run(line, Adam(lr=0.01, beta1=beta1, beta2=beta2, eps=0.0), x0=0.0, steps=50)
    t = np.arange(1, 51)
    assert np.allclose(np.diff(plain.points[:, 0]), 0.01 * uncorrected_step_factor(beta1, beta2, t))
    assert np.allclose(np.diff(corrected.points[:, 0]), 0.01)


def test_default_uncorrected_steps_are_too_long():
    factor = uncorrected_step_factor(0.9, 0.999, np.arange(1, 5001))
    assert np.isclose(factor[0], 0.1 / math.sqrt(0.001))
    assert 6 < factor.max() < 7 and factor[-1] > 1


def test_adam_without_beta1_and_correction_is_rmsprop():
    w = Wiggly()
    a = run(w, Adam(lr=0.3, beta1=0.0, beta2=0.9, bias_correction=False), x0=-20.0, steps=300)
    b = run(w, RMSProp(lr=0.3, rho=0.9, eps=1e-8), x0=-20.0, steps=300)
    assert np.array_equal(a.points, b.points)


# ---------------------------------------------------------------------------------------------
# The seed's Adam (chapter 8, theorem ch8-thm-writeback)
# ---------------------------------------------------------------------------------------------


def _seed_loop(lr: float, rou2: float, steps: int) -> tuple[list[float], list[float]]:
    """Seed 000's pseudocode, line by line, in plain Python floats."""
    def df(x: float) -> float:
        return (9 / 200) * x - math.sin(x) - math.sin(5 * x) + math.cos(3 * x) + math.cos(7 * x)

    rou1, delta = 0.9, 1e-8
    x, s, r, t = -20.0, 0.0, 0.0, 0
    xs, rs = [x], []
    for _ in range(steps):
        t += 1
        g = df(x)
        s = rou1 * s + (1 - rou1) * g
        r = rou2 * r + (1 - rou2) * g * g
        s = s / (1 - rou1**t)
        r = r / (1 - rou2**t)
        x = x - lr / (delta + math.sqrt(r)) * s
        xs.append(x)
        rs.append(r)
    return xs, rs


def _write_back(objective, optimizer, steps):
    """Points and the recorded second moment v_t (t = 1..steps) of a write-back Adam run from −20."""
    trajectory = run(objective, optimizer, x0=-20.0, steps=steps, record=("v",))
    return trajectory.points, trajectory.states["v"][1:]


@pytest.mark.parametrize("beta2", [0.9, 0.999])
def test_write_back_adam_reproduces_the_published_loop(beta2):
    xs, rs = _seed_loop(0.5, beta2, 120)
    points, r = _write_back(Wiggly(), WriteBackAdam(lr=0.5, beta2=beta2), 120)
    assert np.allclose(points[:, 0], xs, rtol=1e-12, atol=1e-12)
    assert np.allclose(r[:, 0], rs, rtol=1e-12)


def test_seed_variant_overflows_and_freezes_where_the_theorem_says():
    w = Wiggly()
    lrs = 2 * 1.2 ** -np.arange(0, 48, 6)
    points, r = _write_back(w, WriteBackAdam(lr=lrs, beta2=0.999), 1000)
    overflowed = ~np.isfinite(r[..., 0])
    assert overflowed.any(axis=0).all()
    first = np.argmax(overflowed, axis=0) + 1
    # Bounds of the theorem: (1−β)β^{t−1} g1² P_t ≤ r_t ≤ G² P_t.
    t = np.arange(1, 1001)
    log_p = log10_writeback_factor(0.999, t)
    g_max = np.max(np.abs(w.grad(points[:-1])))
    g1 = abs(w.grad(np.array([-20.0]))[0])
    earliest = t[np.argmax(log_p + 2 * np.log10(g_max) > LOG10_MAX)]
    latest = t[np.argmax(log_p + np.log10(0.001) + (t - 1) * np.log10(0.999) + 2 * np.log10(g1)
                         > LOG10_MAX)]
    assert np.all((earliest <= first) & (first <= latest))
    assert first.min() > 100           # not "within a hundred steps"
    # x never blows up: it freezes near the start.
    assert np.all(np.isfinite(points)) and np.max(np.abs(points)) <= 20
    assert np.max(np.abs(points[-1] - points[10])) < 1e-6


def test_correct_adam_with_beta2_0999_behaves_on_the_seed_sweep():
    w = Wiggly()
    lrs = 2 * 1.2 ** -np.arange(48)
    adam = run(w, Adam(lr=lrs, beta2=0.999), x0=-20.0, steps=1000, record=("nu",))
    assert not adam.diverged.any()
    assert np.nanmax(np.abs(adam.points)) <= 20 + 1e-9
    g2 = w.grad(adam.points[:-1]) ** 2
    v_hat = adam.states["nu"][1:] / bias_factor(0.999, np.arange(1, 1001))[:, None, None]
    # the recorded second moment is the moving average of the squared gradients the run saw
    assert np.allclose(adam.states["nu"][1:], ema_from_zero(g2, 0.999), rtol=1e-12, atol=0)
    assert np.all(v_hat <= g2.max() * (1 + 1e-12))   # an average of squares stays below the max


def test_seed_variant_with_beta2_09_stays_finite_but_takes_huge_steps():
    w = Wiggly()
    points, r = _write_back(w, WriteBackAdam(lr=2.0, beta2=0.9), 1000)
    assert np.all(np.isfinite(r))
    adam = run(w, Adam(lr=2.0, beta2=0.9), x0=-20.0, steps=1000)
    assert np.max(np.abs(points)) > 100 * np.nanmax(np.abs(adam.points)) / 20


def test_writeback_bounds_on_random_gradients():
    rng = np.random.default_rng(3)
    beta, G = 0.95, 2.0
    g = rng.uniform(-G, G, size=200)
    r, rs = 0.0, []
    for t, gt in enumerate(g, start=1):
        r = (beta * r + (1 - beta) * gt**2) / (1 - beta**t)
        rs.append(r)
    t = np.arange(1, 201)
    p = 10 ** log10_writeback_factor(beta, t)
    assert np.all(np.array(rs) <= G**2 * p * (1 + 1e-12))
    assert np.all(np.array(rs) >= (1 - beta) * beta ** (t - 1) * g[0] ** 2 * p * (1 - 1e-12))


def test_log10_writeback_factor_is_the_product():
    t = np.arange(1, 30)
    direct = np.cumprod(1 / (1 - 0.8**t))
    assert np.allclose(10 ** log10_writeback_factor(0.8, t), direct)
    assert log10_writeback_factor(0.999, 100_000) > LOG10_MAX > log10_writeback_factor(0.99, 10**5)
    with pytest.raises(ValueError, match="at least 1"):
        log10_writeback_factor(0.9, 0)


def test_write_back_adam_validates():
    with pytest.raises(ValueError, match="beta2"):
        WriteBackAdam(lr=0.1, beta2=1.0)
    with pytest.raises(ValueError, match="lr"):
        WriteBackAdam(lr=0.0)


# ---------------------------------------------------------------------------------------------
# AdaGrad and RMSProp (chapter 7)
# ---------------------------------------------------------------------------------------------


def test_adagrad_ignores_per_coordinate_gradient_scale():
    fit = sparse_feature_data()
    assert np.allclose(fit.hessian_matrix, np.diag([1.0, 0.05]))
    bowl = QuadraticND(np.eye(2), b=fit.minimizer)
    a = run(fit, AdaGrad(lr=1.0, eps=0.0), x0=[-1.0, -0.5], steps=60)
    b = run(bowl, AdaGrad(lr=1.0, eps=0.0), x0=[-1.0, -0.5], steps=60)
    assert np.max(np.abs(a.points - b.points)) < 1e-12
    assert np.allclose(np.abs(a.points[1] - a.points[0]), 1.0)


def test_adagrad_steps_shrink_as_one_over_root_k():
    trajectory = run(LinearLoss(3.0), AdaGrad(lr=0.5, eps=0.0), x0=0.0, steps=400)
    k = np.arange(1, 401)
    assert np.allclose(-np.diff(trajectory.points[:, 0]), 0.5 / np.sqrt(k))
    assert np.allclose(effective_steps(trajectory)[:, 0], 0.5 / (3.0 * np.sqrt(k)))
    travelled = 20.0 - run(LinearLoss(1.0), AdaGrad(lr=0.5, eps=0.0), x0=20.0, steps=400).final[0]
    assert 2 * 0.5 * (math.sqrt(401) - 1) <= travelled <= 2 * 0.5 * math.sqrt(400)


@pytest.mark.parametrize("rho", [0.8, 0.9, 0.99])
def test_rmsprop_steps_under_a_constant_gradient(rho):
    trajectory = run(LinearLoss(1.0), RMSProp(lr=1.0, rho=rho, eps=0.0), x0=0.0, steps=40)
    k = np.arange(1, 41)
    assert np.allclose(-np.diff(trajectory.points[:, 0]), 1 / np.sqrt(1 - rho**k))


def test_rmsprop_ends_in_the_two_point_cycle_on_a_parabola():
    a, lr = 3.0, 0.2
    trajectory = run(Quadratic1D(a / 2), RMSProp(lr=lr, rho=0.9, eps=0.0), x0=2.0, steps=600)
    tail = trajectory.points[-10:, 0]
    assert np.allclose(np.abs(tail), lr / 2, atol=1e-6)
    assert np.all(np.sign(tail[1:]) == -np.sign(tail[:-1]))


def test_adagrad_beats_gradient_descent_on_the_sparse_feature():
    fit = sparse_feature_data()
    best = 2 / (1 + 0.05)
    gd = run(fit, GradientDescent(lr=best), x0=[-1.0, -0.5], steps=200)
    ada = run(fit, AdaGrad(lr=1.0), x0=[-1.0, -0.5], steps=200)
    first = {name: int(np.argmax(tr.distances(fit.minimizer) < 1e-3)) for name, tr in
             [("gd", gd), ("ada", ada)]}
    assert 0 < first["ada"] < first["gd"] / 3


def test_sparse_feature_data_validates():
    with pytest.raises(ValueError):
        sparse_feature_data(n=0)


# ---------------------------------------------------------------------------------------------
# Where ε goes (chapter 7)
# ---------------------------------------------------------------------------------------------


def test_eps_placement_multipliers():
    eps = 1e-8
    assert np.isclose(step_multiplier(1e-8, eps=eps, inside=True), 1 / math.sqrt(2e-8))
    assert np.isclose(step_multiplier(1e-8, eps=eps), 1 / (1e-4 + 1e-8))
    # Large gradients: both placements agree to 1e-6; at √s = 1e-4 inside cuts the step by 1/√2.
    assert np.isclose(step_multiplier(1.0, eps=eps, inside=True), step_multiplier(1.0, eps=eps),
                      rtol=1e-6)
    ratio = step_multiplier(1e-8, eps=eps, inside=True) / step_multiplier(1e-8, eps=0.0)
    assert np.isclose(ratio, 1 / math.sqrt(2))


@pytest.mark.parametrize("rule", [AdaGrad, RMSProp])
def test_eps_inside_variants_measure_the_difference(rule):
    outside = rule

    def inside(**kwargs):
        return rule(**kwargs, eps_inside=True)

    # Without a guard the two placements are the same algorithm.
    slope = GentleSlope()
    same_a = run(slope, outside(lr=0.5, eps=0.0), x0=20.0, steps=100)
    same_b = run(slope, inside(lr=0.5, eps=0.0), x0=20.0, steps=100)
    assert np.allclose(same_a.points, same_b.points)
    # First step on c·x with ε = 1e-8 is η c/(|c| + ε) outside and η c/√(c² + ε) inside.
    for c in (1.0, 1e-4, 1e-6):
        first_out = run(LinearLoss(c), outside(lr=1.0, eps=1e-8), x0=0.0, steps=1).final[0]
        first_in = run(LinearLoss(c), inside(lr=1.0, eps=1e-8), x0=0.0, steps=1).final[0]
        scale = 1.0 if rule is AdaGrad else math.sqrt(1 - 0.99)   # RMSProp's s_1 = (1 − ρ) c²
        assert np.isclose(-first_out, c / (scale * c + 1e-8))
        assert np.isclose(-first_in, c / math.sqrt(scale**2 * c**2 + 1e-8))
    # Scale invariance breaks at √ε for the inside guard, long before ε for the outside one.
    far = {}
    for cls in (outside, inside):
        far[cls] = abs(run(Scaled(slope, 1e-6), cls(lr=0.5, eps=1e-8), x0=20.0, steps=300).final[0])
    reference = abs(run(slope, outside(lr=0.5, eps=1e-8), x0=20.0, steps=300).final[0])
    assert abs(far[outside] - reference) < 0.05 * max(reference, 1.0)
    assert far[inside] > reference + 5


# ---------------------------------------------------------------------------------------------
# Objectives and wrappers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", [GentleSlope(2.0), Scaled(Wiggly(), 3.0), LinearLoss(-1.5)])
def test_gradients_and_hessians_match_finite_differences(objective):
    x = np.array([[-3.0], [0.4], [7.0]])
    h = 1e-6
    numeric = (objective.value(x + h) - objective.value(x - h)) / (2 * h)
    assert np.allclose(objective.grad(x)[:, 0], numeric, atol=1e-6)
    numeric2 = (objective.grad(x + h) - objective.grad(x - h))[:, 0] / (2 * h)
    assert np.allclose(objective.hessian(x)[:, 0, 0], numeric2, atol=1e-5)


def test_objective_validation():
    with pytest.raises(ValueError):
        GentleSlope(0.0)
    with pytest.raises(ValueError):
        Scaled(Wiggly(), -1.0)
    with pytest.raises(ValueError, match="larger than 2"):
        ReddiProblem(C=2.0)


def test_projection_and_inverse_sqrt_decay():
    # GD on a line with η/√t: x_t = x_0 − η Σ 1/√k, clipped at the bottom of the interval.
    decayed = run(LinearLoss(1.0), GradientDescent(lr=inverse_sqrt_decay(0.1)), x0=0.0, steps=50)
    assert np.allclose(decayed.points[1:, 0], -0.1 * np.cumsum(1 / np.sqrt(np.arange(1, 51))))
    clipped = run(LinearLoss(1.0), Projected(GradientDescent(lr=0.3), -1.0, 1.0), x0=0.0, steps=10)
    assert clipped.points[:, 0].min() == -1.0 and np.all(np.abs(clipped.points) <= 1)
    with pytest.raises(ValueError):
        Projected(GradientDescent(lr=0.1), 1.0, -1.0)
    assert Adam(lr=inverse_sqrt_decay(np.array([0.1, 0.2]))).batch_shape == (2,)


# ---------------------------------------------------------------------------------------------
# Reddi et al.'s counterexample (chapter 8)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("corrected", [False, True])
def test_adam_drifts_to_the_wrong_end_and_amsgrad_does_not(corrected):
    problem = ReddiProblem(3.0)
    ends = {}
    for amsgrad in (False, True):
        base = Adam(lr=inverse_sqrt_decay(0.5), beta1=0.0, beta2=problem.adam_beta2,
                    amsgrad=amsgrad, bias_correction=corrected)
        trajectory = run_online(problem, Projected(base, -1, 1), 0.0, 3000)
        assert np.all(np.abs(trajectory.points) <= 1)
        ends[amsgrad] = trajectory.points[-300:, 0].mean()
    assert ends[False] > 0.9 and ends[True] < -0.9
    # The average loss is ((C − 2)/3) x: Adam ends near its maximum, AMSGrad near its minimum.
    assert problem.average.value([1.0]) > 0 > problem.average.value([-1.0])


def test_reddi_period_drift():
    assert reddi_period_drift(3.0, 0.1) > 0 > reddi_period_drift(3.0, 0.1, amsgrad=True)
    # AMSGrad's drift is (2 − C)/√v_max for every β2; a long memory also saves plain Adam here.
    for C in (3.0, 10.0):
        beta2 = 1 / (1 + C**2)
        assert reddi_period_drift(C, beta2) > 0
        assert reddi_period_drift(C, 0.999) < 0
    with pytest.raises(ValueError, match="beta2"):
        reddi_period_drift(3.0, 1.5)


def test_run_online_validates_steps():
    with pytest.raises(ValueError, match="steps"):
        run_online(ReddiProblem(), GradientDescent(lr=0.1), 0.0, 0)
