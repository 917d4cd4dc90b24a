"""The sharpness estimator: exact Hessian-vector products of the digits models, and power
iteration that agrees with a dense eigendecomposition of the exact Hessian.

The references are independent of the code they check: softmax regression's Hessian in closed
form (a Kronecker product of the inputs' second moments with the loss's curvature in the scores),
PyTorch's autograd Hessian of the same losses written in torch, and central differences of the
exact gradient, whose truncation error is shown to shrink like h².
"""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src.curvature import (
    preconditioned_sharpness,
    sharpness,
    sharpness_along,
    top_eigenvalue,
)
from lessons_src.objectives import MLP, QuadraticND, SoftmaxRegression, load_digits

LOSSES = ("cross_entropy", "squared")


@pytest.fixture(scope="module")
def small():
    """30 digits, every fourth pixel (16 features), labels folded into 3 classes."""
    digits = load_digits()
    return digits.images[:30, ::4], digits.labels[:30] % 3


def _model(kind: str, loss: str, small, weight_decay: float = 0.0):
    X, y = small
    if kind == "softmax":
        return SoftmaxRegression(X, y, classes=3, weight_decay=weight_decay, loss=loss)
    return MLP(X, y, hidden=4, classes=3, weight_decay=weight_decay, loss=loss)


def _theta(model, seed: int = 1):
    return np.random.default_rng(seed).normal(0, 0.7, model.dim)


def _softmax_hessian(model: SoftmaxRegression, theta: np.ndarray) -> np.ndarray:
    r"""The closed form :math:`\frac1N\sum_n \tilde x_n \tilde x_n^\top \otimes C_n`, with
    :math:`C_n = \operatorname{diag} p_n - p_n p_n^\top` (cross-entropy) or :math:`I` (squared
    error), in the order of θ: weight (i, c) at i·k + c, bias c at d·k + c."""
    X1 = np.hstack([model.X, np.ones((model.X.shape[0], 1))])
    k = model.classes
    if model.loss == "squared":
        curvature = np.broadcast_to(np.eye(k), (X1.shape[0], k, k))
    else:
        scores = model.scores(theta)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        curvature = np.einsum("nc,cd->ncd", p, np.eye(k)) - np.einsum("nc,nd->ncd", p, p)
    H = np.einsum("ni,nj,ncd->icjd", X1, X1, curvature) / X1.shape[0]
    H = H.reshape(X1.shape[1] * k, X1.shape[1] * k)
    mask = np.concatenate([np.ones(model.features * k), np.zeros(k)])
    return H + model.weight_decay * np.diag(mask)


def _torch_hessian(model: MLP, theta: np.ndarray) -> np.ndarray:
    """The exact Hessian of the same loss written in torch, by autograd (float64)."""
    torch = pytest.importorskip("torch")
    X = torch.tensor(model.X)
    onehot = torch.tensor(model._onehot)
    d, h, k = model.features, model.hidden, model.classes

    def loss(t):
        w1 = t[: d * h].reshape(d, h)
        b1 = t[d * h: d * h + h]
        w2 = t[d * h + h: d * h + h + h * k].reshape(h, k)
        b2 = t[-k:]
        z = torch.tanh(X @ w1 + b1) @ w2 + b2
        if model.loss == "squared":
            data = 0.5 * ((z - onehot) ** 2).sum(-1).mean()
        else:
            data = -(onehot * torch.log_softmax(z, -1)).sum(-1).mean()
        return data + 0.5 * model.weight_decay * ((w1**2).sum() + (w2**2).sum())

    return torch.autograd.functional.hessian(loss, torch.tensor(theta)).numpy()


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_softmax_hvp_is_the_closed_form_hessian_times_v(small, loss, weight_decay):
    model = _model("softmax", loss, small, weight_decay)
    theta = _theta(model)
    H = _softmax_hessian(model, theta)
    V = np.random.default_rng(2).normal(size=(5, model.dim))
    np.testing.assert_allclose(model.hvp(theta, V), V @ H, rtol=0, atol=1e-13 * np.abs(H).max())


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_mlp_hvp_is_autograd_hessian_times_v(small, loss, weight_decay):
    model = _model("mlp", loss, small, weight_decay)
    theta = _theta(model)
    H = _torch_hessian(model, theta)
    V = np.random.default_rng(2).normal(size=(5, model.dim))
    np.testing.assert_allclose(model.hvp(theta, V), V @ H, rtol=0, atol=1e-13 * np.abs(H).max())


@pytest.mark.parametrize("loss", LOSSES)
def test_mlp_hvp_matches_differences_of_the_gradient_to_their_own_accuracy(small, loss):
    """Without torch: central differences of the exact gradient have error c·h² + O(h⁴) +
    rounding. The gap to the HVP shrinks about fourfold when h halves, so it is the differences'
    truncation error, and Richardson's extrapolation (4 D(h/2) - D(h))/3, which cancels the h²
    term, agrees with the HVP to far better than either difference."""
    model = _model("mlp", loss, small)
    theta, v = _theta(model), np.random.default_rng(3).normal(size=model.dim)
    exact = model.hvp(theta, v)
    differences = [(model.grad(theta + h * v) - model.grad(theta - h * v)) / (2 * h)
                   for h in (2e-3, 1e-3)]
    gaps = [np.linalg.norm(d - exact) for d in differences]
    assert 3.5 < gaps[0] / gaps[1] < 4.5, gaps          # O(h²): the gap is truncation error
    extrapolated = (4 * differences[1] - differences[0]) / 3
    assert np.linalg.norm(extrapolated - exact) < 1e-8 * np.linalg.norm(exact)
    assert np.linalg.norm(extrapolated - exact) < 1e-3 * gaps[1]


def test_hvp_is_symmetric_and_linear_and_batches(small):
    model = _model("mlp", "cross_entropy", small, 0.01)
    theta = _theta(model)
    u, v = np.random.default_rng(4).normal(size=(2, model.dim))
    assert abs(u @ model.hvp(theta, v) - v @ model.hvp(theta, u)) < 1e-12 * np.linalg.norm(
        model.hvp(theta, u)) * np.linalg.norm(v)
    np.testing.assert_allclose(model.hvp(theta, 2 * u - 3 * v),
                               2 * model.hvp(theta, u) - 3 * model.hvp(theta, v), atol=1e-13)
    thetas = np.stack([theta, _theta(model, 5)])
    both = model.hvp(thetas, np.stack([u, v]))
    np.testing.assert_allclose(both[1], model.hvp(thetas[1], v), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_the_product_at_a_fixed_point_reuses_only_what_belongs_to_that_point(small, kind, loss):
    """hvp_at keeps the forward pass at θ between products: each product, whatever came before it
    and whatever shape it broadcasts to, is the product at θ of a fresh call; a later change to the
    caller's θ array does not reach it; and a product at another point is that point's."""
    model = _model(kind, loss, small, 0.01)
    theta = _theta(model)
    u, v = np.random.default_rng(8).normal(size=(2, model.dim))
    caller_theta = theta.copy()
    product = model.hvp_at(caller_theta)
    first = product(u)
    caller_theta += 1.0                                                 # the caller reuses its array
    assert np.array_equal(product(v), model.hvp(theta, v))
    assert np.array_equal(product(u), first)                           # no state from v
    assert np.array_equal(product(np.stack([u, v])), model.hvp(theta, np.stack([u, v])))
    assert np.array_equal(first, model.hvp(theta, u))
    other = _theta(model, 5)
    assert np.array_equal(model.hvp_at(other)(u), model.hvp(other, u))
    if (kind, loss) != ("softmax", "squared"):                         # that Hessian is constant
        assert not np.allclose(model.hvp_at(other)(u), first)
    quadratic = QuadraticND.from_eigenvalues([3.0, 1.0])              # the default: hvp each time
    assert np.allclose(quadratic.hvp_at([1.0, 2.0])(np.array([1.0, 1.0])), [3.0, 1.0])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_sharpness_is_the_top_eigenvalue_of_the_exact_hessian(small, kind, loss):
    model = _model(kind, loss, small, 0.01)
    for seed in (1, 6, 7):
        theta = _theta(model, seed)
        H = _softmax_hessian(model, theta) if kind == "softmax" else _torch_hessian(model, theta)
        top = np.linalg.eigvalsh(H)[-1]
        estimate = sharpness(model, theta, tol=1e-12, max_iter=20_000)
        assert estimate.converged
        assert abs(estimate.value - top) < 1e-8 * top, (seed, estimate.value, top)
        # the vector is the eigenvector: H u = λ u
        u = estimate.vector
        assert np.linalg.norm(H @ u - top * u) < 1e-3 * top


def test_a_dominant_negative_eigenvalue_is_not_mistaken_for_the_sharpness():
    eigenvalues = np.array([-9.0, 4.0, 1.0, -2.0])
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    quadratic = QuadraticND((Q * eigenvalues) @ Q.T, np.zeros(4))
    estimate = sharpness(quadratic, np.ones(4), tol=1e-13, max_iter=5000)
    assert abs(estimate.value - 4.0) < 1e-10
    # and a negative-definite Hessian has a negative sharpness
    assert abs(sharpness(QuadraticND(-np.diag([3.0, 1.0]), np.zeros(2)), np.ones(2),
                         tol=1e-13, max_iter=5000).value + 1.0) < 1e-10


@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_preconditioned_sharpness_is_the_top_eigenvalue_of_the_scaled_hessian(small, kind):
    model = _model(kind, "squared", small)
    theta = _theta(model)
    H = _softmax_hessian(model, theta) if kind == "softmax" else _torch_hessian(model, theta)
    diagonal = np.random.default_rng(8).uniform(0.05, 2.0, model.dim)  # Adam's √v̂ + ε, say
    scale = 1 / np.sqrt(diagonal)
    top = np.linalg.eigvalsh(scale[:, None] * H * scale[None, :])[-1]
    estimate = preconditioned_sharpness(model, theta, diagonal, tol=1e-12, max_iter=50_000)
    assert abs(estimate.value - top) < 1e-8 * top
    # P⁻¹H has the same eigenvalues (similar matrices)
    assert abs(np.max(np.linalg.eigvals(H / diagonal[:, None]).real) - top) < 1e-8 * top
    # with P = I it is the sharpness
    plain = preconditioned_sharpness(model, theta, np.ones(model.dim), tol=1e-12, max_iter=50_000)
    assert abs(plain.value - np.linalg.eigvalsh(H)[-1]) < 1e-8 * top


def test_a_batch_gives_the_single_estimates_and_a_warm_start_saves_work(small):
    model = _model("mlp", "squared", small)
    thetas = np.stack([_theta(model, s) for s in (1, 2, 3)])
    batch = sharpness(model, thetas, tol=1e-10, max_iter=20_000)
    singles = [sharpness(model, t, tol=1e-10, max_iter=20_000).value for t in thetas]
    np.testing.assert_allclose(batch.value, singles, rtol=1e-7)
    cold = sharpness(model, thetas[0] + 1e-3, tol=1e-8, max_iter=20_000)
    warm = sharpness(model, thetas[0] + 1e-3, vector=batch.vector[0], tol=1e-8, max_iter=20_000)
    assert warm.iterations < cold.iterations
    assert abs(warm.value - cold.value) < 1e-6 * cold.value


def test_sharpness_along_a_run_matches_single_estimates_and_marks_diverged_runs(small):
    model = _model("mlp", "squared", small)
    theta = _theta(model)
    points = np.stack([theta + 0.01 * k for k in range(7)])[:, None, :].repeat(2, axis=1)
    points[4:, 1] = np.nan                                       # run 1 diverged at step 4
    trace = sharpness_along(model, points, 3, tol=1e-10, max_iter=20_000)
    assert list(trace.steps) == [0, 3, 6]
    for row, step in enumerate(trace.steps):
        single = sharpness(model, points[step, 0], tol=1e-10, max_iter=20_000).value
        assert abs(trace.values[row, 0] - single) < 1e-7 * single
    assert np.isfinite(trace.values[:2, 1]).all() and np.isnan(trace.values[2, 1])
    diagonal = np.full_like(points, 2.0)   # P = 2I halves every eigenvalue
    halved = sharpness_along(model, points, 3, preconditioners=diagonal, tol=1e-10, max_iter=20_000)
    np.testing.assert_allclose(halved.values[:, 0], trace.values[:, 0] / 2, rtol=1e-7)


def test_top_eigenvalue_of_a_zero_operator_is_zero():
    pair = top_eigenvalue(lambda u: 0 * u, np.ones(3) / np.sqrt(3))
    assert pair.value == 0 and pair.converged


def test_bad_input_names_the_argument(small):
    model = _model("mlp", "squared", small)
    theta = _theta(model)
    with pytest.raises(ValueError, match="vector"):
        model.hvp(theta, np.ones(model.dim + 1))
    with pytest.raises(ValueError, match="vector"):
        QuadraticND(np.eye(2), np.zeros(2)).hvp(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="vector"):
        sharpness(model, theta, vector=np.ones(3))
    with pytest.raises(ValueError, match="vector"):
        sharpness(model, theta, vector=np.zeros(model.dim))
    with pytest.raises(ValueError, match="tol"):
        sharpness(model, theta, tol=0)
    with pytest.raises(ValueError, match="max_iter"):
        sharpness(model, theta, max_iter=0)
    with pytest.raises(ValueError, match="preconditioner"):
        preconditioned_sharpness(model, theta, np.zeros(model.dim))
    with pytest.raises(ValueError, match="preconditioner"):
        preconditioned_sharpness(model, theta, np.ones(4))
    with pytest.raises(ValueError, match="every"):
        sharpness_along(model, theta[None], 0)
    with pytest.raises(ValueError, match="points"):
        sharpness_along(model, theta, 1)
    with pytest.raises(ValueError, match="preconditioners"):
        sharpness_along(model, theta[None], 1, preconditioners=np.ones(3))
    with pytest.raises(ValueError, match="loss"):
        MLP(*small, loss="hinge")


def test_sharpness_along_with_loose_defaults_gives_lower_bounds(small):
    """The docstring's promise: whatever the tolerance, the Rayleigh quotient of power iteration
    is at most the top eigenvalue, so the cheap default estimates never overshoot."""
    model = _model("mlp", "squared", small)
    rng = np.random.default_rng(9)
    points = np.stack([_theta(model, 1) + 0.05 * k * rng.normal(size=model.dim) for k in range(6)])
    trace = sharpness_along(model, points, 1, max_iter=3)       # stopped far from converged
    tops = np.array([np.linalg.eigvalsh(_torch_hessian(model, theta))[-1] for theta in points])
    assert np.all(trace.values <= tops * (1 + 1e-12))
    assert np.any(trace.values < tops * (1 - 1e-6))             # loose enough to be below


@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_a_direction_of_the_wrong_length_is_refused_by_name(small, kind):
    model = _model(kind, LOSSES[0], small, 0.0)
    with pytest.raises(ValueError, match=r"vector must have shape \(\.\.\., \d+\) like theta"):
        model.hvp(_theta(model), np.ones(model.dim + 1))
