"""Part 3's claims, recomputed here with code of their own and checked against the pages' text.

Each test fails on the claim the page used to make (issue 18): the number or the sentence that
was wrong, or the misleading framing, is asserted absent, and the corrected claim is recomputed
at its own strength (a claim "for every η up to a value" over a grid of η up to that value).
"""

from __future__ import annotations

import json
import re
from functools import partial
from math import exp, lgamma, sqrt
from pathlib import Path

import numpy as np
import pytest

from lessons_src import Adadelta, Adam, Adamax, Lion, NAdam, QuadraticND, RAdam, Wiggly, run
from lessons_src.objectives import MLP, load_digits, split
from lessons_src.schedules import one_cycle

BOOK = Path(__file__).resolve().parents[1] / "book"


def prose(chapter: str) -> str:
    """The Markdown cells of a chapter, with every run of white space made one space."""
    notebook = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    text = " ".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    return re.sub(r"\s+", " ", text)


# --- wrong claims -------------------------------------------------------------------------------


def root_variance(rho: float) -> float:
    """Var[sqrt(rho / X)] for X chi-square with rho > 2 degrees of freedom."""
    mean_inverse = rho / (rho - 2)
    mean_root = sqrt(rho / 2) * exp(lgamma((rho - 1) / 2) - lgamma(rho / 2))
    return mean_inverse - mean_root**2


@pytest.mark.parametrize("rho", [2.5, 3.0, 4.0, 4.5])
def test_radam_variance_is_finite_above_two(rho):
    """ch13: the variance of the adaptive factor is finite for ρ_t > 2, also at ρ_t ≤ 4; a
    Monte Carlo estimate over five seeds agrees where the fourth moment exists (ρ > 4)."""
    exact = root_variance(rho)
    assert np.isfinite(exact) and exact > 0
    if rho > 4:
        estimates = [np.var(np.sqrt(rho / np.random.default_rng(seed).chisquare(rho, 400_000)))
                     for seed in range(5)]
        assert max(abs(e - exact) for e in estimates) < 0.1 * exact, estimates


def test_radam_text_does_not_call_the_variance_infinite_up_to_four():
    text = prose("ch13_adam_family")
    assert not re.search(r"variance is infinite for \$\\rho_t \\le 4\$", text)
    assert "infinite for $\\rho_t \\le 2$ and finite for every $\\rho_t > 2$" in text


def test_one_cycle_ends_at_a_250000th():
    """ch12: PyTorch's defaults (div_factor 25, final_div_factor 1e4) end at η/250,000."""
    total = 860
    ends = one_cycle(1.0, total=total)(np.array([0, total - 1]))
    assert np.isclose(1 / ends[0], 25)
    assert np.isclose(1 / ends[1], 250_000)
    text = prose("ch12_schedules")
    assert "25\\,000" not in text and "25,000" not in text
    assert "{glue:text}`ch12_onecycle_div:,.0f`" in text


def test_noise_floor_is_not_said_to_be_absent():
    """ch14: the runs' losses rise in some of the last epochs; the page says so (its own asserts
    check the counts it glues)."""
    text = prose("ch14_real_model")
    assert "Here it did not show" not in text
    assert "{glue:text}`ch14_rises_min`" in text and "{glue:text}`ch14_swing_max:.1f`" in text


FIRST_VALLEY = (-20.3186, -18.7229)  # the ridges around the local minimum at x ≈ -19.23
RACERS = {"Adam": Adam, "NAdam": NAdam, "AdaMax": Adamax, "Adadelta": Adadelta,
          "RAdam": RAdam, "Lion": Lion}


def stays_in_first_valley(method, step_sizes):
    path = run(Wiggly(), method(lr=step_sizes), [-20.0], 1000).points[..., 0]
    return np.all((path > FIRST_VALLEY[0]) & (path < FIRST_VALLEY[1]), axis=0)


def test_ridges_of_the_first_valley():
    wiggly = Wiggly()
    for ridge in FIRST_VALLEY:
        assert abs(wiggly.grad(np.array([ridge]))[0]) < 1e-3
        assert wiggly.hessian(np.array([ridge]))[0, 0] < 0


def test_first_valley_holds_every_run_up_to_0_41_only():
    """ch13: every run with η ≤ 0.41 stays in the first valley (a grid of 300 step sizes up to
    0.41); RAdam at η = 1, which the page used to include, leaves it."""
    grid = np.geomspace(1e-4, 0.41, 300)
    for name, method in RACERS.items():
        assert stays_in_first_valley(method, grid).all(), name
    assert not stays_in_first_valley(RAdam, np.array([1.0])).any()
    assert not stays_in_first_valley(Lion, np.array([0.42])).any()
    assert "holds every run with $\\eta \\le 1$" not in prose("ch13_adam_family")


def test_perceptron_has_2410_entries():
    """ch14: one hidden layer of 32 units on 64 pixels, 10 classes, with biases."""
    train, _ = split(load_digits(), 0.25, seed=0)
    model = MLP(train.images, train.labels, hidden=32)
    assert model.dim == (64 + 1) * 32 + (32 + 1) * 10 == 2410
    text = prose("ch14_real_model")
    assert "2,442" not in text and "{glue:text}`ch14_dim_mlp:,`" in text


# --- misleading claims --------------------------------------------------------------------------


def test_wiggly_ranking_changes_with_the_step_size():
    """ch13: the method that ends lowest on the wiggly function changes many times over a narrow
    band of step sizes, and no method wins on most of it."""
    wiggly = Wiggly()
    band = 10 ** np.linspace(0.4, 0.6, 101)
    finals = np.array([wiggly.value(run(wiggly, m(lr=band), [-20.0], 1000).final)
                       for m in RACERS.values()])
    winner = np.argmin(finals, axis=0)
    assert np.sum(np.diff(winner) != 0) > 20
    assert np.bincount(winner, minlength=len(RACERS)).max() < band.size / 2
    assert "{glue:text}`ch13_band_switches`" in prose("ch13_adam_family")


def test_wiggly_band_reaches_the_global_minimum_and_is_chaotic():
    """ch13: in the band 10^0.4-10^0.6 some runs do end at the global minimum (AdaMax's most of
    all), though none of the race's grid does; and the end is chaotic in the last bit of x0 (a
    shift of 1e-12 moves Adam's gap at 10^0.5 by more than a unit). The page used to say that no
    run reaches the global minimum and to quote the band's win counts as exact."""
    wiggly = Wiggly()
    x_star = wiggly.global_minimizer()
    band = 10 ** np.linspace(0.4, 0.6, 201)
    ends = np.array([run(wiggly, m(lr=band), [-20.0], 1000).final[..., 0] for m in RACERS.values()])
    at_x_star = np.sum(np.abs(ends - x_star) < 0.05, axis=1)
    assert at_x_star[list(RACERS).index("AdaMax")] > 10
    f_star = wiggly.value(np.array([x_star]))
    gaps = [wiggly.value(run(wiggly, Adam(lr=10**0.5), [x0], 1000).final) - f_star
            for x0 in (-20.0, -20.0 + 1e-12)]
    assert abs(gaps[0] - gaps[1]) > 1
    text = prose("ch13_adam_family")
    assert "No run reaches the global minimum" not in text
    assert "none of these methods searches." not in text
    for name in ("ch13_band_at_xstar", "ch13_shift_changed", "ch13_adam_gap_shift:.2f"):
        assert f"{{glue:text}}`{name}`" in text, name


def test_adam_memory_counts_weights_and_gradients():
    """ch13: a model filling a quarter of memory leaves no room for Adam only when the gradients
    are counted: weights d + gradients d + Adam's 2d."""
    text = prose("ch13_adam_family")
    assert "$d + d + 2d = 4d$" in text
    assert "so a model whose weights fill a quarter of a device's memory cannot be trained" not in text


def test_torch_agreement_is_claimed_only_where_rounding_is_not_amplified():
    text = prose("ch13_adam_family")
    assert "at settings where rounding is not amplified" in text


def test_adam_with_l2_bursts_for_large_decay():
    """ch11: with λ = 0.5 and 1, Adam with L2 has not converged after 10,000 steps: over the last
    thousand it moves away from (A + λI)⁻¹b by more than 1e-3, though its median distance is
    tiny; with λ = 0.1 it has settled to rounding."""
    f = QuadraticND.from_eigenvalues([0.01, 10.0], minimizer=[4.0, 4.0])
    decays = np.array([0.1, 0.5, 1.0])
    ends = run(f, Adam(lr=0.05, weight_decay=decays), np.zeros((3, 2)), 10_000).points[-1000:]
    target = np.array([np.linalg.solve(f.A + lam * np.eye(2), f.b) for lam in decays])
    distance = np.max(np.abs(ends - target), axis=-1)
    assert distance[:, 0].max() < 1e-12
    assert np.all(distance[:, 1:].max(axis=0) > 1e-3)
    assert np.all(np.median(distance[:, 1:], axis=0) < 1e-5)
    assert "reaches the same point to" not in prose("ch11_weight_decay")


def test_adam_with_l2_bursts_for_every_decay_in_a_longer_run():
    """ch11: the λ that look settled after 10,000 steps burst too, a little later: by step
    15,000 every λ has moved more than 1e-3 away from (A + λI)⁻¹b after having reached it. The
    page used to say Adam + L2 stays there for the small λ and quote one step's distance."""
    f = QuadraticND.from_eigenvalues([0.01, 10.0], minimizer=[4.0, 4.0])
    decays = np.array([0.01, 0.1, 0.2])
    points = run(f, Adam(lr=0.05, weight_decay=decays), np.zeros((3, 2)), 15_000).points
    target = np.array([np.linalg.solve(f.A + lam * np.eye(2), f.b) for lam in decays])
    distance = np.max(np.abs(points - target), axis=-1)
    assert np.all(distance[9_000:10_001].max(axis=0) < 1e-12)     # settled in the window
    assert np.all(distance[10_001:].max(axis=0) > 1e-3)            # and bursts after it
    text = prose("ch11_weight_decay")
    assert "at the last step it happens to be" not in text
    assert "reaches it and stays there" not in text
    assert "all eventually burst" in text and "{glue:text}`ch11_onset_weak_lo`" in text


def test_torch_has_no_lion():
    torch = pytest.importorskip("torch")
    assert not hasattr(torch.optim, "Lion")
    for chapter in ("ch11_weight_decay", "ch13_adam_family"):
        text = prose(chapter)
        assert "PyTorch {cite:p}`paszke2019pytorch` and current practice offer" not in text
        assert "decoupled in AdamW and Lion" not in text


def test_adamw_decay_per_step_is_computed():
    """ch14: the decay per step ηλ at AdamW's best step size is glued, not typed as 1e-4."""
    text = prose("ch14_real_model")
    assert "about $10^{-4}$" not in text
    assert "{glue:text}`ch14_adamw_decay_soft:.1e`" in text


def test_adadelta_first_step_depends_on_the_gradient():
    """ch13: Adadelta's first step is √(ε/(1-ρ)) only where the gradient is large."""
    f = QuadraticND.from_eigenvalues([1e-4, 1.0, 1e4])
    first = np.abs(np.diff(run(f, Adadelta(), [1.0, 1.0, 1.0], 1).points, axis=0))[0]
    assert np.allclose(first[1:], np.sqrt(1e-6 / 0.1), rtol=1e-3)
    assert first[0] < 0.05 * np.sqrt(1e-6 / 0.1)
    assert "in every coordinate, whatever the scale of the problem" not in prose("ch13_adam_family")


def test_hessian_zero_eigenvalues_counted_from_the_model():
    """ch14: the softmax Hessian at θ = 0 has 65 + 9 × (blank pixels) zero eigenvalues."""
    from lessons_src.objectives import SoftmaxRegression

    train, _ = split(load_digits(), 0.25, seed=0)
    model = SoftmaxRegression(train.images, train.labels)
    eigs = np.linalg.eigvalsh(model.hessian(model.initial_point(0)))
    blank = int(np.sum(train.images.max(axis=0) == 0))
    assert np.sum(np.abs(eigs) < 1e-8 * eigs.max()) == 65 + 9 * blank
    assert "{glue:text}`ch14_zero_shift`" in prose("ch14_real_model")


# --- results that rest on randomness ------------------------------------------------------------


@pytest.fixture(scope="module")
def schedule_race():
    """ch12 §12.4: five schedules at five peaks, 20 epochs of mini-batch SGD on the digits, for
    the page's five sampler seeds and five more. Returns the gap to the minimum at every 10th
    step, shape (seed, 87, shape, peak), shapes in the page's order (constant first)."""
    from lessons_src import MinibatchSGD, Nesterov
    from lessons_src.objectives import SoftmaxRegression
    from lessons_src.schedules import Schedule, cosine, sequential, step_decay, warmup

    train, _ = split(load_digits(), 0.25, seed=0)
    model = SoftmaxRegression(train.images, train.labels, weight_decay=0.01)
    theta0 = model.initial_point(0)
    f_star = float(model.value(run(model, Nesterov(lr=1.0, beta=0.9), theta0, 400).final))
    steps, peaks = 860, np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    shapes = [Schedule(lambda k: peaks), step_decay(peaks, every=steps // 3, factor=0.2),
              cosine(peaks, period=steps),
              sequential([warmup(peaks, steps // 10), cosine(peaks, steps - steps // 10)],
                         milestones=[steps // 10]),
              one_cycle(peaks, total=steps)]
    everyone = Schedule(lambda k: np.stack([s(k) * np.ones(peaks.size) for s in shapes]))
    gaps = []
    for seed in range(10):
        sgd = MinibatchSGD(lr=everyone, batch_size=32, sampling="shuffle", seed=seed)
        gaps.append(model.value(run(model, sgd, theta0, steps).points[::10]) - f_star)
    return np.array(gaps)


def test_decaying_schedules_beat_the_constant_step_on_every_seed(schedule_race):
    """ch12: on each of ten seeds (the page's five and five more) the best decaying schedule ends
    more than ten times closer to the minimum than the best constant step; the four decaying
    shapes' best gaps differ by a small factor next to that gain; their final gaps change with
    the seed by less than a factor 4, while the constant step's change by more than 10."""
    final = schedule_race[:, -1]                             # (seed, shape, peak)
    best = final.min(axis=2)                                 # (seed, shape)
    gain = best[:, 0] / best[:, 1:].min(axis=1)
    apart = best[:, 1:].max(axis=1) / best[:, 1:].min(axis=1)
    assert np.all(gain > 10), gain
    assert np.all((apart < 4) & (apart < gain / 3)), apart
    assert np.all(final[:, 1:].max(axis=0) < 4 * final[:, 1:].min(axis=0))
    assert np.any(final[:, 0].max(axis=0) > 10 * final[:, 0].min(axis=0))


def test_the_constant_steps_cloud_grows_with_the_step_on_every_seed(schedule_race):
    """ch12: one final point of a constant-step run does not order the step sizes (on some seed a
    larger step ends lower), but the mean gap over the second half of the run grows with the step
    size on every seed. The page used to claim the order from one shuffle's final points."""
    constant = schedule_race[:, :, 0]                        # (seed, step, peak)
    assert np.any(np.diff(constant[:, -1], axis=1) < 0)
    cloud = constant[:, constant.shape[1] // 2:].mean(axis=1)
    assert np.all(np.diff(cloud, axis=1) > 0)
    text = prose("ch12_schedules")
    assert "The best constant step is the smallest one tried" not in text
    for name in ("ch12_n_seeds", "ch12_gain_lo:.0f", "ch12_gain_hi:.0f", "ch12_cloud_2:.1e",
                 "ch12_smallest_best", "ch12_const_spread:.0f"):
        assert f"{{glue:text}}`{name}`" in text, name


def test_the_range_tests_half_turn_is_conservative(schedule_race):
    """ch12: on each of ten seeds the cosine does best at peak 2, above the range test's turn on
    that seed, and ends more than twice as close to the minimum as at half the turn. The page
    used to say that a good peak is a little below the turn and that the test found one."""
    from lessons_src import MinibatchSGD
    from lessons_src.objectives import SoftmaxRegression
    from lessons_src.schedules import lr_range

    cosine_final = schedule_race[:, -1, 2]                   # (seed, peak)
    assert np.all(np.argmin(cosine_final, axis=1) == 3)      # peak 2.0 on every seed
    train, _ = split(load_digits(), 0.25, seed=0)
    model = SoftmaxRegression(train.images, train.labels, weight_decay=0.01)
    sweep = lr_range(1e-4, 10, 300)
    for seed in range(10):
        sgd = MinibatchSGD(lr=sweep, batch_size=32, sampling="shuffle", seed=seed)
        loss = model.value(run(model, sgd, model.initial_point(0), 300).points[:300])
        turn = sweep(np.arange(300))[np.argmin(loss)]
        assert turn < 2.0, (seed, turn)
    # half the turn is below the race's 1.0 peak on every seed; the cosine at 1.0 already loses
    assert np.all(cosine_final[:, 2] > 1.5 * cosine_final[:, 3])
    text = prose("ch12_schedules")
    assert "A good peak is a little below the turn." not in text
    assert "the range test found a good peak" not in text
    assert "{glue:text}`ch12_cos_vs_pick:.0f`" in text


def test_first_steps_percentile_is_quoted_exactly():
    """ch12: at t = 1 the factor is 1/|g|; its 95th percentile is 1/z with Φ(z) = 0.525, about
    15.9; a sample of 20,000 gives about 15 (the page quoted the sample as the percentile)."""
    from statistics import NormalDist

    exact = 1 / NormalDist().inv_cdf(0.525)
    assert 15.9 < exact < 16.0
    sample = np.quantile(1 / np.abs(np.random.default_rng(0).standard_normal(20_000)), 0.95)
    assert abs(sample - exact) > 0.5                         # the sample is visibly off
    assert "{glue:text}`ch12_q95_1_exact:.1f`" in prose("ch12_schedules")


def first_step_below(beta2: float, seed: int, level: float = 1.2, runs: int = 20_000) -> int:
    """The first step at which the 95th percentile of Adam's factor 1/sqrt(v̂_t) is below level."""
    rng, v, t = np.random.default_rng(seed), np.zeros(runs), 0
    while True:
        t += 1
        v = beta2 * v + (1 - beta2) * rng.standard_normal(runs) ** 2
        if np.quantile((v / (1 - beta2**t)) ** -0.5, 0.95) < level:
            return t


def test_warmup_exercise_has_one_answer_over_seeds():
    """ch12 Exercise 12.2: the first step below 1.2 moves with the seed by a few steps, and its
    ranges over seeds 0-4 for β2 = 0.99 and 0.999 overlap (the exercise's checkable answer);
    the exercise asks for the range, and the solution glues it instead of typing "step 50"."""
    steps = {b2: [first_step_below(b2, s) for s in range(5)] for b2 in (0.99, 0.999)}
    assert max(map(min, steps.values())) <= min(map(max, steps.values())), steps
    assert all(max(s) - min(s) <= 5 for s in steps.values()), steps
    text = prose("ch12_schedules")
    assert "at step 50 for both" not in text
    assert "$s = 0, \\dots, 4$" in text and "{glue:text}`ch12_warm_hi_999`" in text


@pytest.fixture(scope="module")
def digits_softmax_seeds():
    """ch14: softmax regression, 20 epochs of batches of 32 on seeds 0-4, each optimizer at the
    page's seed-0 step size (SGD and momentum also at the momentum match's step sizes). Returns
    (validation accuracy per optimizer and seed, final training loss of the match per seed)."""
    from lessons_src import AdamW, GradientDescent, Momentum
    from lessons_src.objectives import Minibatches, SoftmaxRegression

    train, val = split(load_digits(), 0.25, seed=0)
    model = SoftmaxRegression(train.images, train.labels)
    grid = np.geomspace(1e-4, 10, 11)
    chosen = {"SGD": (GradientDescent, grid[9], grid[4:8]),
              "momentum": (partial(Momentum, beta=0.9), grid[7], grid[2:6]),
              "Adam": (Adam, grid[5], []),
              "AdamW": (partial(AdamW, weight_decay=0.01), grid[5], [])}
    accuracy, match = {name: [] for name in chosen}, []
    for seed in range(5):
        finals = {}
        for name, (make, lr, more) in chosen.items():
            stream = Minibatches(model, batch_size=32, sampling="shuffle", seed=seed)
            end = run(model, make(lr=np.concatenate([[lr], more])), model.initial_point(0),
                      20 * stream.per_epoch, objective_at=stream.at).final
            accuracy[name].append(model.accuracy(end[0], val.images, val.labels))
            if len(more):
                finals[name] = model.value(end[1:])
        match.append(np.max(np.abs(np.log(finals["SGD"]) - np.log(finals["momentum"]))))
    return {k: np.array(v) for k, v in accuracy.items()}, np.array(match)


def test_tuned_optimizers_accuracy_depends_on_the_draw(digits_softmax_seeds):
    """ch14: on seed 0 the four tuned optimizers lie within half a point of accuracy; over seeds
    0-4 at the same step sizes they lie more than a point apart on some seed, and the leader
    changes. The page used to state the half point as a property of the optimizers."""
    accuracy, _ = digits_softmax_seeds
    table = np.array(list(accuracy.values()))                  # (optimizer, seed)
    spread = table.max(axis=0) - table.min(axis=0)
    assert spread[0] < 0.005 < 0.01 < spread.max()
    assert len(set(np.argmax(table, axis=0))) > 1
    text = prose("ch14_real_model")
    assert "within half a percentage point of validation accuracy" not in text
    for name in ("ch14_soft_acc_spread:.1f", "ch14_soft_leaders", "ch14_acc_spread_max:.1f"):
        assert f"{{glue:text}}`{name}`" in text, name


def test_momentum_matches_sgd_at_ten_times_the_step_only_roughly_over_seeds(digits_softmax_seeds):
    """ch14: momentum at η against SGD at 10η: within 0.75 % on seed 0, up to several % on other
    seeds; the page quotes the range over the seeds."""
    _, match = digits_softmax_seeds
    assert match[0] < 0.0075 and match.max() > 0.03
    assert "{glue:text}`ch14_match_hi:.1%`" in prose("ch14_real_model")


def test_ch14_one_run_claims_are_hedged():
    """ch14: Adam's and SGD's best steps moved by the same factor between the models (no
    contrast); early stopping is one run per optimizer; SGD's good range is cut off by the grid."""
    text = prose("ch14_real_model")
    assert "are within a factor of three of each other, where SGD's moved from" not in text
    assert "Only Adam's lowest validation loss comes clearly before the end" not in text
    assert "{glue:text}`ch14_early_runs`" in text
    assert "spans at least {glue:text}`ch14_soft_sgd_width:.1f`" in text
