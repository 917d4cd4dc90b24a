"""Schedules and the Armijo line search: step sizes, step counts, the sufficient-decrease theorem."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import GradientDescent, QuadraticND, run
from lessons_src.objectives import LeastSquares, SigmoidNeuron, make_line_data
from lessons_src.optim import Armijo, MinibatchSGD
from lessons_src.schedules import (
    Schedule,
    exponential_decay,
    inverse_sqrt_decay,
    inverse_time_decay,
    step_decay,
)
from lessons_src.theory import armijo_safe_step


@pytest.fixture(scope="module")
def line() -> LeastSquares:
    x, y = make_line_data(400, seed=1)
    return LeastSquares.line_fit(x, y)


def test_step_size_formulas():
    t = np.arange(10)
    assert np.allclose(step_decay(0.8, every=3, factor=0.5)(t), 0.8 * 0.5 ** (t // 3))
    assert np.allclose(exponential_decay(0.8, rate=0.9)(t), 0.8 * 0.9**t)
    assert np.allclose(inverse_time_decay(0.8, tau=4)(t), 0.8 / (1 + t / 4))
    assert np.allclose(inverse_sqrt_decay(0.8)(t), 0.8 / np.sqrt(t + 1))
    # what an optimizer receives at step t: the same number, with a trailing axis
    opt = GradientDescent(lr=step_decay(0.8, every=3, factor=0.5))
    assert [opt.step_size(k)[0] for k in t] == list(0.8 * 0.5 ** (t // 3))


def test_schedule_without_batches_is_gd_with_those_steps():
    # On the bowl f = ½‖x‖² a step multiplies x by (1 - η_t): the product of the factors.
    bowl = QuadraticND(np.eye(2))
    x0 = np.array([3.0, -1.0])
    trajectory = run(bowl, GradientDescent(exponential_decay(0.5, rate=0.8)), x0, 6)
    factors = np.cumprod(1 - 0.5 * 0.8 ** np.arange(6))
    assert np.allclose(trajectory.points[1:], factors[:, None] * x0)
    # the state counts the steps
    opt = GradientDescent(inverse_time_decay(0.5, tau=2.0))
    x, state = x0, opt.init(x0)
    for _ in range(5):
        x, state = opt.step(bowl, x, state)
    assert state.count == 5


def test_rate_one_is_the_fixed_step(line):
    starts = np.zeros((4, 2))
    fixed = run(line, MinibatchSGD(0.1, batch_size=4, seed=2), starts, 100)
    flat = run(line, MinibatchSGD(exponential_decay(0.1, rate=1.0), batch_size=4, seed=2), starts, 100)
    assert np.array_equal(fixed.points, flat.points)


def test_schedules_beat_the_noise_floor(line):
    f_star = line.value(line.minimizer)
    starts = np.zeros((20, 2))
    end = {}
    for name, opt in {
        "fixed": MinibatchSGD(0.2, batch_size=4, seed=3),
        "step": MinibatchSGD(step_decay(0.2, 200, 0.5), batch_size=4, seed=3),
        "exp": MinibatchSGD(exponential_decay(0.2, 0.995), batch_size=4, seed=3),
        "inv": MinibatchSGD(inverse_time_decay(0.2, 50), batch_size=4, seed=3),
    }.items():
        end[name] = (run(line, opt, starts, 1000).values[-100:] - f_star).mean()
    assert all(end[n] < end["fixed"] / 3 for n in ("step", "exp", "inv"))


def test_distance_budget_of_exponential_decay(line):
    runs = run(line, MinibatchSGD(exponential_decay(0.2, rate=0.9), batch_size=4, seed=0),
               np.zeros((10, 2)), 200)
    G = np.linalg.norm(line.example_grads(runs.points), axis=-1).max()
    travelled = np.linalg.norm(runs.points - runs.points[0], axis=-1).max()
    assert travelled <= G * 0.2 / (1 - 0.9)


def test_armijo_condition_holds_below_the_safe_step(line):
    c = 0.3
    safe = armijo_safe_step(line.smoothness, c)
    rng = np.random.default_rng(0)
    for theta in rng.normal(size=(30, 2)) * 4:
        g = line.grad(theta)
        for eta in np.linspace(1e-8, safe, 25):
            assert line.value(theta - eta * g) <= line.value(theta) - c * eta * g @ g + 1e-12


def test_armijo_bound_is_tight_on_a_quadratic():
    lam, c = 3.0, 0.5
    f = QuadraticND(np.diag([lam, 0.5]))
    x = np.array([1.0, 0.0])
    g = f.grad(x)
    safe = armijo_safe_step(lam, c)
    assert safe == pytest.approx(1 / 3)

    def holds(eta):
        return f.value(x - eta * g) <= f.value(x) - c * eta * g @ g

    assert holds(0.999 * safe) and not holds(1.001 * safe)
    # backtracking from 1 by halves accepts 1/4 (exercise ch4-ex-armijo-tight)
    _, state = Armijo(lr=1.0, shrink=0.5, c=c).step(f, x, Armijo(lr=1.0).init(x))
    assert state.lr[0] == 0.25 and state.evaluations == 1 + 3


def test_armijo_accepted_steps_respect_the_guarantee(line):
    c, rho, eta0 = 1e-4, 0.5, 10.0
    opt = Armijo(lr=eta0, shrink=rho, c=c)
    x = np.zeros((3, 2)) + np.array([[0.0], [1.0], [-2.0]])
    state = opt.init(x)
    bound = min(eta0, rho * armijo_safe_step(line.smoothness, c))
    for _ in range(30):
        before = line.value(x)
        g = line.grad(x)
        x, state = opt.step(line, x, state)
        assert np.all(state.lr[..., 0] >= bound)
        assert np.all(line.value(x) <= before - c * state.lr[..., 0] * np.sum(g * g, -1) + 1e-15)
    assert state.count == 30


def test_armijo_leaves_the_neuron_plateau():
    neuron = SigmoidNeuron()
    fixed = run(neuron, GradientDescent(lr=1.0), np.array([4.0, 4.0]), 100)
    search = run(neuron, Armijo(lr=100.0), np.array([4.0, 4.0]), 100)
    assert fixed.values[-1] > 0.3 and search.values[-1] < 1e-12
    assert np.all(np.diff(search.values) <= 0)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="factor"):
        step_decay(0.1, every=3, factor=1.5)
    with pytest.raises(ValueError, match="every"):
        step_decay(0.1, every=0, factor=0.5)
    with pytest.raises(ValueError, match="rate"):
        exponential_decay(0.1, rate=0.0)
    with pytest.raises(ValueError, match="tau"):
        inverse_time_decay(0.1, tau=-1)
    with pytest.raises(ValueError, match="lr"):
        step_decay(-0.1, every=3, factor=0.5)
    with pytest.raises(ValueError, match="c must"):
        Armijo(c=1.0)
    with pytest.raises(ValueError, match="shrink"):
        Armijo(shrink=1.0)
    with pytest.raises(ValueError, match="max_backtracks"):
        Armijo(max_backtracks=-1)


def test_a_plain_function_must_be_wrapped_and_is_checked_at_every_step():
    bowl = QuadraticND(np.eye(2))
    with pytest.raises(ValueError, match=r"lr must be a number, an array or a .*Schedule"):
        GradientDescent(lr=lambda t: 0.1)
    falling = GradientDescent(lr=Schedule(lambda t: 0.3 - 0.1 * t, "0.3 - 0.1 t"))
    with pytest.raises(ValueError, match=r"schedule of lr must give positive .* at step 3"):
        run(bowl, falling, [1.0, 1.0], 5)


def test_an_array_valued_schedule_is_a_sweep_equal_to_its_single_runs():
    """The bug this mechanism removed: step decay with an array factor inside momentum."""
    from lessons_src import Momentum, TorchMomentum

    bowl = QuadraticND.from_eigenvalues([0.5, 4.0], angle=0.3)
    factors = np.array([0.1, 0.5, 0.9])
    for cls in (Momentum, TorchMomentum):
        sweep = run(bowl, cls(step_decay(0.1, every=10, factor=factors), 0.9), [2.0, 1.0], 40)
        assert sweep.batch_shape == (3,)
        for i, factor in enumerate(factors):
            single = run(bowl, cls(step_decay(0.1, every=10, factor=factor), 0.9), [2.0, 1.0], 40)
            assert np.array_equal(sweep.points[:, i], single.points)


def test_schedules_of_practice_have_their_shapes():
    from lessons_src.schedules import cosine, cosine_restarts, linear, lr_range, one_cycle, sequential

    t = np.arange(400)
    warm = linear(0.1, 0.1, 1.0, 50)(t)
    assert warm[0] == pytest.approx(0.01) and warm[50] == pytest.approx(0.1) and np.all(np.diff(warm) >= 0)
    down = cosine(0.1, 100)(t[:101])
    assert down[0] == pytest.approx(0.1) and down[100] == pytest.approx(0.0, abs=1e-17)
    assert np.all(np.diff(down) <= 0)
    restarts = cosine_restarts(0.1, 20, growth=2)(t[:140])
    assert [k for k in range(1, 140) if restarts[k] > restarts[k - 1]] == [20, 60]  # 20, then 40
    cycle = one_cycle(0.5, 400)(t)
    assert int(np.argmax(cycle)) == 119 and cycle[0] == pytest.approx(0.02)
    assert cycle[-1] == pytest.approx(0.02 / 1e4)
    both = sequential([linear(0.1, 0.5, 1.0, 10), cosine(0.1, 90)], [10])(t[:100])
    assert both[9] < both[10] == pytest.approx(0.1)
    sweep = lr_range(1e-4, 1.0, 100)(t[:101])
    assert sweep[0] == pytest.approx(1e-4) and sweep[100] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log(sweep)), np.log(1e4) / 100)


def test_schedules_of_practice_sweep_and_refuse_bad_arguments():
    from lessons_src.schedules import cosine, cosine_restarts, linear, lr_range, one_cycle, sequential

    bowl = QuadraticND(np.eye(2))
    sweep = run(bowl, GradientDescent(cosine(np.array([0.1, 0.2]), 50)), [1.0, 1.0], 20)
    single = run(bowl, GradientDescent(cosine(0.2, 50)), [1.0, 1.0], 20)
    assert np.array_equal(sweep.points[:, 1], single.points)
    for call, name in [
        (lambda: linear(0.1, 1.5, 1.0, 10), "start_factor"),
        (lambda: linear(0.1, 0.0, 1.0, 10), "start_factor"),
        (lambda: linear(0.1, 0.5, 1.0, 0), "total"),
        (lambda: cosine(0.1, 100, min_lr=-1), "min_lr"),
        (lambda: cosine_restarts(0.1, 20, growth=0), "growth"),
        (lambda: one_cycle(0.5, 100, pct_start=1.2), "pct_start"),
        (lambda: one_cycle(-0.5, 100), "max_lr"),
        (lambda: sequential([cosine(0.1, 10)], [5]), "one more schedule"),
        (lambda: sequential([cosine(0.1, 10), cosine(0.1, 10)], [0]), "milestones"),
        (lambda: lr_range(1.0, 0.1, 10), "low"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()


def test_torch_parity_schedules_have_their_shapes_and_refuse_bad_arguments():
    from lessons_src.schedules import ReduceOnPlateau, constant_factor, cyclic, multi_step, polynomial

    t = np.arange(120)
    steps = multi_step(0.1, [10, 30, 30])(t)
    assert steps[9] == 0.1 and steps[10] == pytest.approx(0.01) and steps[30] == pytest.approx(1e-4)
    held = constant_factor(0.1, 0.5, 20)(t)
    assert np.all(held[:20] == 0.05) and np.all(held[20:] == 0.1)
    poly = polynomial(0.1, total=100, power=2.0)(t)
    assert poly[50] == pytest.approx(0.025) and np.all(poly[100:] == 0)
    tri = cyclic(0.01, 0.1, up=10, down=30)(t)
    assert tri[0] == pytest.approx(0.01) and tri[10] == pytest.approx(0.1) and tri[40] == pytest.approx(0.01)
    assert [k for k in range(2, 120) if tri[k] > tri[k - 1] and tri[k - 1] <= tri[k - 2]] == [41, 81]
    halved = cyclic(1e-9, 1.0, up=10, mode="triangular2")(t)
    assert [halved[10], halved[30], halved[50]] == pytest.approx([1.0, 0.5, 0.25])
    assert cyclic(0.01, 0.1, up=10, mode="exp_range", gamma=0.9)(10) == pytest.approx(0.01 + 0.09 * 0.9**10)
    for call, name in [
        (lambda: multi_step(0.1, [30, 10]), "milestones"),
        (lambda: multi_step(0.1, [-1, 10]), "milestones"),
        (lambda: multi_step(0.1, [10], factor=2.0), "factor"),
        (lambda: constant_factor(0.1, factor=0.0), "factor"),
        (lambda: constant_factor(0.1, total=0), "total"),
        (lambda: polynomial(0.1, total=0), "total"),
        (lambda: polynomial(0.1, power=-1.0), "power"),
        (lambda: cyclic(0.1, 0.01), "max_lr"),
        (lambda: cyclic(0.01, 0.1, up=0), "up"),
        (lambda: cyclic(0.01, 0.1, down=-3), "down"),
        (lambda: cyclic(0.01, 0.1, mode="triangle"), "mode"),
        (lambda: cyclic(0.01, 0.1, mode="exp_range", gamma=1.5), "gamma"),
        (lambda: ReduceOnPlateau(0.1, factor=1.0), "factor"),
        (lambda: ReduceOnPlateau(0.1, mode="lowest"), "mode"),
        (lambda: ReduceOnPlateau(0.1, threshold_mode="relative"), "threshold_mode"),
        (lambda: ReduceOnPlateau(0.1, patience=-1), "patience"),
        (lambda: ReduceOnPlateau(0.1, min_lr=-1.0), "min_lr"),
        (lambda: ReduceOnPlateau(-0.1), "lr"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()


@pytest.mark.parametrize("t", [-1, np.int64(-3), np.array([0, 1, -2]), float("nan"), True])
def test_a_schedule_asked_for_a_negative_step_names_t(t):
    from lessons_src.schedules import cosine, cyclic, multi_step

    for schedule in (step_decay(0.1, 10, 0.5), cosine(0.1, 50), cyclic(0.01, 0.1, up=5),
                     multi_step(0.1, [3]), Schedule(lambda k: 0.1)):
        with pytest.raises(ValueError, match=r"^t must be a step count"):
            schedule(t)
        with pytest.raises(ValueError, match=r"^t must be a step count"):
            schedule.at(t)


def test_reduce_on_plateau_is_pure_and_refuses_nan_losses():
    from lessons_src.schedules import ReduceOnPlateau

    plateau = ReduceOnPlateau(0.1, factor=0.5, patience=1)
    start = plateau.init()
    after = plateau.update(start, 1.0)
    assert start.count == 0 and start.best == np.inf and after.best == 1.0  # start is unchanged
    state = after
    for loss in (1.0, 1.0):  # two losses no better than the best: a cut after patience 1
        state = plateau.update(state, loss)
    assert state.lr == pytest.approx(0.05) and state.bad == 0 and state.count == 3
    assert np.array_equal(plateau.rates([1.0, 1.0, 1.0]), [0.1, 0.1, 0.1, 0.05])
    # a sweep: one plateau per run, each with its own losses
    sweep = ReduceOnPlateau(np.array([0.1, 0.2]), factor=0.5, patience=0)
    rates = sweep.rates([[1.0, 1.0], [0.5, 2.0], [0.4, 3.0]])
    assert rates.shape == (4, 2) and np.array_equal(rates[-1], [0.1, 0.05])
    with pytest.raises(ValueError, match=r"^loss must be finite"):
        plateau.update(state, float("nan"))
    with pytest.raises(ValueError, match=r"^losses must be finite, got nan at losses\[2\]"):
        plateau.rates([1.0, 0.9, np.nan, 0.8])
    # replayed as a schedule, it knows only the steps its losses decided
    schedule = plateau.schedule([1.0, 1.0, 1.0])
    assert schedule.at(3)[0] == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"^t must be at most 3"):
        schedule(4)
