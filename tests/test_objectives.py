"""Objectives: derivatives against finite differences, batching, shape errors, minimisers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lessons_src import Quadratic1D, QuadraticND, Rosenbrock, Saddle, Wiggly


def _random_spd(dim: int, seed: int) -> np.ndarray:
    """A random, well-conditioned, exactly symmetric positive-definite matrix."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(dim, dim))
    a = m @ m.T + dim * np.eye(dim)
    return (a + a.T) / 2


# Every objective the package ships, in several parametrisations (id -> factory).
OBJECTIVES = {
    "quadratic1d": lambda: Quadratic1D(1.5, -2.0, 0.5),
    "quadratic1d-concave": lambda: Quadratic1D(-0.7, 3.0, 1.0),
    "quadraticnd-random-3d": lambda: QuadraticND(_random_spd(3, 1), b=[1.0, -2.0, 0.5]),
    "quadraticnd-eigenvalues-angle": lambda: QuadraticND.from_eigenvalues(
        [0.3, 4.0], angle=0.6, minimizer=[1.0, -2.0]
    ),
    "quadraticnd-condition-angle": lambda: QuadraticND.with_condition_number(
        25.0, smallest=0.5, angle=-1.1
    ),
    "wiggly": Wiggly,
    "rosenbrock": Rosenbrock,
    "rosenbrock-a-b": lambda: Rosenbrock(a=-0.5, b=10.0),
    "saddle": lambda: Saddle(1.0, 3.0),
}


@pytest.fixture(params=list(OBJECTIVES), ids=list(OBJECTIVES))
def objective(request):
    return OBJECTIVES[request.param]()


def _points(dim: int, n: int = 6, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, size=(n, dim))


def _central_difference(f, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences of ``f`` at one point ``x`` (shape ``(d,)``).

    Returns ``df/dx_i`` stacked on the last axis. Truncation error is O(h^4 f^(5)), about 1e-10
    for these objectives; rounding error is O(eps |f| / h), about 1e-13 |f|.
    """
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((f(x - 2 * e) - 8 * f(x - e) + 8 * f(x + e) - f(x + 2 * e)) / (12 * h))
    return np.stack(columns, axis=-1)


def test_gradient_matches_finite_differences(objective):
    """grad(x) equals central finite differences of value(x) at random points."""
    for x in _points(objective.dim):
        numeric = _central_difference(objective.value, x)
        np.testing.assert_allclose(objective.grad(x), numeric, rtol=1e-7, atol=1e-7)


def test_hessian_matches_finite_differences_of_gradient(objective):
    """hessian(x) equals central finite differences of grad(x), and is symmetric."""
    for x in _points(objective.dim, seed=1):
        hessian = objective.hessian(x)
        # Column j of the difference quotient is d grad / d x_j, i.e. H[:, j].
        numeric = _central_difference(objective.grad, x)
        np.testing.assert_allclose(hessian, numeric, rtol=1e-7, atol=1e-7)
        np.testing.assert_array_equal(hessian, np.swapaxes(hessian, -1, -2))


def test_batched_evaluation_equals_pointwise(objective):
    """A (4, 3, d) batch gives the same values, gradients and Hessians as one point at a time."""
    d = objective.dim
    batch = _points(d, n=12, seed=2).reshape(4, 3, d)
    values = objective.value(batch)
    grads = objective.grad(batch)
    hessians = objective.hessian(batch)
    assert values.shape == (4, 3)
    assert grads.shape == (4, 3, d)
    assert hessians.shape == (4, 3, d, d)
    for i, j in np.ndindex(4, 3):
        x = batch[i, j]
        # Tight, not bitwise: a batched matrix product may use FMA where a single one does not.
        np.testing.assert_allclose(values[i, j], objective.value(x), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(grads[i, j], objective.grad(x), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(hessians[i, j], objective.hessian(x), rtol=1e-13, atol=1e-13)


def test_single_point_shapes(objective):
    """One point of shape (d,) gives a scalar value, a (d,) gradient and a (d, d) Hessian."""
    d = objective.dim
    x = np.full(d, 0.3)
    assert objective.value(x).shape == ()
    assert objective.grad(x).shape == (d,)
    assert objective.hessian(x).shape == (d, d)
    np.testing.assert_array_equal(objective(x), objective.value(x))


@pytest.mark.parametrize("objective_id", ["quadratic1d", "wiggly"])
def test_one_dimensional_objectives_accept_a_bare_number(objective_id):
    """A 1-D objective treats the number 0.7 as the point [0.7]."""
    objective = OBJECTIVES[objective_id]()
    np.testing.assert_array_equal(objective.value(0.7), objective.value(np.array([0.7])))
    np.testing.assert_array_equal(objective.grad(0.7), objective.grad(np.array([0.7])))
    np.testing.assert_array_equal(objective.hessian(0.7), objective.hessian(np.array([0.7])))


def _wrong_shapes(dim: int) -> list[tuple[int, ...]]:
    """Point shapes whose last axis is not ``dim`` (the empty tuple is a bare number)."""
    shapes = [(dim + 1,), (4, dim + 2), (dim, dim + 1)]
    if dim > 1:
        shapes += [(), (dim - 1,), (4, 3, dim - 1)]
    return shapes


@pytest.mark.parametrize("method", ["value", "grad", "hessian"])
def test_wrong_point_shape_raises_clear_value_error(objective, method):
    """Points whose last axis is not d raise ValueError naming the wanted and the given shape."""
    d = objective.dim
    for shape in _wrong_shapes(d):
        expected = rf"must have shape \(\.\.\., {d}\).*got shape {re.escape(str(shape))}"
        with pytest.raises(ValueError, match=expected):
            getattr(objective, method)(np.ones(shape))


def test_quadratic1d_closed_forms():
    """f = a x² + b x + c: curvature 2a, minimiser −b/2a with zero slope and value c − b²/4a."""
    rng = np.random.default_rng(3)
    for a, b, c in rng.uniform([0.05, -10, -10], [20, 10, 10], size=(20, 3)):
        f = Quadratic1D(a, b, c)
        assert f.curvature == 2 * a
        x_star = f.minimizer
        assert abs(f.grad(x_star)[0]) <= 1e-12 * (abs(b) + 1)
        assert f.hessian(x_star)[0, 0] > 0
        np.testing.assert_allclose(f.value(x_star), c - b**2 / (4 * a), rtol=1e-12, atol=1e-12)
        # x* is the lowest point: both neighbours are higher.
        assert f.value(x_star + 1e-3) > f.value(x_star)
        assert f.value(x_star - 1e-3) > f.value(x_star)


@pytest.mark.parametrize("a", [0.0, -1.0])
def test_quadratic1d_without_minimum_refuses_a_minimizer(a):
    """A parabola that opens downwards (or a line) has no minimiser: ValueError."""
    with pytest.raises(ValueError, match="no minimum"):
        _ = Quadratic1D(a, 1.0, 0.0).minimizer


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_quadraticnd_minimizer_has_zero_gradient(dim):
    """A x* = b for random SPD A: the gradient vanishes at the minimiser."""
    rng = np.random.default_rng(dim)
    A = _random_spd(dim, seed=10 + dim)
    b = rng.normal(size=dim) * 5
    f = QuadraticND(A, b)
    x_star = f.minimizer
    assert x_star.shape == (dim,)
    scale = np.linalg.norm(A) * np.linalg.norm(x_star) + np.linalg.norm(b)
    assert np.linalg.norm(f.grad(x_star)) <= 1e-12 * scale
    # f(x*) = −½ bᵀ A⁻¹ b, and any other point is higher.
    np.testing.assert_allclose(f.value(x_star), -0.5 * b @ x_star, rtol=1e-12)
    assert np.all(f.value(x_star + rng.normal(size=(10, dim)) * 1e-2) > f.value(x_star))


@pytest.mark.parametrize("angle", [0.0, 0.6, -2.0])
def test_from_eigenvalues_rotates_the_eigenvectors(angle):
    """In 2-D, (cos θ, sin θ) is the eigenvector of the first eigenvalue; x* is where asked."""
    lam = np.array([0.3, 4.0])
    f = QuadraticND.from_eigenvalues(lam, angle=angle, minimizer=[1.0, -2.0])
    u = np.array([np.cos(angle), np.sin(angle)])
    w = np.array([-np.sin(angle), np.cos(angle)])
    np.testing.assert_allclose(f.A @ u, lam[0] * u, atol=1e-14)
    np.testing.assert_allclose(f.A @ w, lam[1] * w, atol=1e-14)
    np.testing.assert_allclose(f.eigenvalues, lam, rtol=1e-13)
    np.testing.assert_allclose(f.minimizer, [1.0, -2.0], rtol=1e-13)
    np.testing.assert_allclose(f.grad([1.0, -2.0]), [0.0, 0.0], atol=1e-14)


def test_from_eigenvalues_in_three_dimensions_is_diagonal():
    """Beyond 2-D the eigenvectors are the coordinate axes: A = diag(λ)."""
    f = QuadraticND.from_eigenvalues([1.0, 2.0, 3.0], minimizer=[1.0, 1.0, 1.0])
    np.testing.assert_array_equal(f.A, np.diag([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(f.b, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4])
def test_with_condition_number(kappa):
    """The bowl has eigenvalues (s, κ s), hence condition number κ, at any angle."""
    f = QuadraticND.with_condition_number(kappa, smallest=0.5, angle=0.9)
    np.testing.assert_allclose(f.eigenvalues, [0.5, 0.5 * kappa], rtol=1e-12)
    np.testing.assert_allclose(f.condition_number, kappa, rtol=1e-12)
    np.testing.assert_allclose(f.minimizer, [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("kappa", [0.5, 0.0, -3.0, np.nan])
def test_with_condition_number_below_one_raises(kappa):
    with pytest.raises(ValueError, match="condition number must be at least 1"):
        QuadraticND.with_condition_number(kappa)


@pytest.mark.parametrize(
    ("A", "message"),
    [
        (np.ones((2, 3)), "square matrix"),
        (np.ones(3), "square matrix"),
        (np.ones((2, 2, 2)), "square matrix"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    ],
    ids=["2x3", "vector", "3-d array", "not symmetric"],
)
def test_quadraticnd_rejects_bad_matrices(A, message):
    with pytest.raises(ValueError, match=message):
        QuadraticND(A)


def test_from_eigenvalues_rejects_a_matrix_of_eigenvalues():
    with pytest.raises(ValueError, match="eigenvalues must be a 1-D sequence"):
        QuadraticND.from_eigenvalues(np.eye(2))


def test_quadraticnd_wrong_length_b_names_b():
    """A b of the wrong length is refused with a message that names b."""
    with pytest.raises(ValueError, match=r"\bb\b"):
        QuadraticND(np.eye(2), b=[1.0, 2.0, 3.0])


def test_from_eigenvalues_checks_minimizer_and_angle():
    with pytest.raises(ValueError, match="minimizer"):
        QuadraticND.from_eigenvalues([1.0, 2.0], minimizer=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="angle"):
        QuadraticND.from_eigenvalues([1.0, 2.0, 3.0], angle=0.5)


@pytest.mark.parametrize(("a", "b"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (1.0, -2.0), (np.nan, 1.0)])
def test_saddle_needs_positive_curvatures(a, b):
    with pytest.raises(ValueError, match="must be positive"):
        Saddle(a, b)


@pytest.mark.parametrize(("a", "b"), [(1.0, 100.0), (-0.5, 10.0), (2.0, 1.0)])
def test_rosenbrock_minimizer(a, b):
    """(a, a²) is a stationary point with value 0 and a positive-definite Hessian."""
    f = Rosenbrock(a, b)
    x_star = f.minimizer
    np.testing.assert_array_equal(x_star, [a, a**2])
    np.testing.assert_array_equal(f.grad(x_star), [0.0, 0.0])
    assert f.value(x_star) == 0.0
    assert np.all(np.linalg.eigvalsh(f.hessian(x_star)) > 0)


def test_saddle_is_a_saddle():
    """The origin is stationary with Hessian eigenvalues a and −b: up along x, down along y."""
    f = Saddle(2.0, 3.0)
    np.testing.assert_array_equal(f.grad([0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(np.linalg.eigvalsh(f.hessian([0.0, 0.0])), [-3.0, 2.0])
    assert f.value([0.1, 0.0]) > 0 > f.value([0.0, 0.1])


def test_wiggly_global_minimizer():
    """f'(x*) ≈ 0, f''(x*) > 0 and f(x*) is below every point of an independent, wider grid.

    Outside [−40, 40] no point can be lower: the ripples add at most 1 + 1/3 + 1/5 + 1/7 < 1.7
    to the bowl (0.15 x)², which is 36 there, while f(x*) < 0.
    """
    f = Wiggly()
    x_star = f.global_minimizer()
    assert abs(f.grad(x_star)[0]) < 1e-12
    assert f.hessian(x_star)[0, 0] > 0
    grid = np.linspace(-40.0, 40.0, 1_600_003)[:, None]  # spacing 5e-5, offset from the default
    assert f.value(x_star) < 0
    # Equality up to rounding is allowed for a grid point within ~1e-8 of x*.
    assert f.value(x_star) <= f.value(grid).min() + 1e-14
