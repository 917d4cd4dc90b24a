"""Chapters 9 and 10: Newton's method's claims, and the strategies and animation modules."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import (
    GradientDescent,
    Newton,
    Quadratic1D,
    QuadraticND,
    Rosenbrock,
    Saddle,
    Wiggly,
    run,
)
from lessons_src.objectives import (
    LeastSquares,
    SmoothedWiggly,
    batch_normalize,
    monte_carlo_smoothing,
    wiggly_smoothing,
)
from lessons_src.optim import CoordinateDescent
from lessons_src.runner import continuation
from lessons_src.theory import quadratic_model
from lessons_src.viz.animation import frame_steps, race, to_html

XS = np.linspace(-12.0, 12.0, 37)[:, None]


# --- the smoothed wiggly function -------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.0, 0.3, 1.0, 2.5])
def test_smoothed_wiggly_derivatives_match_finite_differences(sigma):
    f = SmoothedWiggly(sigma)
    h = 1e-5
    grad_fd = (f.value(XS + h) - f.value(XS - h)) / (2 * h)
    hess_fd = (f.grad(XS + h) - f.grad(XS - h))[:, 0] / (2 * h)
    np.testing.assert_allclose(f.grad(XS)[:, 0], grad_fd, atol=1e-7)
    np.testing.assert_allclose(f.hessian(XS)[:, 0, 0], hess_fd, atol=1e-6)


def test_zero_smoothing_is_the_wiggly_function():
    f, w = SmoothedWiggly(0.0), Wiggly()
    np.testing.assert_allclose(f.value(XS), w.value(XS), atol=1e-13)
    np.testing.assert_allclose(f.grad(XS), w.grad(XS), atol=1e-12)
    np.testing.assert_allclose(f.hessian(XS), w.hessian(XS), atol=1e-11)


@pytest.mark.parametrize("sigma", [0.2, 0.7, 1.5])
def test_closed_form_smoothing_agrees_with_monte_carlo(sigma):
    points = np.array([[-20.0], [-2.9], [0.0], [4.1]])
    samples = 400_000
    rng = np.random.default_rng(1)
    estimate = monte_carlo_smoothing(Wiggly(), points, sigma, samples, rng)
    # Standard error of each estimate, from a second, independent sample of f(x + σZ).
    draws = Wiggly().value(points + sigma * np.random.default_rng(2).standard_normal((20_000, 4, 1)))
    stderr = draws.std(axis=0) / np.sqrt(samples)
    assert np.all(np.abs(estimate - SmoothedWiggly(sigma).value(points)) < 5 * stderr + 1e-12)


def test_smoothing_damps_each_ripple_by_the_gaussian_factor():
    f = SmoothedWiggly(0.8)
    assert f.damping(3.0) == pytest.approx(np.exp(-0.5 * 9 * 0.64))
    # A large sigma leaves only the bowl (plus its constant), which is convex.
    flat = SmoothedWiggly(4.0)
    assert np.all(flat.hessian(XS)[:, 0, 0] > 0)


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf])
def test_smoothing_rejects_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma"):
        SmoothedWiggly(bad)


def test_continuation_tracks_the_global_minimum_from_the_left_and_a_local_one_from_the_right():
    """Chapter 10's claims: from -20 it finds the global minimum, from +20 it does not."""
    sigmas = [2.0, 1.6, 1.3, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.1, 0.0]
    wiggly = Wiggly()
    left = continuation(wiggly_smoothing, sigmas, Newton(alpha=0.5), -20.0, 200)
    right = continuation(wiggly_smoothing, sigmas, Newton(alpha=0.5), 20.0, 200)
    assert left.final[0] == pytest.approx(wiggly.global_minimizer(), abs=1e-6)
    assert abs(wiggly.grad(right.final)[0]) < 1e-8 and wiggly.hessian(right.final)[0, 0] > 0
    assert abs(right.final[0] - left.final[0]) > 5
    assert wiggly.value(right.final) > wiggly.value(left.final) + 0.05
    assert left.ends.shape == (len(sigmas), 1)
    # Plain descent from -20 stays in the first local minimum.
    stuck = run(wiggly, GradientDescent(lr=0.05), -20.0, 1000).final[0]
    assert stuck < -19


def test_continuation_rejects_an_empty_schedule():
    with pytest.raises(ValueError):
        continuation(wiggly_smoothing, [], Newton(), 0.0, 5)


# --- Newton's method ----------------------------------------------------------------------------


def test_newton_solves_any_positive_definite_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    for d in (1, 2, 7, 30):
        M = rng.standard_normal((d, d))
        q = QuadraticND(M @ M.T + 0.05 * np.eye(d), rng.standard_normal(d))
        x0 = 10 * rng.standard_normal((5, d))  # a batch of starts
        landed = run(q, Newton(), x0, 1).final
        np.testing.assert_allclose(landed, np.broadcast_to(q.minimizer, landed.shape), atol=1e-8)
    assert run(Quadratic1D(4, -4, 1), Newton(), 5.0, 1).final[0] == pytest.approx(0.5)


def test_newton_converges_quadratically_near_the_wiggly_minimum():
    wiggly = Wiggly()
    x_star = wiggly.global_minimizer()
    mu = wiggly.hessian([x_star])[0, 0]
    grid = np.linspace(x_star - 0.2, x_star + 0.2, 4001)[:, None]
    lip = np.abs(np.gradient(wiggly.hessian(grid)[:, 0, 0], grid[:, 0])).max()
    errors = run(wiggly, Newton(), x_star + mu / (2 * lip), 6).distances([x_star])
    assert np.all(errors[1:] <= lip / mu * errors[:-1] ** 2 + 1e-15)
    assert errors[3] < 1e-8


def test_plain_newton_from_minus_twenty_ends_on_a_maximum():
    wiggly = Wiggly()
    end = run(wiggly, Newton(), -20.0, 1000).final
    assert abs(wiggly.grad(end)[0]) < 1e-10 and wiggly.hessian(end)[0, 0] < 0


@pytest.mark.parametrize("point", [[0.0, 1.0], [-1.2, 1.0], [0.5, -0.3]])
def test_regularised_step_tends_to_newton_as_alpha_vanishes(point):
    f = Rosenbrock()
    newton = run(f, Newton(), point, 1).final
    for alpha, tol in [(1e-4, 1e-2), (1e-7, 1e-5)]:
        step = run(f, Newton(alpha=alpha), point, 1).final
        assert np.linalg.norm(step - newton) <= tol * max(1.0, np.linalg.norm(newton - point))


@pytest.mark.parametrize("point", [[0.0, 1.0], [-1.2, 1.0], [0.5, -0.3]])
def test_regularised_step_tends_to_gradient_descent_with_step_one_over_alpha(point):
    f = Rosenbrock()
    lam = np.abs(np.linalg.eigvalsh(f.hessian(np.array(point)))).max()
    gaps = []
    for alpha in [10 * lam, 100 * lam, 1000 * lam]:
        reg = run(f, Newton(alpha=alpha), point, 1).final - point
        gd = run(f, GradientDescent(lr=1 / alpha), point, 1).final - point
        gap = np.linalg.norm(reg - gd) / np.linalg.norm(gd)
        assert gap <= lam / (alpha - lam)  # the bound of the chapter's proposition
        gaps.append(gap)
    assert gaps[0] > gaps[1] > gaps[2]


def test_regularised_direction_points_downhill_when_alpha_exceeds_minus_the_smallest_eigenvalue():
    f = Saddle(1.0, 3.0)  # eigenvalues 1 and -3
    x = np.array([0.4, 0.2])
    g = f.grad(x)
    for alpha in [3.01, 5.0, 50.0]:
        direction = x - run(f, Newton(alpha=alpha), x, 1).final
        assert g @ direction > 0
    # Plain Newton on the saddle goes straight to the saddle point, uphill along y.
    np.testing.assert_allclose(run(f, Newton(), x, 1).final, [0.0, 0.0], atol=1e-15)


def test_quadratic_model_matches_value_slope_and_curvature():
    wiggly = Wiggly()
    xk, h = -2.3, 1e-4
    m = lambda x: quadratic_model(wiggly, xk, np.asarray(x))  # noqa: E731
    assert m(xk) == pytest.approx(wiggly.value([xk])[()])
    assert (m(xk + h) - m(xk - h)) / (2 * h) == pytest.approx(wiggly.grad([xk])[0], rel=1e-6)
    assert (m(xk + h) - 2 * m(xk) + m(xk - h)) / h**2 == pytest.approx(
        wiggly.hessian([xk])[0, 0], rel=1e-4
    )
    # Newton's step lands on the model's stationary point.
    x_next = run(wiggly, Newton(), xk, 1).final[0]
    assert (m(x_next + h) - m(x_next - h)) / (2 * h) == pytest.approx(0.0, abs=1e-7)


# --- coordinate descent -----------------------------------------------------------------------


def test_exact_coordinate_descent_solves_a_diagonal_quadratic_in_one_sweep():
    q = QuadraticND.from_eigenvalues([0.5, 3.0, 40.0, 1000.0], minimizer=[1.0, -2.0, 0.5, 3.0])
    trajectory = run(q, CoordinateDescent(), [9.0, 9.0, 9.0, 9.0], 4)
    np.testing.assert_allclose(trajectory.final, q.minimizer, atol=1e-12)
    # Each step changes exactly one coordinate, in order.
    changed = np.abs(np.diff(trajectory.points, axis=0)) > 0
    np.testing.assert_array_equal(changed, np.eye(4, dtype=bool))


def test_exact_coordinate_descent_rate_on_a_coupled_quadratic_is_c2_over_ab():
    a, b, c = 2.0, 5.0, 2.5
    q = QuadraticND([[a, c], [c, b]])
    trajectory = run(q, CoordinateDescent(), [3.0, -1.0], 20)
    x2 = trajectory.points[2::2, 1]  # x2 after each full sweep
    np.testing.assert_allclose(x2[1:] / x2[:-1], c**2 / (a * b), rtol=1e-9)


def test_gradient_coordinate_descent_sweeps_and_broadcasts_over_step_sizes():
    q = QuadraticND.from_eigenvalues([1.0, 4.0])
    lrs = np.array([0.1, 0.2, 0.25])
    trajectory = run(q, CoordinateDescent(lr=lrs, newton=False), [1.0, 1.0], 2)
    assert trajectory.points.shape == (3, 3, 2)
    np.testing.assert_allclose(trajectory.final[:, 0], 1 - lrs * 1.0)
    np.testing.assert_allclose(trajectory.final[:, 1], 1 - lrs * 4.0)


def test_coordinate_descent_rejects_bad_step():
    with pytest.raises(ValueError, match="lr"):
        CoordinateDescent(lr=0.0)


# --- conditioning and batch normalisation ----------------------------------------------------


def _regression(rng):
    X = np.column_stack([rng.normal(3.0, 1.0, 200), rng.normal(-2.0, 8.0, 200)])
    y = X @ [1.5, -0.3] + 2.0 + rng.normal(0, 0.1, 200)
    return X, y


def test_batch_normalize_centres_and_scales_each_column():
    X, _ = _regression(np.random.default_rng(0))
    Z = batch_normalize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    with pytest.raises(ValueError, match="constant"):
        batch_normalize(np.ones((5, 2)))


def test_least_squares_is_half_the_mean_squared_error_and_normalising_improves_conditioning():
    X, y = _regression(np.random.default_rng(0))
    ones = np.ones((X.shape[0], 1))
    raw = LeastSquares(np.hstack([X, ones]), y)
    w = np.array([0.3, -1.0, 0.5])
    assert raw.value(w) == pytest.approx(0.5 * np.mean((np.hstack([X, ones]) @ w - y) ** 2))
    h = 1e-6
    fd = [(raw.value(w + h * e) - raw.value(w - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(raw.grad(w), fd, rtol=1e-6)
    normed = LeastSquares(np.hstack([batch_normalize(X), ones]), y)
    assert raw.condition_number > 100 * normed.condition_number
    assert normed.condition_number < 2
    # Same model class: the best achievable loss is the same.
    assert raw.value(raw.minimizer) == pytest.approx(normed.value(normed.minimizer), rel=1e-8)


# --- the animation ------------------------------------------------------------------------------


def test_frame_steps_start_at_zero_end_at_the_last_step_and_never_go_back():
    ks = frame_steps(300, 40)
    assert ks[0] == 0 and ks[-1] == 300 and np.all(np.diff(ks) >= 0) and ks.size == 40
    with pytest.raises(ValueError):
        frame_steps(10, 1)


def test_race_renders_a_small_self_contained_player_and_enforces_the_budget():
    f = Rosenbrock()
    paths = {
        "GD": run(f, GradientDescent(lr=1e-3), [-1.2, 1.0], 30).points,
        "Newton": run(f, Newton(), [-1.2, 1.0], 30).points,
    }
    animation = race(f, paths, (-2, 2), (-1, 3), frames=4, width=3, height=2.5, dpi=40)
    html = to_html(animation)
    assert html.count("data:image/png;base64,") == 4 and "<script" in html
    assert len(html) < 200_000
    with pytest.raises(ValueError, match="budget"):
        to_html(race(f, paths, (-2, 2), (-1, 3), frames=4, dpi=40), max_bytes=1000)
    with pytest.raises(ValueError):
        race(Wiggly(), {"x": np.zeros((3, 1))}, (-1, 1), (-1, 1))


def test_animation_html_loads_nothing_from_another_host():
    f = Rosenbrock()
    paths = {"GD": run(f, GradientDescent(lr=1e-3), [-1.2, 1.0], 5).points}
    html = to_html(race(f, paths, (-2, 2), (-1, 3), frames=2, width=2, height=2, dpi=30))
    assert "http://" not in html and "https://" not in html


def test_animation_frames_carry_alt_text():
    f = Rosenbrock()
    paths = {"GD": run(f, GradientDescent(lr=1e-3), [-1.2, 1.0], 5).points}
    animation = race(f, paths, (-2, 2), (-1, 3), frames=2, width=2, height=2, dpi=30)
    html = to_html(animation, alt='Two "paths" on a valley')
    assert '<img alt="Two &quot;paths&quot; on a valley" ' in html
    assert "<img alt=" not in to_html(animation)
