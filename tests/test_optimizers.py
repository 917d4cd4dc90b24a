"""Optimizers: stability thresholds, Newton's one-step property, each update rule against a plain
reimplementation of its docstring formula, and hyperparameter validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessons_src import (
    OPTIMIZERS,
    AdaGrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    Newton,
    Optimizer,
    Parabola,
    Quadratic1D,
    QuadraticND,
    RMSProp,
    Rosenbrock,
    Wiggly,
    make_optimizer,
    run,
    theory,
)
from lessons_src.analysis import rate_from_ratios
from lessons_src.optim import SquaresState, StepState, VelocityState
from lessons_src.runner import DIVERGENCE_BOUND
from lessons_src.theory import ema_weights

# ---------------------------------------------------------------------------------------------
# (a) Gradient descent on a parabola: the threshold η = 2 / f''.
# ---------------------------------------------------------------------------------------------

#: 20 curvatures f'' = a in [0.1, 50], fixed by the seed.
CURVATURES = np.sort(np.random.default_rng(20240611).uniform(0.1, 50.0, size=20))


def _parabola(a: float) -> tuple[Quadratic1D, float, float]:
    """f = (a/2) x² + b x + c, so f'' = a, with random b, c; also x* = −b/a and a start x0."""
    rng = np.random.default_rng(int(a * 1e6))
    b, c = rng.uniform(-5.0, 5.0, size=2)
    f = Quadratic1D(a / 2, b, c)
    x_star = -b / a
    x0 = x_star + rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 10.0)
    return f, x_star, x0


@pytest.mark.parametrize("a", CURVATURES, ids=[f"a={a:.3g}" for a in CURVATURES])
def test_gd_converges_just_below_the_threshold(a):
    """η = 0.99 · 2/a: the error is multiplied by 1 − ηa = −0.98 per step and dies out."""
    f, x_star, x0 = _parabola(a)
    assert f.curvature == a
    lr = 0.99 * 2 / a
    multiplier = 1 - lr * a
    steps = math.ceil(math.log(1e-7) / math.log(abs(multiplier)))  # |m|^steps = 1e-7
    trajectory = run(f, GradientDescent(lr), x0, steps)
    distance = trajectory.distances([x_star])
    assert not trajectory.diverged
    assert distance[-1] < 1e-6 * distance[0]
    # The first 100 steps follow the closed form |x_k − x*| = |1 − ηa|^k |x_0 − x*|.
    k = np.arange(101)
    np.testing.assert_allclose(distance[:101], abs(multiplier) ** k * distance[0], rtol=1e-9)


@pytest.mark.parametrize("a", CURVATURES, ids=[f"a={a:.3g}" for a in CURVATURES])
def test_gd_diverges_just_above_the_threshold(a):
    """η = 1.01 · 2/a: the error grows by |1 − ηa| = 1.02 per step until the runner flags it.

    The flag must come at the first k where |x* + (1 − ηa)^k (x0 − x*)| exceeds the bound.
    """
    f, x_star, x0 = _parabola(a)
    lr = 1.01 * 2 / a
    multiplier = 1 - lr * a
    trajectory = run(f, GradientDescent(lr), x0, 6000)
    distance = trajectory.distances([x_star])
    k = np.arange(1001)
    np.testing.assert_allclose(distance[:1001], abs(multiplier) ** k * distance[0], rtol=1e-10)
    assert distance[1000] > distance[0]
    closed_form = x_star + multiplier ** np.arange(6001.0) * (x0 - x_star)
    expected_step = int(np.argmax(np.abs(closed_form) > DIVERGENCE_BOUND))
    assert 0 < expected_step <= 6000
    assert trajectory.diverged
    assert trajectory.diverged_at == expected_step


def test_gd_two_cycle_exactly_at_the_threshold():
    """f = x² − 2x + 1 (f'' = 2) with η = 2/f'' = 1 maps x to 2 − x: 5, −3, 5, −3, …"""
    f = Quadratic1D(1.0, -2.0, 1.0)
    trajectory = run(f, GradientDescent(2 / f.curvature), 5.0, 9)
    np.testing.assert_array_equal(trajectory.points[:, 0], [5.0, -3.0] * 5)
    assert not trajectory.diverged


@pytest.mark.parametrize("a", CURVATURES, ids=[f"a={a:.3g}" for a in CURVATURES])
def test_gd_with_step_one_over_curvature_lands_on_the_minimum(a):
    """η = 1/f'' multiplies the error by 1 − ηa = 0: one step reaches x* (up to rounding)."""
    f, x_star, x0 = _parabola(a)
    x1 = run(f, GradientDescent(1 / a), x0, 1).points[1, 0]
    assert abs(x1 - x_star) <= 1e-13 * (abs(x0) + abs(x_star))


def test_theory_rates_match_a_run():
    """theory.gd_rate / stability_threshold / best_gd_step agree with the formulas and a run."""
    lam = np.array([0.3, 4.0])
    f = QuadraticND.from_eigenvalues(lam, angle=0.4, minimizer=[1.0, 2.0])
    assert theory.stability_threshold(4.0) == 2 / 4.0
    lr = 2 / (lam[0] + lam[1])
    assert theory.best_gd_step(0.3, 4.0) == pytest.approx(lr, rel=1e-15)
    expected_rate = max(abs(1 - lr * lam[0]), abs(1 - lr * lam[1]))
    assert theory.gd_rate(lr, lam) == pytest.approx(expected_rate, rel=1e-14)
    kappa = lam[1] / lam[0]
    assert theory.best_gd_rate(kappa) == pytest.approx(expected_rate, rel=1e-14)
    trajectory = run(f, GradientDescent(lr), [5.0, -3.0], 60)
    measured = rate_from_ratios(trajectory.distances([1.0, 2.0]))
    assert measured == pytest.approx(expected_rate, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# (b) Newton's method solves a quadratic in one step.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.1, 1.0, 7.3, 50.0, -2.0])
def test_newton_one_step_1d(a):
    """x − f'/f'' = −b/a for f = (a/2)x² + bx + c: the stationary point (a maximum if a < 0)."""
    b, x0 = 3.7, -11.0
    f = Quadratic1D(a / 2, b, 0.25)
    x1 = run(f, Newton(), x0, 1).points[1, 0]
    assert x1 == pytest.approx(-b / a, rel=1e-14, abs=1e-14 * abs(x0))
    assert abs(f.grad(x1)[0]) <= 1e-13 * (abs(b) + abs(a * x0))


@pytest.mark.parametrize("dim", [2, 3, 5, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_one_step_nd(dim, seed):
    """For f = ½xᵀAx − bᵀx with random SPD A, x − A⁻¹(Ax − b) = A⁻¹b = x*."""
    rng = np.random.default_rng(100 * dim + seed)
    m = rng.normal(size=(dim, dim))
    A = m @ m.T + 0.1 * np.eye(dim)
    A = (A + A.T) / 2
    b = rng.normal(size=dim)
    x0 = rng.uniform(-10, 10, size=dim)
    x_star = np.linalg.solve(A, b)
    x1 = run(QuadraticND(A, b), Newton(), x0, 1).points[1]
    tolerance = 1e-13 * np.linalg.cond(A) * (np.linalg.norm(x0) + np.linalg.norm(x_star))
    assert np.linalg.norm(x1 - x_star) <= tolerance


# ---------------------------------------------------------------------------------------------
# (c) One step of each optimizer against a plain reimplementation of its docstring formula.
# ---------------------------------------------------------------------------------------------

STEP_OBJECTIVES = {
    "wiggly": Wiggly(),
    "rosenbrock": Rosenbrock(),
    "quadratic3d": QuadraticND(
        np.array([[3.0, 0.5, -0.2], [0.5, 2.0, 0.3], [-0.2, 0.3, 1.0]]), b=[1.0, -1.0, 0.5]
    ),
}


@pytest.fixture(params=list(STEP_OBJECTIVES), ids=list(STEP_OBJECTIVES))
def step_objective(request):
    return STEP_OBJECTIVES[request.param]


def _cases(objective, n: int = 5, seed: int = 7):
    """``n`` random points with a random generator for states."""
    rng = np.random.default_rng(seed)
    return rng, rng.uniform(-1.5, 1.5, size=(n, objective.dim))


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-13, atol=1e-14)


def test_gradient_descent_step(step_objective):
    """x' = x − η g."""
    f = step_objective
    _, points = _cases(f)
    opt = GradientDescent(0.03)
    assert opt.init(points[0]).count == 0
    for count, x in enumerate(points):
        x_next, state = opt.step(f, x, StepState(count))
        _close(x_next, x - 0.03 * f.grad(x))
        assert state.count == count + 1


@pytest.mark.parametrize("velocity0", [0.0, 0.7, -1.3])
def test_momentum_step(step_objective, velocity0):
    """v' = βv − ηg(x), x' = x + v'; the state starts at v0 = velocity0."""
    f = step_objective
    rng, points = _cases(f)
    lr, beta = 0.02, 0.85
    opt = Momentum(lr, beta, velocity0=velocity0)
    for x in points:
        state = opt.init(x)
        assert isinstance(state, VelocityState)
        np.testing.assert_array_equal(state.velocity, np.full(f.dim, velocity0))
        for v in (state.velocity, rng.normal(size=f.dim)):
            x_next, new = opt.step(f, x, VelocityState(0, v))
            v_expected = beta * v - lr * f.grad(x)
            _close(new.velocity, v_expected)
            _close(x_next, x + v_expected)


def test_nesterov_step(step_objective):
    """v' = βv − η g(x + βv) (gradient at the look-ahead point), x' = x + v'."""
    f = step_objective
    rng, points = _cases(f)
    lr, beta = 0.02, 0.85
    opt = Nesterov(lr, beta)
    for x in points:
        np.testing.assert_array_equal(opt.init(x).velocity, np.zeros(f.dim))
        v = rng.normal(size=f.dim)
        x_next, new = opt.step(f, x, VelocityState(0, v))
        v_expected = beta * v - lr * f.grad(x + beta * v)
        _close(new.velocity, v_expected)
        _close(x_next, x + v_expected)
        # The look-ahead matters: with v ≠ 0 this differs from heavy-ball momentum.
        assert not np.allclose(x_next, x + beta * v - lr * f.grad(x), rtol=1e-10, atol=0)


def test_adagrad_step(step_objective):
    """s' = s + g², x' = x − η g / (√s' + ε); the first step is η g / (|g| + ε)."""
    f = step_objective
    rng, points = _cases(f)
    lr, eps = 0.1, 1e-3
    opt = AdaGrad(lr, eps=eps)
    for x in points:
        g = f.grad(x)
        state = opt.init(x)
        np.testing.assert_array_equal(state.squares, np.zeros(f.dim))
        x_first, _ = opt.step(f, x, state)
        _close(x_first, x - lr * g / (np.abs(g) + eps))
        s = rng.uniform(0.0, 3.0, size=f.dim)
        x_next, new = opt.step(f, x, SquaresState(0, s))
        _close(new.squares, s + g**2)
        _close(x_next, x - lr * g / (np.sqrt(s + g**2) + eps))


def test_rmsprop_step(step_objective):
    """s' = ρs + (1 − ρ)g², x' = x − η g / (√s' + ε); first step η g / (√(1−ρ)|g| + ε)."""
    f = step_objective
    rng, points = _cases(f)
    lr, rho, eps = 0.01, 0.9, 1e-4
    opt = RMSProp(lr, rho=rho, eps=eps)
    for x in points:
        g = f.grad(x)
        x_first, _ = opt.step(f, x, opt.init(x))
        _close(x_first, x - lr * g / (math.sqrt(1 - rho) * np.abs(g) + eps))
        s = rng.uniform(0.0, 3.0, size=f.dim)
        s_expected = rho * s + (1 - rho) * g**2
        x_next, new = opt.step(f, x, SquaresState(0, s))
        _close(new.squares, s_expected)
        _close(x_next, x - lr * g / (np.sqrt(s_expected) + eps))


def _unrolled_average(samples, beta):
    """Σ_k (1 − β) β^(t−k) g_k for every t, from the weights of the unrolled average
    (theory.ema_weights), not from the recursion that Adam.step runs."""
    return np.stack([ema_weights(beta, t) @ samples[:t] for t in range(1, len(samples) + 1)])


@pytest.mark.parametrize("bias_correction", [True, False], ids=["bias-corrected", "raw"])
@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_adam_matches_its_unrolled_form(step_objective, bias_correction, amsgrad):
    """Run Adam, record its moments, and check them and every step against the closed form
    m_t = Σ (1−β1)β1^(t−k) g_k, v_t = Σ (1−β2)β2^(t−k) g_k², v_t^max = max_{s≤t} v_s, and
    x_t − x_{t−1} = −η m̂_t/(√v̂_t + ε) with m̂ = m/(1 − β1^t), v̂ = v^max/(1 − β2^t)."""
    f = step_objective
    _, points = _cases(f)
    lr, b1, b2, eps, steps = 0.05, 0.8, 0.95, 1e-6, 25
    opt = Adam(lr, b1, b2, eps, bias_correction=bias_correction, amsgrad=amsgrad)
    trajectory = run(f, opt, points[0], steps, record=True)
    g = f.grad(trajectory.points[:-1])                      # g_1 .. g_T
    m, v = _unrolled_average(g, b1), _unrolled_average(g**2, b2)
    v_max = np.maximum.accumulate(v, axis=0) if amsgrad else v
    _close(trajectory.states["mu"][1:], m)
    _close(trajectory.states["nu"][1:], v)
    if amsgrad:
        _close(trajectory.states["nu_max"][1:], v_max)
    else:                                                   # no AMSGrad: no slot that copies nu
        assert "nu_max" not in trajectory.states
    assert list(trajectory.states["count"]) == list(range(steps + 1))
    t = np.arange(1, steps + 1)[:, None]
    m_hat = m / (1 - b1**t) if bias_correction else m
    v_hat = v_max / (1 - b2**t) if bias_correction else v_max
    np.testing.assert_allclose(np.diff(trajectory.points, axis=0), -lr * m_hat / (np.sqrt(v_hat) + eps),
                               rtol=1e-10, atol=1e-13)


def test_amsgrad_keeps_the_larger_second_moment():
    """A gradient that shrinks makes v fall; AMSGrad's v^max does not, so its steps are shorter."""
    line = Parabola(0.5)                                       # g = x: shrinks as x → 0
    plain = run(line, Adam(0.1, beta2=0.5), 3.0, 40, record=True)
    ams = run(line, Adam(0.1, beta2=0.5, amsgrad=True), 3.0, 40, record=True)
    assert np.any(np.diff(plain.states["nu"][1:, 0]) < 0)
    assert np.all(np.diff(ams.states["nu_max"][1:, 0]) >= 0)
    assert np.all(ams.states["nu_max"][1:] >= ams.states["nu"][1:])


@pytest.mark.parametrize("bias_correction", [True, False])
def test_adam_first_step_closed_form(step_objective, bias_correction):
    """From the zero state, m = (1−β1)g and v = (1−β2)g². Bias-corrected, m̂ = g and v̂ = g², so
    the first step is η g / (|g| + ε); raw, it is η (1−β1) g / (√(1−β2)|g| + ε)."""
    f = step_objective
    _, points = _cases(f)
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-6
    opt = Adam(lr, b1, b2, eps, bias_correction=bias_correction)
    for x in points:
        state = opt.init(x)
        assert state.count == 0
        g = f.grad(x)
        x_next, _ = opt.step(f, x, state)
        if bias_correction:
            expected = x - lr * g / (np.abs(g) + eps)
        else:
            expected = x - lr * (1 - b1) * g / (math.sqrt(1 - b2) * np.abs(g) + eps)
        _close(x_next, expected)


@pytest.mark.parametrize(("lr", "alpha"), [(1.0, 0.0), (0.5, 0.0), (0.7, 2.5), (1.3, 0.1)])
def test_newton_step(step_objective, lr, alpha):
    """x' = x − η (∇²f(x) + αI)⁻¹ g(x)."""
    f = step_objective
    _, points = _cases(f)
    opt = Newton(lr, alpha)
    for x in points:
        H = f.hessian(x) + alpha * np.eye(f.dim)
        x_next, state = opt.step(f, x, opt.init(x))
        assert state.count == 1
        np.testing.assert_allclose(x_next, x - lr * np.linalg.solve(H, f.grad(x)),
                                   rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# (d) Hyperparameter validation.
# ---------------------------------------------------------------------------------------------

DEFAULTS = {
    "gd": (GradientDescent, {"lr": 0.1}),
    "momentum": (Momentum, {"lr": 0.1}),
    "nesterov": (Nesterov, {"lr": 0.1}),
    "adagrad": (AdaGrad, {"lr": 0.1}),
    "rmsprop": (RMSProp, {"lr": 0.1}),
    "adam": (Adam, {"lr": 0.1}),
    "newton": (Newton, {}),
}

BAD_LR = [0.0, -1e-3, -np.inf, np.nan, np.inf]
BAD_DECAY = [-0.1, -1e-12, 1.0, 1.5, np.inf, np.nan]
BAD_GUARD = [-1e-8, -np.inf, np.inf, np.nan]

BAD_CASES = (
    [(name, "lr", value) for name in DEFAULTS for value in BAD_LR]
    + [(name, "beta", value) for name in ("momentum", "nesterov") for value in BAD_DECAY]
    + [("rmsprop", "rho", value) for value in BAD_DECAY]
    + [("adam", param, value) for param in ("beta1", "beta2") for value in BAD_DECAY]
    + [(name, "eps", value) for name in ("adagrad", "rmsprop", "adam") for value in BAD_GUARD]
    + [("newton", "alpha", value) for value in BAD_GUARD]
    + [("momentum", "velocity0", value) for value in (np.nan, np.inf, -np.inf)]
)


@pytest.mark.parametrize(
    ("name", "param", "value"), BAD_CASES, ids=[f"{n}-{p}={v}" for n, p, v in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_it(name, param, value):
    """Every out-of-range hyperparameter raises ValueError that names it and the bad value."""
    cls, kwargs = DEFAULTS[name]
    with pytest.raises(ValueError, match=rf"^{param} must be .*got {value:g}$"):
        cls(**{**kwargs, param: value})


@pytest.mark.parametrize(
    ("name", "param", "values"),
    [
        ("gd", "lr", [0.1, 0.0, 0.2]),
        ("momentum", "beta", [[0.5], [1.0]]),
        ("adam", "beta2", [0.9, 0.99, 1.0]),
        ("adagrad", "eps", [1e-8, -1e-8]),
    ],
)
def test_bad_entry_in_a_sweep_raises(name, param, values):
    """One bad value inside an array of hyperparameters is enough to raise."""
    cls, kwargs = DEFAULTS[name]
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        cls(**{**kwargs, param: np.array(values)})


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("gd", "lr", 1e-300),
        ("momentum", "beta", 0.0),
        ("nesterov", "beta", 0.999999),
        ("rmsprop", "rho", 0.0),
        ("adam", "beta1", 0.0),
        ("adam", "beta2", 0.0),
        ("adam", "eps", 0.0),
        ("adagrad", "eps", 0.0),
        ("newton", "alpha", 0.0),
        ("momentum", "velocity0", -5.0),
    ],
)
def test_boundary_values_are_accepted(name, param, value):
    """The closed ends of the ranges (β = 0, ε = 0, α = 0) and tiny positive steps are valid."""
    cls, kwargs = DEFAULTS[name]
    opt = cls(**{**kwargs, param: value})
    assert np.all(np.asarray(getattr(opt, param)) == value)


def _concrete_subclasses(cls):
    for sub in cls.__subclasses__():
        if not getattr(sub, "__abstractmethods__", None):
            yield sub
        yield from _concrete_subclasses(sub)


#: Optimizer classes of the package that are deliberately not in the registry, each with why.
UNREGISTERED = {
    "Layerwise": "a composite that runs other (registered) rules on the blocks of a model's "
                 "parameter vector, given their shapes: no rule of its own to run by name on the "
                 "conformance problems; tests/test_layerwise.py checks it block by block",
}


def test_registry_holds_every_optimizer_of_the_package():
    defined = {cls for cls in _concrete_subclasses(Optimizer) if cls.__module__.startswith("lessons_src.")}
    unregistered = {cls for cls in defined if cls.__name__ in UNREGISTERED}
    assert {cls.__name__ for cls in unregistered} == set(UNREGISTERED), "a listed exception is gone"
    assert not unregistered & set(OPTIMIZERS.values()), "a listed exception is registered after all"
    assert defined - unregistered == set(OPTIMIZERS.values())
    assert all(cls.__module__.startswith("lessons_src.optim.") for cls in defined)
    for name, (cls, _) in DEFAULTS.items():
        assert OPTIMIZERS[name] is cls
        assert make_optimizer(name, **DEFAULTS[name][1]).__class__ is cls


def test_a_new_optimizer_registers_itself_and_a_clash_is_refused():
    class Halving(GradientDescent):
        name = "halving-test"

    try:
        assert OPTIMIZERS["halving-test"] is Halving
        assert isinstance(make_optimizer("halving-test", lr=0.1), Halving)
        with pytest.raises(TypeError, match="two optimizers are named 'gd'"):
            type("Clash", (GradientDescent,), {"name": "gd"})
    finally:
        del OPTIMIZERS["halving-test"]


@pytest.mark.parametrize("name", ["sgd-typo", "", "adamz", "grad descent", None, 3])
def test_make_optimizer_unknown_name_lists_known_names(name):
    with pytest.raises(ValueError, match="unknown optimizer") as info:
        make_optimizer(name, lr=0.1)
    for known in OPTIMIZERS:
        assert known in str(info.value)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_make_optimizer_builds_by_name(name):
    """Names are case-insensitive and hyperparameters are passed through."""
    opt = make_optimizer(name.upper(), lr=0.25)
    assert type(opt) is DEFAULTS[name][0]
    assert opt.lr.item() == 0.25


def test_make_optimizer_validates_hyperparameters():
    with pytest.raises(ValueError, match=r"^beta2 must be"):
        make_optimizer("adam", lr=0.1, beta2=1.0)


@pytest.mark.parametrize(
    "opt",
    [AdaGrad(0.1, eps=0.0), RMSProp(0.1, eps=0.0), Adam(0.1, eps=0.0)],
    ids=["adagrad", "rmsprop", "adam"],
)
def test_zero_eps_at_a_stationary_start_is_flagged_not_silent(opt):
    """ε = 0 is the textbook rule (PyTorch allows it too); at g = 0 its first update is 0/0.

    The run must not carry that NaN silently: it is flagged as diverged at step 1.
    """
    f = Quadratic1D(1.0, -2.0, 1.0)  # minimiser 1
    trajectory = run(f, opt, 1.0, 5)
    assert trajectory.diverged and trajectory.diverged_at == 1
    assert np.isnan(trajectory.points[1:]).all()


@pytest.mark.parametrize("opt", [AdaGrad(0.1), RMSProp(0.1), Adam(0.1)], ids=["adagrad", "rmsprop", "adam"])
def test_default_eps_keeps_a_stationary_start_in_place(opt):
    f = Quadratic1D(1.0, -2.0, 1.0)
    trajectory = run(f, opt, 1.0, 5)
    np.testing.assert_array_equal(trajectory.points[:, 0], np.ones(6))


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: GradientDescent("abc"), "lr"),
        (lambda: GradientDescent(True), "lr"),
        (lambda: Momentum(0.1, velocity0=[1.0, 2.0]), "velocity0"),
        (lambda: Momentum(0.1, velocity0=np.nan), "velocity0"),
    ],
    ids=["string-lr", "bool-lr", "vector-velocity0", "nan-velocity0"],
)
def test_malformed_hyperparameters_name_themselves(make, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        make()
