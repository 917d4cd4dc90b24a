"""The course's one definition of divergence (lessons_src.runner.is_diverged), on the case that
escaped the old one: RAdam on Rosenbrock's function at η = 0.01 flies off and freezes at
f ≈ 2.6e70 with every coordinate far below the overflow bound."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import Adam, GradientDescent, Parabola, RAdam, Rosenbrock, is_diverged, run
from lessons_src.runner import DIVERGENCE_BOUND, DIVERGENCE_RISE


def test_frozen_radam_run_counts_as_diverged():
    trajectory = run(Rosenbrock(), RAdam(lr=0.01), [-1.2, 1.0], 2000)
    # the run never overflowed: its points are finite and inside the bound ...
    assert np.all(np.isfinite(trajectory.points))
    assert np.max(np.abs(trajectory.points)) < DIVERGENCE_BOUND
    # ... but it froze at a value about 1e69 times its start
    final = float(trajectory.values[-1])
    assert 1e69 < final < 1e72
    assert trajectory.diverged
    assert int(trajectory.diverged_at) == 2000


def test_rosenbrock_sweep_counts_every_blown_up_run():
    """The ch13 race: RAdam at 10 step sizes; every run that ends above its start by more than
    the rise threshold, or overflowed, is counted, and Adam's runs are not."""
    step_sizes = 10.0 ** np.arange(-4, 0.51, 0.5)
    radam = run(Rosenbrock(), RAdam(lr=step_sizes), [-1.2, 1.0], 2000)
    adam = run(Rosenbrock(), Adam(lr=step_sizes), [-1.2, 1.0], 2000)
    overflowed = np.isnan(radam.points).any(axis=(0, 2))
    assert overflowed.sum() == 5  # what the old, overflow-only definition counted
    assert radam.diverged.sum() == 6  # plus the frozen run at η = 0.01
    assert radam.diverged[np.isclose(step_sizes, 0.01)].all()
    assert not adam.diverged.any()


@pytest.mark.parametrize(
    ("start", "final", "expected"),
    [
        (24.2, 2.6e70, True),  # frozen far above
        (24.2, 24.2 * 1e3, False),  # a rise, not a divergence
        (0.0, 0.5 * DIVERGENCE_RISE, False),
        (0.0, 2 * DIVERGENCE_RISE, True),
        (-5.0, 1e12, True),
        (1.0, np.nan, True),  # the runner stopped it
        (1.0, np.inf, True),
        (1.0, 0.0, False),
    ],
)
def test_rise_threshold(start, final, expected):
    assert bool(is_diverged(start, final)) is expected


def test_final_point_past_the_bound_or_not_finite():
    assert is_diverged([1.0, 1.0], [1.0, 1.0], [[2 * DIVERGENCE_BOUND, 0.0], [1.0, 0.0]]).tolist() \
        == [True, False]
    assert is_diverged(1.0, 1.0, [np.nan]).item()


def test_converging_and_slowly_growing_runs_are_not_flagged():
    # gradient descent on x^2 - 2x + 1 at η = 0.1 converges; at η = 1.05, 20 steps grow the
    # error by 1.1^20 ≈ 6.7 only
    sweep = run(Parabola(1.0, -2.0, 1.0), GradientDescent(lr=np.array([0.1, 1.05])), 5.0, 20)
    assert sweep.diverged.tolist() == [False, False]


@pytest.mark.parametrize("name", ["bound", "rise"])
@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan])
def test_bad_thresholds_name_the_argument(name, bad):
    with pytest.raises(ValueError, match=name):
        is_diverged(1.0, 1.0, **{name: bad})
