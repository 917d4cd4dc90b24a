"""Layerwise: a matrix rule per weight matrix and a vector rule per bias, on one flat vector."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import SOAP, Adam, GradientDescent, Layerwise, Muon, Shampoo, run
from lessons_src.objectives import MLP, load_digits


@pytest.fixture(scope="module")
def model():
    data = load_digits()
    return MLP(data.images[:200], data.labels[:200], hidden=6)


@pytest.mark.parametrize("matrix", [Muon(lr=0.02, weight_decay=0.0), Shampoo(lr=0.05), SOAP(lr=0.01)])
def test_each_block_takes_its_own_rule_step_by_step(model, matrix):
    vector = Adam(lr=0.01)
    rule = Layerwise(model.shapes, matrix=matrix, vector=vector)
    theta = model.initial_point(1)
    trajectory = run(model, rule, theta, 15)
    # by hand: the blocks of unpack, each with its own rule and state
    blocks = list(model.unpack(theta))
    states = [(matrix if b.ndim == 2 else vector).init(b) for b in blocks]
    for k in range(1, 16):
        grads = model.unpack(model.grad(np.concatenate([b.ravel() for b in blocks])))
        for i, (b, g) in enumerate(zip(blocks, grads, strict=True)):
            blocks[i], states[i] = (matrix if b.ndim == 2 else vector).update(g, b, states[i])
        np.testing.assert_array_equal(trajectory.points[k], np.concatenate([b.ravel() for b in blocks]))
    assert trajectory.values[-1] < trajectory.values[0]


def test_a_sweep_equals_its_single_runs(model):
    lrs = np.array([0.01, 0.03])
    theta = model.initial_point(0)
    sweep = run(model, Layerwise(model.shapes, Shampoo(lr=lrs), Adam(lr=0.01)), theta, 10)
    for j, lr in enumerate(lrs):
        single = run(model, Layerwise(model.shapes, Shampoo(lr=float(lr)), Adam(lr=0.01)), theta, 10)
        np.testing.assert_array_equal(sweep.points[:, j], single.points)


def test_bad_arguments_are_refused_by_name(model):
    with pytest.raises(ValueError, match="shapes"):
        Layerwise([(2, 3, 4)], matrix=Muon())
    with pytest.raises(ValueError, match="vector"):
        Layerwise([(2, 3), (3,)], matrix=Muon())
    with pytest.raises(TypeError, match="matrix"):
        Layerwise([(2, 3)], matrix="muon")
    rule = Layerwise([(2, 3)], matrix=GradientDescent(lr=0.1))
    with pytest.raises(ValueError, match="x must have 6 coordinates"):
        rule.init(np.zeros(5))
