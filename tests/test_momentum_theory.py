"""Momentum and Nesterov on quadratics (chapters 5 and 6): the closed forms of
lessons_src.momentum_theory against direct runs of lessons_src's optimizers, and PyTorch's form."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import (
    GradientDescent,
    Momentum,
    Nesterov,
    Quadratic1D,
    QuadraticND,
    Wiggly,
    run,
    theory,
)
from lessons_src.analysis import lookahead_points, u_turns
from lessons_src.analysis import rate_from_envelope as measured_rate
from lessons_src.optim import TorchMomentum
from lessons_src.schedules import Schedule, step_decay
from lessons_src.theory import (
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

RNG = np.random.default_rng(0)
CH5_EIGENVALUES = np.array([0.2, 4.0])  # f = 0.1 x1² + 2 x2²: f'' = 2a


def ch5_quadratic() -> QuadraticND:
    q = QuadraticND(np.diag([0.2, 4.0]))
    assert np.allclose(q.value([[1.0, 1.0]]), 0.1 + 2.0)
    return q


# --- iteration matrices --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "roots"), [(heavy_ball_matrix, heavy_ball_roots), (nesterov_matrix, nesterov_roots)]
)
def test_roots_are_the_eigenvalues_of_the_iteration_matrix(matrix, roots):
    lr, beta, lam = RNG.uniform(0, 2, 200), RNG.uniform(0, 1, 200), RNG.uniform(0.01, 5, 200)
    numeric = np.sort_complex(np.linalg.eigvals(matrix(lr, beta, lam)))
    closed = np.sort_complex(roots(lr, beta, lam))
    assert np.allclose(numeric, closed, atol=1e-7)


@pytest.mark.parametrize(
    ("optimizer", "matrix"), [(Momentum, heavy_ball_matrix), (Nesterov, nesterov_matrix)]
)
def test_iteration_matrix_reproduces_a_run(optimizer, matrix):
    lam, lr, beta, x0 = 3.0, 0.3, 0.7, 2.0
    trajectory = run(Quadratic1D(lam / 2), optimizer(lr=lr, beta=beta), x0=x0, steps=25)
    M = matrix(lr, beta, lam)
    state = np.array([x0, 0.0])
    for k in range(26):
        assert np.isclose(trajectory.points[k, 0], state[0], rtol=1e-12, atol=1e-14)
        state = M @ state


# --- stability -----------------------------------------------------------------------------


def _growth(optimizer_cls, h, beta, steps=3000):
    """|x_K| / |x_0| for the optimizer on f = x²/2 (λ = 1, so ηλ = η); inf if it diverged."""
    trajectory = run(Quadratic1D(0.5), optimizer_cls(lr=h, beta=beta), x0=1.0, steps=steps)
    return np.where(trajectory.diverged, np.inf, np.abs(trajectory.final[..., 0]))


@pytest.mark.parametrize(
    ("optimizer", "limit"), [(Momentum, heavy_ball_limit), (Nesterov, nesterov_limit)]
)
def test_stability_boundary_numerically(optimizer, limit):
    betas = np.array([0.0, 0.2, 0.5, 0.8, 0.9, 0.95])
    edge = limit(betas)
    assert np.all(_growth(optimizer, 0.98 * edge, betas) < 1e-3)
    assert np.all(_growth(optimizer, 1.02 * edge, betas) > 1e3)
    # small positive ηλ converges, ηλ <= 0 does not shrink the error
    assert np.all(_growth(optimizer, 0.05 + 0 * betas, betas, steps=6000) < 1e-3)


def test_stability_limits_closed_form():
    betas = np.linspace(0, 0.99, 100)
    assert np.allclose(heavy_ball_limit(betas), 2 + 2 * betas)
    assert np.allclose(heavy_ball_rate(heavy_ball_limit(betas), betas, [1.0]), 1.0)
    assert np.allclose(nesterov_rate(nesterov_limit(betas), betas, [1.0]), 1.0)
    assert nesterov_limit(0.0) == heavy_ball_limit(0.0) == 2.0
    assert np.all(nesterov_limit(betas[1:]) < 2) and np.all(heavy_ball_limit(betas[1:]) > 2)
    assert np.isclose(nesterov_limit(1.0), 4 / 3)


def test_stability_region_on_a_grid():
    h = np.linspace(0.001, 4.5, 500)[:, None]
    b = np.linspace(0, 0.99, 100)[None, :]
    for rate, limit in [(heavy_ball_rate, heavy_ball_limit), (nesterov_rate, nesterov_limit)]:
        r = rate(h, b, [1.0])
        inside = h < limit(b)
        margin = np.abs(h - limit(b)) > 1e-6
        assert np.all((r < 1)[margin] == inside[margin])


# --- rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "rate"), [(Momentum, heavy_ball_rate), (Nesterov, nesterov_rate)]
)
def test_rate_map_matches_direct_runs(optimizer, rate):
    lr = np.linspace(0.02, 1.2, 30)[:, None]
    beta = np.linspace(0.0, 0.95, 30)[None, :]
    trajectory = run(ch5_quadratic(), optimizer(lr=lr, beta=beta), x0=[1.0, 1.0], steps=300)
    distances = trajectory.distances([0.0, 0.0])
    measured = measured_rate(distances)
    closed = rate(lr, beta, CH5_EIGENVALUES)
    usable = (closed > 0.2) & (closed < 0.98)
    assert usable.sum() > 200
    assert np.max(np.abs(measured - closed)[usable]) < 0.015
    grew = trajectory.diverged | (distances[-1] > 1e3)
    assert np.all(grew[closed > 1.05]) and not np.any(grew[closed < 0.98])


def test_critical_damping_is_where_the_roots_meet():
    lr, lam = np.linspace(0.05, 0.95, 10), 1.0
    beta = critical_damping(lr, lam)
    z = heavy_ball_roots(lr, beta, lam)
    assert np.allclose(z[..., 0], z[..., 1], atol=1e-6)
    assert np.allclose(z[..., 0].real, 1 - np.sqrt(lr), atol=1e-6)
    below = heavy_ball_roots(lr, beta * 0.9, lam)
    above = heavy_ball_roots(lr, beta + 0.5 * (1 - beta), lam)
    assert np.all(np.abs(below.imag) < 1e-12)
    assert np.all(np.abs(above.imag).max(axis=-1) > 0)
    assert np.allclose(np.abs(above), np.sqrt(beta + 0.5 * (1 - beta))[:, None])


@pytest.mark.parametrize("kappa", [4.0, 20.0, 100.0])
def test_optimal_heavy_ball_beats_every_grid_point(kappa):
    lam = np.array([1.0, kappa])
    lr_best, beta_best = optimal_heavy_ball(1.0, kappa)
    best = heavy_ball_rate(lr_best, beta_best, lam)
    assert np.isclose(best, optimal_heavy_ball_rate(kappa))
    lr = np.linspace(0.001, 4.5 / kappa, 600)[:, None]
    beta = np.linspace(0.0, 0.999, 600)[None, :]
    grid = heavy_ball_rate(lr, beta, lam)
    assert grid.min() >= best - 1e-12
    assert grid.min() < best + 0.01
    assert best < theory.best_gd_rate(kappa)


@pytest.mark.parametrize("kappa", [4.0, 20.0, 100.0])
def test_optimal_nesterov_rate_against_a_grid_search(kappa):
    lam = np.array([1.0, kappa])
    lr = np.linspace(0.001, 2.0 / kappa, 800)[:, None]
    beta = np.linspace(0.0, 0.999, 800)[None, :]
    grid = nesterov_rate(lr, beta, lam)
    assert abs(grid.min() - optimal_nesterov_rate(kappa)) < 2e-3
    assert grid.min() >= optimal_nesterov_rate(kappa) - 1e-6
    assert optimal_heavy_ball_rate(kappa) < optimal_nesterov_rate(kappa)


def test_nesterov_damps_oscillating_modes_more_at_the_same_step():
    h = np.linspace(0.05, 0.95, 19)
    beta = 0.9  # underdamped for both here
    assert np.allclose(np.abs(heavy_ball_roots(h, beta, 1.0)), np.sqrt(beta))
    nesterov = np.abs(nesterov_roots(h, beta, 1.0)).max(axis=-1)
    complex_pair = np.abs(nesterov_roots(h, beta, 1.0).imag).max(axis=-1) > 0
    assert np.allclose(nesterov[complex_pair], np.sqrt(beta * (1 - h[complex_pair])))
    assert np.all(nesterov < np.sqrt(beta))


# --- the chapter-5 quadratic -------------------------------------------------------------------


def test_chapter5_numbers():
    q = ch5_quadratic()
    assert np.allclose(q.eigenvalues, CH5_EIGENVALUES)
    assert theory.stability_threshold(q.eigenvalues[-1]) == 0.5
    gd = run(q, GradientDescent(lr=np.array([0.4, 0.6])), x0=[1.0, 1.0], steps=400)
    assert gd.distances([0, 0])[-1, 0] < 1e-10 and gd.diverged[1]
    hb = run(q, Momentum(lr=0.6, beta=0.5), x0=[1.0, 1.0], steps=400)
    assert hb.distances([0, 0])[-1] < 1e-40
    assert np.isclose(heavy_ball_rate(0.6, 0.5, CH5_EIGENVALUES), np.sqrt(0.5))
    # the smallest momentum that rescues η = 0.6: 0.6·4 < 2 + 2β  ⟺  β > 0.2
    weak = run(q, Momentum(lr=0.6, beta=np.array([0.18, 0.22])), x0=[1.0, 1.0], steps=3000)
    assert weak.diverged[0] and weak.distances([0, 0])[-1, 1] < 1e-6


# --- two ways of writing momentum ----------------------------------------------------------


@pytest.mark.parametrize("objective", [ch5_quadratic(), Wiggly()], ids=["quadratic", "wiggly"])
def test_two_forms_agree_at_a_constant_step(objective):
    x0 = [3.0, -2.0] if objective.dim == 2 else -20.0
    ours = run(objective, Momentum(lr=0.01, beta=0.9), x0=x0, steps=300)
    torch_form = run(objective, TorchMomentum(lr=0.01, momentum=0.9), x0=x0, steps=300)
    scheduled = run(objective, Momentum(lr=Schedule(lambda t: 0.01), beta=0.9), x0=x0, steps=300)
    assert np.allclose(ours.points, torch_form.points, rtol=1e-10, atol=1e-12)
    assert np.array_equal(ours.points, scheduled.points)


def test_two_forms_part_when_the_step_drops():
    q, x0, every, factor, lr, mu = ch5_quadratic(), [3.0, -2.0], 10, 0.1, 0.3, 0.9
    ours = run(q, Momentum(step_decay(lr, every, factor), mu), x0=x0, steps=40).points
    theirs = run(q, TorchMomentum(step_decay(lr, every, factor), mu), x0=x0, steps=40).points
    assert np.allclose(ours[: every + 1], theirs[: every + 1], rtol=1e-12)
    # one step after the drop: same x_K and b_K = -v_K/γ, the torch form also shrinks μ b_K
    K = every
    v_K = ours[K] - ours[K - 1]
    b_K = -v_K / lr
    assert np.allclose(theirs[K + 1] - ours[K + 1], (lr - lr * factor) * mu * b_K)
    assert np.max(np.abs(theirs[K + 1:] - ours[K + 1:])) > 1e-3


def test_torch_momentum_validates():
    with pytest.raises(ValueError, match="lr"):
        TorchMomentum(lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        TorchMomentum(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="lr must be a number"):
        TorchMomentum(lr="0.5")
    with pytest.raises(ValueError, match="schedule of lr"):
        run(Quadratic1D(1), TorchMomentum(lr=Schedule(lambda k: 0.0)), x0=1.0, steps=2)
    with pytest.raises(ValueError, match="every"):
        step_decay(0.1, 0, 0.5)


# --- helpers -------------------------------------------------------------------------------


def test_measured_rate_and_u_turns_on_known_sequences():
    k = np.arange(400)
    spiral = 0.9**k * np.abs(np.cos(0.7 * k))
    assert np.isclose(measured_rate(spiral), 0.9, atol=2e-3)
    with pytest.raises(ValueError):
        measured_rate(spiral[:100])
    alternating = np.stack([(-0.5) ** k[:10], 0.5 ** k[:10]], axis=-1)
    assert u_turns(alternating, tol=0.0).tolist() == [9, 0]
    assert u_turns((-0.5) ** k[:10], tol=0.01) == 6  # values below 0.01 from k = 7 on


def test_lookahead_points_of_a_nesterov_run():
    q, beta = ch5_quadratic(), 0.8
    x = run(q, Nesterov(lr=0.2, beta=beta), x0=[1.0, 1.0], steps=5).points
    p = lookahead_points(x, beta)
    assert np.array_equal(p[0], x[0])
    assert np.allclose(p[1:], x[1:] + beta * (x[1:] - x[:-1]))


# --- PyTorch -------------------------------------------------------------------------------


def _torch_run(x0, lr, momentum, steps, *, nesterov=False, every=None, factor=1.0):
    torch = pytest.importorskip("torch")
    A = torch.tensor(np.diag([0.2, 4.0]), dtype=torch.float64)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr, momentum=momentum, nesterov=nesterov)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=every, gamma=factor) if every else None
    points = [x.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * x @ A @ x).backward()
        opt.step()
        if sched:
            sched.step()
        points.append(x.detach().numpy().copy())
    return np.array(points)


@pytest.mark.parametrize("nesterov", [False, True])
def test_torch_momentum_matches_pytorch_with_a_step_schedule(nesterov):
    x0, lr, mu = [3.0, -2.0], 0.3, 0.9
    expected = _torch_run(x0, lr, mu, 40, nesterov=nesterov, every=10, factor=0.1)
    ours = run(ch5_quadratic(), TorchMomentum(step_decay(lr, 10, 0.1), mu, nesterov=nesterov),
               x0=x0, steps=40).points
    assert np.allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_course_nesterov_is_pytorch_nesterov_at_the_lookahead_point():
    x0, lr, beta = [3.0, -2.0], 0.2, 0.9
    expected = _torch_run(x0, lr, beta, 40, nesterov=True)
    ours = run(ch5_quadratic(), Nesterov(lr=lr, beta=beta), x0=x0, steps=40).points
    assert np.allclose(lookahead_points(ours, beta), expected, rtol=1e-11, atol=1e-13)
    assert not np.allclose(ours, expected)
