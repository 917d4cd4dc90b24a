"""Mini-batch gradients and MinibatchSGD: unbiasedness, the σ/√n law, seeding, sampling, errors."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import GradientDescent, Rosenbrock, run
from lessons_src.analysis import sample_minibatch_grads
from lessons_src.objectives import LeastSquares, SigmoidNeuron, make_line_data
from lessons_src.optim import MinibatchSGD


@pytest.fixture(scope="module")
def line() -> LeastSquares:
    x, y = make_line_data(500, seed=3)
    return LeastSquares.line_fit(x, y)


def test_least_squares_derivatives(line):
    theta = np.array([[0.3, -0.2], [1.0, 2.0]])
    h = 1e-6
    numeric = np.stack(
        [(line.value(theta + h * e) - line.value(theta - h * e)) / (2 * h) for e in np.eye(2)], -1
    )
    assert np.allclose(line.grad(theta), numeric, atol=1e-7)
    residuals = theta @ line.A.T - line.y
    assert np.allclose(line.value(theta), 0.5 * np.mean(residuals**2, axis=-1), rtol=1e-13)
    assert np.allclose(line.grad(theta), residuals @ line.A / 500, rtol=1e-13)
    assert np.allclose(line.example_grads(theta).mean(axis=-2), line.grad(theta))
    assert np.allclose(line.hessian(theta)[0], line.A.T @ line.A / 500)
    assert np.allclose(line.grad(line.minimizer), 0, atol=1e-12)
    assert line.smoothness == pytest.approx(np.linalg.eigvalsh(line.hessian_matrix)[-1])


def test_minibatch_of_everything_is_the_gradient(line):
    theta = np.array([0.5, 0.5])
    assert np.allclose(line.minibatch_grad(theta, np.arange(500)), line.grad(theta))
    # per-run batches: index (runs, k) against points (runs, d)
    runs = np.array([[0.5, 0.5], [1.0, -1.0]])
    index = np.array([[0, 1], [2, 3]])
    expected = [line.example_grads(runs[r], index[r]).mean(axis=0) for r in range(2)]
    assert np.allclose(line.minibatch_grad(runs, index), expected)


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("n", [1, 10, 100])
def test_standard_error_follows_sigma_over_root_n(line, n, replace):
    theta = np.zeros(2)
    grads = line.example_grads(theta)
    g_bar = grads.mean(axis=0)
    sigma = np.sqrt(np.mean(np.sum((grads - g_bar) ** 2, axis=-1)))
    expected = sigma / np.sqrt(n)
    if not replace:
        expected *= np.sqrt((500 - n) / 499)
    draws = sample_minibatch_grads(line, theta, n, 20_000, seed=n, replace=replace)
    assert np.allclose(draws.mean(axis=0), g_bar, atol=4 * expected / np.sqrt(20_000) * 2)
    rms = np.sqrt(np.mean(np.sum((draws - g_bar) ** 2, axis=-1)))
    assert rms == pytest.approx(expected, rel=0.04)


def test_without_replacement_batches_are_distinct_and_whole_set_is_exact(line):
    draws = sample_minibatch_grads(line, np.zeros(2), 500, 3, replace=False)
    assert np.allclose(draws, line.grad(np.zeros(2)))


def test_runs_are_reproducible_and_independent(line):
    starts = np.zeros((5, 2))
    a = run(line, MinibatchSGD(lr=0.1, batch_size=4, seed=7), starts, 50)
    b = run(line, MinibatchSGD(lr=0.1, batch_size=4, seed=7), starts, 50)
    c = run(line, MinibatchSGD(lr=0.1, batch_size=4, seed=8), starts, 50)
    assert np.array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    assert len({tuple(p) for p in a.final}) == 5  # each run drew its own batches


def test_full_batch_is_gradient_descent(line):
    sgd = run(line, MinibatchSGD(lr=0.3, batch_size=None), np.zeros(2), 40)
    gd = run(line, GradientDescent(lr=0.3), np.zeros(2), 40)
    assert np.allclose(sgd.points, gd.points)


def test_shuffled_epoch_equals_one_pass_of_all_examples():
    # With lr → tiny steps, one shuffled epoch of single examples moves like one batch step
    # (the estimates N ∇ℓ_i average to ∇L over the epoch); exactly, each example is used once.
    neuron = SigmoidNeuron()
    sgd = MinibatchSGD(lr=1e-7, batch_size=1, sampling="shuffle", seed=0)
    x, state = np.zeros(2), sgd.init(np.zeros(2))
    x, state = sgd.step(neuron, x, state)
    first = state.order.copy()
    x, state = sgd.step(neuron, x, state)
    assert sorted(first.tolist()) == [0, 1]
    moved = x / 1e-7
    assert np.allclose(moved, -2 * neuron.grad(np.zeros(2)), rtol=1e-5)


def test_sgd_noise_floor_shrinks_with_batch_size(line):
    f_star = line.value(line.minimizer)
    starts = np.zeros((20, 2))
    floors = []
    for k in (1, 16):
        sweep = run(line, MinibatchSGD(lr=0.1, batch_size=k, seed=k), starts, 800)
        floors.append((sweep.values[400:] - f_star).mean())
    assert floors[0] > 8 * floors[1]  # variance ∝ 1/k: about 16 times lower


def test_stochastic_descent_converges_on_the_interpolating_neuron():
    neuron = SigmoidNeuron()
    trajectory = run(neuron, MinibatchSGD(lr=2.0, batch_size=1, seed=0),
                     np.tile([-2.0, 2.0], (8, 1)), 1000)
    assert np.all(trajectory.values[-1] < 1e-6)


def test_errors(line):
    with pytest.raises(ValueError, match="batch_size"):
        MinibatchSGD(lr=0.1, batch_size=0)
    with pytest.raises(ValueError, match="sampling"):
        MinibatchSGD(lr=0.1, sampling="cyclic")
    with pytest.raises(ValueError, match="lr"):
        MinibatchSGD(lr=-1.0)
    with pytest.raises(TypeError, match="finite sum"):
        run(Rosenbrock(), MinibatchSGD(lr=0.1, batch_size=2), np.zeros(2), 2)
    with pytest.raises(ValueError, match="batch_size"):
        sample_minibatch_grads(line, np.zeros(2), 501, 2, replace=False)
    with pytest.raises(ValueError, match=r"A must be \(N, d\)"):
        LeastSquares(np.ones((3, 2)), np.ones(4))


# --- the one mini-batch stream ----------------------------------------------------------------

@pytest.mark.parametrize("sampling", ["replace", "shuffle"])
def test_the_stream_feeds_update_exactly_as_minibatch_sgd_steps(line, sampling):
    """MinibatchSGD's batches are the stream's: its gradient through update is SGD, bit for bit,
    whether run draws them (step) or the caller does (Minibatches.gradient, then update)."""
    from lessons_src.objectives import Minibatches

    lrs = np.array([0.05, 0.1, 0.2])
    sgd = MinibatchSGD(lrs, batch_size=8, sampling=sampling, seed=4)
    by_run = run(line, sgd, np.zeros(2), 150).points
    stream = Minibatches(line, 8, sampling=sampling, seed=4)
    x = np.zeros((3, 2))
    state, batches = sgd.init(x), stream.init()
    for k in range(1, 151):
        g, batches = stream.gradient(x, batches)
        x, state = sgd.update(g, x, state)
        np.testing.assert_array_equal(x, by_run[k])


@pytest.mark.parametrize("sampling", ["replace", "shuffle"])
def test_at_k_is_the_kth_batch_and_serves_any_optimizer(line, sampling):
    from lessons_src import Adam
    from lessons_src.objectives import Minibatches

    stream = Minibatches(line, 16, sampling=sampling, seed=2)
    adam = Adam(lr=0.05)
    by_run = run(line, adam, np.zeros(2), 120, objective_at=stream.at).points
    x, state, batches = np.zeros(2), adam.init(np.zeros(2)), stream.init()
    for k in range(1, 121):
        g, batches = stream.gradient(x, batches)
        x, state = adam.update(g, x, state)
        np.testing.assert_array_equal(x, by_run[k])
    # the same k gives the same batch, in any order of asking
    np.testing.assert_array_equal(Minibatches(line, 16, sampling=sampling, seed=2).at(90).index,
                                  stream.at(90).index)
    # its state is a value: asking twice from one state gives one batch
    once, again = stream.sample(batches), stream.sample(batches)
    np.testing.assert_array_equal(once[0], again[0])


def test_the_stream_refuses_bad_arguments_by_name(line):
    from lessons_src.objectives import Minibatches

    with pytest.raises(TypeError, match="finite sum"):
        Minibatches(Rosenbrock(), 4)
    with pytest.raises(ValueError, match="batch_size"):
        Minibatches(line, 501, sampling="shuffle")
    with pytest.raises(ValueError, match="sampling"):
        Minibatches(line, 4, sampling="sometimes")
    with pytest.raises(ValueError, match="seed"):
        Minibatches(line, 4, seed=-1)
    with pytest.raises(ValueError, match="k must"):
        Minibatches(line, 4).at(0)
