"""The real-data models: the digits load from the package, gradients match finite differences,
batches of models and mini-batches work, and training learns something."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import Adam, MinibatchSGD, run
from lessons_src.objectives import MLP, SoftmaxRegression, load_digits, split


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_the_digits_are_all_there(digits):
    assert digits.images.shape == (1797, 64) and digits.labels.shape == (1797,)
    assert digits.images.min() == 0 and digits.images.max() == 1
    assert np.all(np.bincount(digits.labels) > 170)        # ten balanced classes
    train, held = split(digits, 0.25, seed=0)
    assert len(train.labels) + len(held.labels) == 1797 and len(held.labels) == 449
    again, _ = split(digits, 0.25, seed=0)
    assert np.array_equal(again.labels, train.labels)       # seeded


def _finite_difference_grad(model, theta, h=1e-6):
    grad = np.zeros_like(theta)
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = h
        grad[j] = (model.value(theta + step) - model.value(theta - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_gradients_match_finite_differences(digits, kind, weight_decay):
    X, y = digits.images[:40, ::4], digits.labels[:40] % 3   # small: 16 features, 3 classes
    model = (SoftmaxRegression(X, y, classes=3, weight_decay=weight_decay) if kind == "softmax"
             else MLP(X, y, hidden=5, classes=3, weight_decay=weight_decay))
    rng = np.random.default_rng(1)
    theta = rng.normal(0, 0.5, model.dim)
    np.testing.assert_allclose(model.grad(theta), _finite_difference_grad(model, theta),
                               rtol=1e-6, atol=1e-8)


def test_batches_of_models_and_minibatches(digits):
    model = MLP(digits.images[:100], digits.labels[:100], hidden=8)
    thetas = np.stack([model.initial_point(seed) for seed in range(3)])
    np.testing.assert_allclose(model.grad(thetas)[1], model.grad(thetas[1]), rtol=1e-13)
    assert model.value(thetas).shape == (3,)
    held = digits.images[100:150], digits.labels[100:150]
    np.testing.assert_allclose(model.loss_on(thetas, *held)[2], model.loss_on(thetas[2], *held))
    np.testing.assert_allclose(model.accuracy(thetas, *held)[0], model.accuracy(thetas[0], *held))
    every = np.arange(100)
    np.testing.assert_allclose(model.minibatch_grad(thetas[0], every), model.grad(thetas[0]),
                               rtol=1e-12)
    per_run = np.stack([every[:10], every[10:20], every[20:30]])   # one batch per model
    assert model.minibatch_grad(thetas, per_run).shape == (3, model.dim)


@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_a_long_batch_is_evaluated_as_each_point_alone(digits, kind):
    """value and grad take a long batch (a trajectory) a block of points at a time; the loss, the
    gradient and the shape are those of each point on its own, to the last bit."""
    X, y = digits.images[:300], digits.labels[:300]
    model = SoftmaxRegression(X, y, weight_decay=0.01) if kind == "softmax" else MLP(X, y, hidden=8)
    points = 0.3 * np.random.default_rng(2).normal(size=(70, 3, model.dim))   # several blocks
    values, grads = model.value(points), model.grad(points)
    assert values.shape == (70, 3) and grads.shape == (70, 3, model.dim)
    for index in [(0, 0), (33, 1), (69, 2)]:
        assert values[index] == model.value(points[index])
        assert np.array_equal(grads[index], model.grad(points[index]))
    # the loss alone agrees with the loss the gradient is computed with (its finite differences)
    theta, v, h = points[5, 0], np.random.default_rng(3).normal(size=model.dim), 1e-5
    slope = (model.value(theta + h * v) - model.value(theta - h * v)) / (2 * h)
    assert abs(slope - model.grad(theta) @ v) < 1e-7 * max(1.0, abs(slope))


def test_training_learns_the_digits(digits):
    train, held = split(digits, seed=0)
    model = SoftmaxRegression(train.images, train.labels)
    trained = run(model, Adam(0.05), model.initial_point(), 100).final
    assert model.accuracy(trained) > 0.95
    assert model.accuracy(trained, held.images, held.labels) > 0.9
    sgd = run(model, MinibatchSGD(0.5, batch_size=32, seed=0), model.initial_point(), 200)
    assert sgd.values[-1] < 0.5 * sgd.values[0]


def test_bad_data_is_refused(digits):
    with pytest.raises(ValueError, match="labels must be integers"):
        SoftmaxRegression(digits.images[:10], digits.labels[:10] + 20)
    with pytest.raises(ValueError, match="inputs must be"):
        MLP(digits.images[:10, :, None], digits.labels[:10])
    with pytest.raises(ValueError, match="hidden"):
        MLP(digits.images[:10], digits.labels[:10], hidden=0)
    with pytest.raises(ValueError, match="validation"):
        split(digits, 1.5)


def test_digits_race_is_chapter_12s_setting():
    """The race that chapter 17 reruns: the training split of seed 0, L2 0.01, 20 epochs of 32."""
    from lessons_src.objectives import SoftmaxRegression, digits_race, load_digits, split

    race = digits_race()
    train, validation = split(load_digits(), 0.25, seed=0)
    np.testing.assert_array_equal(race.model.X, train.images)
    np.testing.assert_array_equal(race.validation.labels, validation.labels)
    reference = SoftmaxRegression(train.images, train.labels, weight_decay=0.01)
    theta = np.random.default_rng(0).standard_normal(reference.dim)
    assert race.model.value(theta) == reference.value(theta)  # the same loss, penalty included
    assert race.steps == 20 * -(-race.model.n_examples // race.batch_size) and race.batch_size == 32
    assert np.all(race.theta0 == 0) and np.all(np.diff(race.peaks) > 0)
