"""The claims of chapter 2 (the second-derivative insight), checked on random problems.

Every expectation comes from the chapter's theorems: the error multiplier 1 − ηf″ and its five
regimes, steepest descent along −∇f, the rate max|1 − ηλᵢ| and threshold 2/λ_max, and the best
fixed step 2/(λ_min + λ_max) with rate (κ − 1)/(κ + 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import GradientDescent, Newton, Quadratic1D, QuadraticND, run, theory
from lessons_src.analysis import rate_from_ratios

RNG_SEEDS = range(5)


def random_bowl(
    rng: np.random.Generator, d: int, *, centred: bool = False
) -> tuple[QuadraticND, np.ndarray, np.ndarray]:
    """A rotated d-D bowl with random eigenvalues in [0.3, 30]; returns it, Q and the eigenvalues.

    ``centred`` puts the minimiser at the origin, so errors can shrink far below 1e-16.
    """
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.sort(rng.uniform(0.3, 30.0, size=d))
    A = Q @ np.diag(lam) @ Q.T
    b = None if centred else rng.normal(size=d)
    return QuadraticND((A + A.T) / 2, b=b), Q, lam


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_parabola_regimes(seed: int) -> None:
    """Theorem ch2-thm-regimes: monotone, one step, oscillating, 2-cycle, divergence."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 10), rng.uniform(-5, 5)
    f = Quadratic1D(a, b, rng.uniform(-1, 1))
    h, x_star = f.curvature, f.minimizer
    x0 = x_star + rng.choice([-1, 1]) * rng.uniform(0.5, 3)
    c = np.array([0.5, 1.0, 1.5, 2.0, 2.3])
    e = run(f, GradientDescent(lr=c / h), x0=x0, steps=40).points[..., 0] - x_star
    monotone, one_step, oscillating, cycle, growing = e.T
    assert np.all(np.sign(monotone[:20]) == np.sign(e[0, 0]))
    assert np.all(np.abs(np.diff(monotone[:20])) > 0) and abs(monotone[20]) < abs(monotone[0])
    assert abs(one_step[1]) <= 1e-12 * max(1.0, abs(x_star))
    signs = np.sign(oscillating[:20])
    assert np.all(signs[1:] == -signs[:-1]) and abs(oscillating[20]) < 1e-5 * abs(x0 - x_star)
    assert np.allclose(cycle[::2], e[0, 0], rtol=1e-8) and np.allclose(cycle[1::2], -e[0, 0], rtol=1e-8)
    assert abs(growing[-1]) > 1e3 * abs(growing[0])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_one_step_is_newton(seed: int) -> None:
    """η = 1/f″ is Newton's step and lands on the minimum of a parabola."""
    rng = np.random.default_rng(seed)
    f = Quadratic1D(rng.uniform(0.1, 10), rng.uniform(-5, 5))
    x0 = rng.uniform(-10, 10)
    gd = run(f, GradientDescent(lr=1 / f.curvature), x0=x0, steps=1).final[0]
    newton = run(f, Newton(), x0=x0, steps=1).final[0]
    assert gd == pytest.approx(newton, abs=1e-12) and gd == pytest.approx(f.minimizer, abs=1e-10)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_steepest_descent_direction(seed: int) -> None:
    """Theorem ch2-thm-steepest, with directional derivatives from finite differences of f."""
    rng = np.random.default_rng(seed)
    bowl = QuadraticND.with_condition_number(rng.uniform(1, 50), angle=rng.uniform(0, np.pi))
    x = rng.normal(size=2) * 3
    angles = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    u = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    eps = 1e-5
    slopes = (bowl.value(x + eps * u) - bowl.value(x - eps * u)) / (2 * eps)
    g = bowl.grad(x)
    best = u[np.argmin(slopes)]
    assert best @ (-g / np.linalg.norm(g)) > np.cos(angles[1])
    assert slopes.min() == pytest.approx(-np.linalg.norm(g), rel=1e-5)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_threshold_is_two_over_largest_eigenvalue(seed: int) -> None:
    """Theorem ch2-thm-rate: converges from a generic start iff η < 2/λ_max."""
    rng = np.random.default_rng(seed)
    bowl, _, lam = random_bowl(rng, d=int(rng.integers(2, 8)))
    x0 = rng.normal(size=bowl.dim)
    fractions = np.array([0.3, 0.95, 1.05, 1.5])
    sweep = run(bowl, GradientDescent(lr=fractions * 2 / lam[-1]), x0=x0, steps=4000)
    rel = sweep.distances(bowl.minimizer)[-1] / np.linalg.norm(x0 - bowl.minimizer)
    assert np.all(rel[:2] < 1e-6)
    assert np.all(sweep.diverged[2:] | (rel[2:] > 1e6))


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_rate_bound_and_equality(seed: int) -> None:
    """‖e_k‖ ≤ ρ^k ‖e_0‖ with ρ = max|1 − ηλᵢ| = ‖I − ηA‖₂, equality along the worst eigenvector."""
    rng = np.random.default_rng(seed)
    bowl, Q, lam = random_bowl(rng, d=5)
    lrs = rng.uniform(0.01, 2.1, size=16) / lam[-1]
    rho = theory.gd_rate(lrs, lam)
    assert np.allclose(rho, [np.linalg.norm(np.eye(5) - lr * bowl.A, 2) for lr in lrs])
    errors = run(bowl, GradientDescent(lr=lrs), x0=rng.normal(size=5), steps=100).distances(
        bowl.minimizer
    )
    k = np.arange(101)[:, None]
    assert np.all(errors <= rho**k * errors[0] * (1 + 1e-9) + 1e-12)
    lr = 0.9 * 2 / lam[-1]
    worst = int(np.argmax(np.abs(1 - lr * lam)))
    along = run(bowl, GradientDescent(lr=lr), x0=bowl.minimizer + Q[:, worst], steps=30)
    assert np.allclose(along.distances(bowl.minimizer), theory.gd_rate(lr, lam) ** np.arange(31))


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_observed_rate_matches_prediction(seed: int) -> None:
    """The rate measured from runs equals max|1 − ηλᵢ| (start with a component along each eigenvector)."""
    rng = np.random.default_rng(seed)
    bowl, _, lam = random_bowl(rng, d=3, centred=True)
    lrs = np.linspace(0.05, 1.02, 12) * 2 / lam[-1]
    x0 = rng.normal(size=3)
    errors = run(bowl, GradientDescent(lr=lrs), x0=x0, steps=300).distances(bowl.minimizer)
    assert np.allclose(rate_from_ratios(errors, tail=20), theory.gd_rate(lrs, lam), atol=2e-3)


@pytest.mark.parametrize("kappa", [1.0, 1.7, 10.0, 123.0, 5000.0])
def test_best_fixed_step(kappa: float) -> None:
    """Theorem ch2-thm-best: 2/(λ_min + λ_max) minimises the rate, which is (κ − 1)/(κ + 1)."""
    lam_min = 0.37
    lam = np.array([lam_min, 3 * lam_min, kappa * lam_min]) if kappa > 3 else np.array(
        [lam_min, kappa * lam_min]
    )
    grid = np.linspace(1e-9, 2 / lam[-1], 400_001)
    rates = theory.gd_rate(grid, lam)
    best = theory.best_gd_step(lam_min, kappa * lam_min)
    assert abs(grid[np.argmin(rates)] - best) <= 2 * (grid[1] - grid[0])
    assert rates.min() == pytest.approx(theory.best_gd_rate(kappa), abs=1e-6)
    assert theory.gd_rate(best, lam) == pytest.approx((kappa - 1) / (kappa + 1), abs=1e-12)


@pytest.mark.parametrize("kappa", [3.0, 10.0, 50.0, 400.0])
def test_best_step_2d_exact_norm_and_zigzag(kappa: float) -> None:
    """In 2-D at the best step ‖e_k‖ = ρ*^k ‖e_0‖ exactly; the steep coordinate flips sign each step."""
    bowl = QuadraticND.with_condition_number(kappa, angle=0.7)
    rho = theory.best_gd_rate(kappa)
    traj = run(bowl, GradientDescent(lr=theory.best_gd_step(1.0, kappa)), x0=[-4.0, 2.5], steps=60)
    errors = traj.distances(bowl.minimizer)
    assert np.allclose(errors, rho ** np.arange(61) * errors[0], rtol=1e-9)
    vectors = np.linalg.eigh(bowl.A)[1]
    flat, steep = ((traj.points - bowl.minimizer) @ vectors).T
    assert np.all(np.sign(steep[1:]) == -np.sign(steep[:-1]))
    assert np.all(np.sign(flat) == np.sign(flat[0]))


@pytest.mark.parametrize("kappa", [2.0, 20.0, 200.0])
def test_iterations_to_tolerance(kappa: float) -> None:
    """Steps to reach ε at the best step: ⌈ln ε / ln ρ*⌉ (±1 for rounding), about κ/2 · ln(1/ε)."""
    eps = 1e-6
    bowl = QuadraticND.with_condition_number(kappa, angle=0.3)
    traj = run(bowl, GradientDescent(lr=theory.best_gd_step(1.0, kappa)), x0=[1.0, -2.0],
               steps=int(kappa * 10) + 50)
    errors = traj.distances(bowl.minimizer)
    measured = int(np.argmax(errors <= eps * errors[0]))
    predicted = int(np.ceil(np.log(eps) / np.log(theory.best_gd_rate(kappa))))
    assert abs(measured - predicted) <= 1
    if kappa >= 20:
        assert measured == pytest.approx(kappa / 2 * np.log(1 / eps), rel=0.02)
