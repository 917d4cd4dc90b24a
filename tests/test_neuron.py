"""The sigmoid neuron of chapter 4: derivatives, batching, per-example gradients, seed 002."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src.objectives import SigmoidNeuron, logit, sigmoid


def _central(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    cols = []
    for i in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[i] = h
        cols.append((f(x - 2 * e) - 8 * f(x - e) + 8 * f(x + e) - f(x + 2 * e)) / (12 * h))
    return np.stack(cols, axis=-1)


@pytest.fixture
def neuron() -> SigmoidNeuron:
    return SigmoidNeuron()


def test_seed_002_caption_numbers(neuron):
    # Seed 002's caption: the guess w = -0.10 has a larger loss than the first guess w = 0.50.
    assert neuron.value([0.5, 0.0]) == pytest.approx(0.0731136, abs=1e-6)
    assert neuron.value([-0.1, 0.0]) == pytest.approx(0.1481324, abs=1e-6)
    assert neuron.value([0.5, 0.0]) < neuron.value([-0.1, 0.0])


def test_value_by_hand(neuron):
    w, b = 1.3, -0.7
    pairs = [(0.5, 0.2), (2.5, 0.9)]
    expected = sum(0.5 * (1 / (1 + np.exp(-(w * x + b))) - y) ** 2 for x, y in pairs)
    assert neuron.value([w, b]) == pytest.approx(expected, rel=1e-14)


def test_derivatives_match_finite_differences(neuron):
    points = np.random.default_rng(1).uniform(-4, 4, size=(7, 2))
    for p in points:
        assert np.allclose(neuron.grad(p), _central(neuron.value, p), atol=1e-9)
        assert np.allclose(neuron.hessian(p), _central(neuron.grad, p), atol=1e-8)
        assert np.allclose(neuron.hessian(p), neuron.hessian(p).T)


def test_batched_shapes_and_values(neuron):
    points = np.random.default_rng(2).normal(size=(3, 4, 2))
    assert neuron.value(points).shape == (3, 4)
    assert neuron.grad(points).shape == (3, 4, 2)
    assert neuron.hessian(points).shape == (3, 4, 2, 2)
    assert neuron.example_grads(points).shape == (3, 4, 2, 2)
    for i, j in np.ndindex(3, 4):
        assert neuron.value(points[i, j]) == pytest.approx(neuron.value(points)[i, j])
        assert np.allclose(neuron.hessian(points[i, j]), neuron.hessian(points)[i, j])


def test_example_gradients_sum_to_the_gradient(neuron):
    points = np.random.default_rng(3).normal(size=(5, 2))
    assert np.allclose(neuron.example_grads(points).sum(axis=-2), neuron.grad(points))
    assert np.allclose(neuron.example_values(points).sum(axis=-1), neuron.value(points))


def test_minibatch_gradient_is_unbiased(neuron):
    theta = np.array([0.3, -1.2])
    singles = [neuron.minibatch_grad(theta, [i]) for i in range(2)]
    assert np.allclose(np.mean(singles, axis=0), neuron.grad(theta))
    assert np.allclose(neuron.minibatch_grad(theta, [0, 1]), neuron.grad(theta))
    # one batch per run: index (runs, k) against points (runs, 2)
    runs = np.tile(theta, (4, 1))
    index = np.array([[0], [1], [1], [0]])
    assert np.allclose(neuron.minibatch_grad(runs, index)[1], singles[1])


def test_minimizer_fits_both_points(neuron):
    theta = neuron.minimizer
    assert np.allclose(neuron.predict(theta, neuron.x), neuron.y)
    assert neuron.value(theta) == pytest.approx(0, abs=1e-25)
    assert np.allclose(neuron.example_grads(theta), 0, atol=1e-15)
    assert np.all(np.linalg.eigvalsh(neuron.hessian(theta)) > 0)


def test_sigmoid_is_stable_and_inverted_by_logit():
    z = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    s = sigmoid(z)
    assert np.all(np.isfinite(s)) and s[0] == 0 and s[-1] == 1 and s[2] == 0.5
    assert np.allclose(logit(sigmoid(z[1:4])), z[1:4])


def test_bad_inputs():
    with pytest.raises(ValueError, match="equal length"):
        SigmoidNeuron([1, 2], [0.5])
    with pytest.raises(ValueError, match="shape"):
        SigmoidNeuron().value([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="exact fit"):
        _ = SigmoidNeuron([1, 2, 3], [0.1, 0.2, 0.3]).minimizer
    with pytest.raises(TypeError, match="integers"):
        SigmoidNeuron().example_grads([0.0, 0.0], [0.5])
