"""The conformance suite: every optimizer in the registry, checked the same way.

A new optimizer gets these checks by being registered (defining an ``Optimizer`` subclass with a
``name`` under ``lessons_src/optim/``):

* a sweep (an array-valued step size) equals its single runs, bit for bit;
* a bad hyperparameter raises an error that names the argument;
* the states that ``run(..., record=True)`` keeps equal those of stepping by hand;
* an independent reference holds: a closed form, a theorem, or an equivalence that needs no
  PyTorch (``tests/test_torch_agreement.py`` adds ``torch.optim`` where it is installed);
* gradients in: every first-order rule is a ``GradientOptimizer`` whose ``update(grad, x, state)``
  with the caller's gradient equals ``step``; states are values (no step changes one, no field
  aliases another); a gradient of the wrong shape is refused, and a NaN gradient flags the run;
* mathematics: every optimizer reaches the minimum of a well-conditioned convex quadratic
  (``CONVERGENCE``: its settings, steps and tolerance), and every adaptive method's first step
  equals its closed form (``FIRST_STEPS``), sharp enough to catch a wrong bias correction or a
  dropped ε (shown once, by breaking them on purpose).

A new optimizer must add here its reference check in ``REFERENCES``, its settings in
``CONVERGENCE`` and, if it is adaptive, its first step in ``FIRST_STEPS`` (and an example value in
``EXAMPLES`` if it has a constructor argument no other optimizer has); the tests fail, saying so,
until it does.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np
import pytest

from lessons_src import (
    OPTIMIZERS,
    GradientDescent,
    LeastSquares,
    Optimizer,
    QuadraticND,
    Rosenbrock,
    run,
)
from lessons_src.objectives import LinearLoss, make_line_data
from lessons_src.optim import (
    ClosureOptimizer,
    CurvatureOptimizer,
    GradientOptimizer,
    LineSearchOptimizer,
    Momentum,
    armijo_holds,
)
from lessons_src.schedules import exponential_decay
from lessons_src.theory import gd_multiplier, heavy_ball_matrix, nesterov_matrix

#: An example value for every constructor argument of the registered optimizers, by name.
EXAMPLES: dict[str, object] = {
    "lr": 0.01,
    "beta": 0.8,
    "beta1": 0.8,
    "beta2": 0.95,
    "rho": 0.9,
    "eps": 1e-8,
    "alpha": 0.5,
    "momentum": 0.8,
    "shrink": 0.5,
    "c": 1e-4,
    "velocity0": 0.0,
    "max_backtracks": 30,
    "batch_size": None,  # exact gradients: a sweep of mini-batch runs draws other batches
    "seed": 0,
    "sampling": "replace",
    "max_norm": 1.0,
    "weight_decay": 0.01,
    "momentum_decay": 4e-3,
    "lo": -5.0,
    "hi": 5.0,
}
#: The array of step sizes each sweep runs (three runs that step together).
SWEEP = np.array([0.002, 0.005, 0.01])
#: Flags: accepted as they are, not validated as numbers.
FLAGS = {"newton", "nesterov", "amsgrad", "bias_correction", "eps_inside", "decouple",
         "use_bias_correction", "safeguard_warmup"}


def _line() -> LeastSquares:
    x, y = make_line_data(40, seed=3)
    return LeastSquares.line_fit(x, y)


OBJECTIVES = {"least squares": _line(), "Rosenbrock": Rosenbrock()}
STARTS = {"least squares": np.array([0.5, -1.0]), "Rosenbrock": np.array([-1.2, 1.0])}


def _build(cls: type[Optimizer], lr: object) -> Optimizer:
    """``cls`` from the examples, with step size ``lr`` (for a wrapper: its inner optimizer's)."""
    kwargs = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if name == "inner":
            kwargs[name] = GradientDescent(lr=lr)
        elif name == "lr":
            kwargs[name] = lr
        elif name in EXAMPLES:
            kwargs[name] = EXAMPLES[name]
        elif parameter.default is inspect.Parameter.empty:
            pytest.fail(f"{cls.__name__}({name}=...) needs an example value in EXAMPLES")
    return cls(**kwargs)


NAMES = sorted(OPTIMIZERS)
#: Rules for matrix parameters only (shape (..., m, n)): they refuse the vectors the generic
#: checks run on, and get the same checks on a matrix problem instead (the end of this file).
MATRIX_ONLY = {"muon", "shampoo", "soap"}
NAMES = [n for n in NAMES if n not in MATRIX_ONLY]


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("name", NAMES)
def test_a_sweep_equals_its_single_runs_bit_for_bit(name, objective):
    cls, f, x0 = OPTIMIZERS[name], OBJECTIVES[objective], STARTS[objective]
    sweep = run(f, _build(cls, SWEEP), x0, 60)
    assert sweep.batch_shape == SWEEP.shape
    for i, lr in enumerate(SWEEP):
        single = run(f, _build(cls, float(lr)), x0, 60)
        np.testing.assert_array_equal(sweep.points[:, i], single.points)


def _bad_values(name: str, example: object) -> list[object]:
    if name == "inner":
        return [3.0]
    if isinstance(example, str):
        return ["no-such-choice"]
    if isinstance(example, int) and not isinstance(example, bool):
        return [-1, 2.5]
    # max_norm = inf means "no clipping": a legal value
    return [float("nan"), "0.1", -1.0 if name == "max_norm" else float("inf")]


def _arguments(cls: type[Optimizer]) -> list[str]:
    return [n for n in inspect.signature(cls.__init__).parameters if n not in {"self", *FLAGS}]


@pytest.mark.parametrize(
    ("name", "argument"),
    [(n, a) for n in NAMES for a in _arguments(OPTIMIZERS[n]) if a != "batch_size"]
    + [("sgd", "batch_size")],
)
def test_a_bad_hyperparameter_is_refused_with_its_name(name, argument):
    cls = OPTIMIZERS[name]
    good = _build(cls, 0.01)
    example = getattr(good, argument, EXAMPLES.get(argument, 0.01))
    if argument == "batch_size":
        example = 4
    if isinstance(example, np.ndarray):
        example = float(example.ravel()[0])
    for bad in _bad_values(argument, example):
        kwargs = {p: getattr(good, p) for p in _arguments(cls) if p not in {argument}}
        kwargs = {k: (float(v.ravel()[0]) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        with pytest.raises((ValueError, TypeError)) as info:
            cls(**kwargs, **{argument: bad})
        assert argument in str(info.value), f"{cls.__name__}({argument}={bad!r}): {info.value}"


@pytest.mark.parametrize("name", NAMES)
def test_recorded_states_equal_stepping_by_hand(name):
    cls, f, x0 = OPTIMIZERS[name], OBJECTIVES["least squares"], STARTS["least squares"]
    optimizer = _build(cls, SWEEP)
    trajectory = run(f, optimizer, x0, 25, record=True)
    x = np.broadcast_to(x0, (*SWEEP.shape, 2)).copy()
    state = optimizer.init(x)
    assert set(trajectory.states) <= set(state._fields)
    assert "count" in trajectory.states, "every state counts its steps (schedules read it)"
    for k in range(26):
        for field, recorded in trajectory.states.items():
            np.testing.assert_array_equal(recorded[k], np.asarray(getattr(state, field)),
                                          err_msg=f"{field} after {k} steps")
        x, state = optimizer.step(f, x, state)
    np.testing.assert_array_equal(trajectory.states["count"], np.arange(26))


# --- independent references ------------------------------------------------------------------

BOWL = QuadraticND.from_eigenvalues([0.5, 4.0], angle=0.4)
E0 = np.array([2.0, -1.0])


def _eigen_errors(trajectory_points: np.ndarray) -> np.ndarray:
    """The error along each eigenvector of BOWL (steps, 2)."""
    _, Q = np.linalg.eigh(BOWL.A)
    return trajectory_points @ Q


def _gd_reference() -> None:
    lr = 0.3
    points = run(BOWL, GradientDescent(lr), E0, 30).points
    lam, Q = np.linalg.eigh(BOWL.A)
    predicted = (Q.T @ E0) * gd_multiplier(lr, lam) ** np.arange(31)[:, None]
    np.testing.assert_allclose(_eigen_errors(points), predicted, rtol=1e-10, atol=1e-13)


def _two_by_two_reference(cls: type[Optimizer], matrix: Callable) -> None:
    lr, beta = 0.2, 0.7
    points = run(BOWL, cls(lr, beta), E0, 30).points
    lam, Q = np.linalg.eigh(BOWL.A)
    e0 = Q.T @ E0
    for i, curvature in enumerate(lam):
        M = matrix(lr, beta, curvature)
        state = np.array([e0[i], 0.0])
        for k in range(31):
            assert math.isclose(_eigen_errors(points)[k, i], state[0], rel_tol=1e-9, abs_tol=1e-12)
            state = M @ state


def _sgd_reference() -> None:
    # Batches of all N examples in shuffled order: the exact gradient, up to summation order.
    f = OBJECTIVES["least squares"]
    full = run(f, OPTIMIZERS["sgd"](0.05, batch_size=f.n_examples, sampling="shuffle"),
               STARTS["least squares"], 50)
    exact = run(f, GradientDescent(0.05), STARTS["least squares"], 50)
    np.testing.assert_allclose(full.points, exact.points, rtol=1e-12, atol=1e-12)


def _coordinate_reference() -> None:
    # Exact minimisation along each axis of a diagonal quadratic: one sweep reaches x*.
    diagonal = QuadraticND(np.diag([1.0, 3.0, 7.0]), [1.0, 2.0, 3.0])
    end = run(diagonal, OPTIMIZERS["coordinate"](), np.zeros(3), 3).final
    np.testing.assert_allclose(end, diagonal.minimizer, rtol=1e-14)


def _torch_momentum_reference() -> None:
    # At a constant step, b = -v/η turns PyTorch's form into the heavy ball.
    ours = run(BOWL, Momentum(0.1, 0.8), E0, 60).points
    torch_form = run(BOWL, OPTIMIZERS["torch-momentum"](0.1, 0.8), E0, 60).points
    np.testing.assert_allclose(ours, torch_form, rtol=1e-10, atol=1e-12)


def _adagrad_reference() -> None:
    # A constant gradient c: s_k = k c², so x_k = -η Σ_{j≤k} 1/√j (ε = 0).
    points = run(LinearLoss(2.0), OPTIMIZERS["adagrad"](0.1, eps=0.0), 0.0, 40).points[:, 0]
    np.testing.assert_allclose(points[1:], -0.1 * np.cumsum(1 / np.sqrt(np.arange(1, 41))),
                               rtol=1e-12)


def _rmsprop_reference() -> None:
    # A constant gradient c: s_k = (1 - ρ^k) c², so step k is η / √(1 - ρ^k) (ε = 0).
    rho = 0.9
    points = run(LinearLoss(2.0), OPTIMIZERS["rmsprop"](0.1, rho=rho, eps=0.0), 0.0, 40).points
    k = np.arange(1, 41)
    np.testing.assert_allclose(np.diff(points[:, 0]), -0.1 / np.sqrt(1 - rho**k), rtol=1e-12)


def _adam_reference() -> None:
    # Bias-corrected Adam under a constant gradient moves exactly η per step (ε = 0).
    points = run(LinearLoss(3.0), OPTIMIZERS["adam"](0.1, eps=0.0), 0.0, 40).points[:, 0]
    np.testing.assert_allclose(np.diff(points), -0.1, rtol=1e-12)


def _write_back_reference() -> None:
    # The loop as published (scalar, in its own form), against the package's class.
    b1, b2, lr, g = 0.9, 0.999, 0.1, 2.0
    s = r = 0.0
    x, xs = 0.0, []
    for t in range(1, 30):
        s = (b1 * s + (1 - b1) * g) / (1 - b1**t)
        r = (b2 * r + (1 - b2) * g * g) / (1 - b2**t)
        x = x - lr / (1e-8 + math.sqrt(r)) * s
        xs.append(x)
    ours = run(LinearLoss(g), OPTIMIZERS["write-back-adam"](lr, b1, b2), 0.0, 29).points[1:, 0]
    np.testing.assert_allclose(ours, xs, rtol=1e-12)


def _newton_reference() -> None:
    end = run(BOWL, OPTIMIZERS["newton"](), E0, 1).final
    np.testing.assert_allclose(end, np.linalg.solve(BOWL.A, BOWL.b), atol=1e-14)


def _armijo_reference() -> None:
    # Each accepted step satisfies Armijo's condition; the step twice as long did not (or was η₀).
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    trajectory = run(f, OPTIMIZERS["armijo"](lr=1.0, shrink=0.5, c=1e-4), x0, 30, record=("lr",))
    accepted = trajectory.states["lr"][1:, 0]
    points = trajectory.points[:-1]
    assert np.all(armijo_holds(f, points, accepted, 1e-4))
    shrunk = accepted < 1.0
    assert not np.any(armijo_holds(f, points[shrunk], 2 * accepted[shrunk], 1e-4))


def _clip_reference() -> None:
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    off = run(f, OPTIMIZERS["clip"](GradientDescent(1e-3), np.inf), x0, 50).points
    np.testing.assert_array_equal(off, run(f, GradientDescent(1e-3), x0, 50).points)
    clipped = run(f, OPTIMIZERS["clip"](GradientDescent(0.01), 2.0), x0, 50).points
    assert np.all(np.linalg.norm(np.diff(clipped, axis=0), axis=-1) <= 0.01 * 2.0 * (1 + 1e-12))


def _projected_reference() -> None:
    f, x0 = OBJECTIVES["least squares"], STARTS["least squares"]
    wide = run(f, OPTIMIZERS["projected"](GradientDescent(0.1), -100, 100), x0, 50).points
    np.testing.assert_array_equal(wide, run(f, GradientDescent(0.1), x0, 50).points)
    narrow = run(f, OPTIMIZERS["projected"](GradientDescent(0.1), -0.2, 0.2), x0, 50).points
    assert np.all(np.abs(narrow[1:]) <= 0.2)


def _adamw_reference() -> None:
    # A flat loss (g = 0): only the decoupled decay moves x, by (1 - ηλ) per step.
    x = run(LinearLoss(0.0), OPTIMIZERS["adamw"](0.1, weight_decay=0.5), 3.0, 30).points[:, 0]
    np.testing.assert_allclose(x, 3.0 * (1 - 0.1 * 0.5) ** np.arange(31), rtol=1e-13)
    # without decay it is Adam, bit for bit
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    np.testing.assert_array_equal(run(f, OPTIMIZERS["adamw"](0.01, weight_decay=0.0), x0, 50).points,
                                  run(f, OPTIMIZERS["adam"](0.01), x0, 50).points)


def _nadam_reference() -> None:
    # A constant gradient c: m_t = (1 - β1^t) c and v_t/(1 - β2^t) = c², so with the products
    # P_t = μ_1 ⋯ μ_t of the warming momentum, step t is
    # -η [μ_{t+1}(1 - β1^t)/(1 - P_{t+1}) + (1 - μ_t)/(1 - P_t)] sign(c)   (ε = 0).
    b1, psi, lr, steps = 0.9, 4e-3, 0.01, 40
    t = np.arange(1, steps + 2)
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
    products = np.cumprod(mu)
    k = np.arange(steps)
    predicted = -lr * (mu[k + 1] * (1 - b1 ** (k + 1)) / (1 - products[k + 1])
                       + (1 - mu[k]) / (1 - products[k]))
    x = run(LinearLoss(2.0), OPTIMIZERS["nadam"](lr, eps=0.0), 0.0, steps).points[:, 0]
    np.testing.assert_allclose(np.diff(x), predicted, rtol=1e-12)


def _adamax_reference() -> None:
    # A constant gradient c > 0 and ε = 0: u_t = c and m_t = (1 - β1^t) c, so every step is -η.
    x = run(LinearLoss(3.0), OPTIMIZERS["adamax"](0.05, eps=0.0), 0.0, 40).points[:, 0]
    np.testing.assert_allclose(np.diff(x), -0.05, rtol=1e-12)


def _adadelta_reference() -> None:
    # Zeiler (2012), Algorithm 1, as published (scalar), against the package's class.
    rho, eps, lr = 0.9, 1e-6, 1.0
    f, x = Rosenbrock(), STARTS["Rosenbrock"].copy()
    eg2 = np.zeros(2)
    edx2 = np.zeros(2)
    expected = [x.copy()]
    for _ in range(60):
        g = f.grad(x)
        eg2 = [rho * a + (1 - rho) * b * b for a, b in zip(eg2, g, strict=True)]
        dx = [-math.sqrt(d + eps) / math.sqrt(a + eps) * b for d, a, b in zip(edx2, eg2, g, strict=True)]
        edx2 = [rho * d + (1 - rho) * u * u for d, u in zip(edx2, dx, strict=True)]
        x = x + lr * np.array(dx)
        expected.append(x.copy())
    ours = run(f, OPTIMIZERS["adadelta"](lr, rho, eps), STARTS["Rosenbrock"], 60).points
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def _radam_reference() -> None:
    # A constant gradient c > 0 and ε = 0: m̂_t = c and √(1 - β2^t)/√v_t = 1/c, so the step is
    # -η c while the variance is undefined (ρ_t ≤ 5) and -η r_t afterwards.
    b2, lr, steps = 0.999, 0.01, 40
    t = np.arange(1, steps + 1)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    r_t = np.sqrt(np.abs((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)))
    c = 3.0
    predicted = np.where(rho_t > 5, -lr * r_t, -lr * c)
    x = run(LinearLoss(c), OPTIMIZERS["radam"](lr, beta2=b2, eps=0.0), 0.0, steps).points[:, 0]
    assert (rho_t <= 5).sum() == 5 and (rho_t > 5).any()       # both regimes are exercised
    np.testing.assert_allclose(np.diff(x), predicted, rtol=1e-12)


def _decoupled_gd_reference() -> None:
    # On a quadratic, decoupled decay is L2: gradient descent on A + λI, eigenvalue by eigenvalue.
    lr, decay = 0.3, 0.5
    points = run(BOWL, OPTIMIZERS["decoupled-gd"](lr, weight_decay=decay), E0, 30).points
    lam, Q = np.linalg.eigh(BOWL.A)
    predicted = (Q.T @ E0) * gd_multiplier(lr, lam + decay) ** np.arange(31)[:, None]
    np.testing.assert_allclose(_eigen_errors(points), predicted, rtol=1e-10, atol=1e-13)


def _lion_reference() -> None:
    # Chen et al. (2023), Program 1 (the update rule as published), scalar by scalar.
    b1, b2, lr, wd = 0.9, 0.99, 1e-3, 0.1
    f, x = Rosenbrock(), list(STARTS["Rosenbrock"])
    m = [0.0, 0.0]
    expected = [list(x)]
    for _ in range(60):
        g = list(f.grad(np.array(x)))
        update = [math.copysign(1.0, b1 * mi + (1 - b1) * gi) if b1 * mi + (1 - b1) * gi else 0.0
                  for mi, gi in zip(m, g, strict=True)]
        x = [xi - lr * (u + wd * xi) for xi, u in zip(x, update, strict=True)]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, g, strict=True)]
        expected.append(list(x))
    ours = run(f, OPTIMIZERS["lion"](lr, b1, b2, wd), STARTS["Rosenbrock"], 60).points
    np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-15)


def _rprop_reference() -> None:
    # A constant gradient c > 0: the sign never flips, so step k is s_k = min(η 1.2^{k-1}, 50).
    x = run(LinearLoss(2.0), OPTIMIZERS["rprop"](1.0), 0.0, 40).points[:, 0]
    k = np.arange(1, 41)
    np.testing.assert_allclose(np.diff(x), -np.minimum(1.2 ** (k - 1), 50.0), rtol=1e-12)
    # a flip (a linear loss whose slope changes sign) shrinks the step and rests one step
    rprop = OPTIMIZERS["rprop"](0.5)
    x, state = np.array([0.0]), rprop.init(np.array([0.0]))
    x, state = rprop.update(np.array([1.0]), x, state)          # -0.5
    x, state = rprop.update(np.array([-1.0]), x, state)         # flip: s = 0.25, no move
    np.testing.assert_array_equal(x, [-0.5])
    x, state = rprop.update(np.array([-1.0]), x, state)         # prev = 0: s stays 0.25
    np.testing.assert_array_equal(x, [-0.25])


def _asgd_reference() -> None:
    # Polyak-Juditsky averaging: from step t0 + 2 on, the average is the mean of the iterates since.
    t0, steps = 10, 40
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    asgd = OPTIMIZERS["asgd"](1e-3, lambd=0.1, alpha=0.75, t0=t0)
    trajectory = run(f, asgd, x0, steps, record=("average",))
    average, points = trajectory.states["average"], trajectory.points
    np.testing.assert_array_equal(average[1:t0 + 3], points[1:t0 + 3])
    for t in range(t0 + 2, steps + 1):
        np.testing.assert_allclose(average[t], points[t0 + 2:t + 1].mean(axis=0), rtol=1e-12)
    # the step η_t = η/(1 + λη(t-1))^α with the shrinkage (1 - λη_t): gradient descent by hand
    x = x0.copy()
    for t in range(1, steps + 1):
        eta = 1e-3 / (1 + 0.1 * 1e-3 * (t - 1)) ** 0.75
        x = (1 - 0.1 * eta) * x - eta * f.grad(x)
        np.testing.assert_allclose(points[t], x, rtol=1e-13)


def _decoupled_reference(name: str, plain: str) -> None:
    # A flat loss (g = 0): only the decoupled decay moves x, by (1 - ηλ) per step.
    x = run(LinearLoss(0.0), OPTIMIZERS[name](0.1, weight_decay=0.5), 3.0, 30).points[:, 0]
    np.testing.assert_allclose(x, 3.0 * (1 - 0.1 * 0.5) ** np.arange(31), rtol=1e-13)
    # without decay it is the plain rule, bit for bit
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    np.testing.assert_array_equal(run(f, OPTIMIZERS[name](0.01, weight_decay=0.0), x0, 50).points,
                                  run(f, OPTIMIZERS[plain](0.01), x0, 50).points)


def _adafactor_reference() -> None:
    # A constant rank-one gradient G = u vᵀ: the factored estimate R C / mean(R) is exactly G∘G
    # (Shazeer and Stern, 2018, §3), so U = sign(G), RMS(U) = 1, and the step is the paper's
    # relative step, X_t = X_{t-1} - max(ε₂, RMS(X_{t-1})) min(η, 1/√t) sign(G).
    G = np.outer([1.0, -2.0, 0.5], [3.0, 1.0])
    adafactor = OPTIMIZERS["adafactor"](lr=0.05, matrix=True)
    x = X = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 0.3]])
    state = adafactor.init(x)
    for t in range(1, 41):
        x, state = adafactor.update(G, x, state)
        X = X - max(1e-3, np.sqrt(np.mean(X**2))) * min(0.05, 1 / math.sqrt(t)) * np.sign(G)
        np.testing.assert_allclose(x, X, rtol=1e-12, atol=1e-15)
    assert state.row_var.shape == (3, 1) and state.col_var.shape == (1, 2)


def _muon_reference() -> None:
    # Newton–Schulz acts on each singular value alone: σ ↦ p(σ) = aσ + bσ³ + cσ⁵, five times,
    # from σ/‖G‖_F. With μ = 0 and no decay, Muon's first step on G = U diag(σ) Vᵀ is therefore
    # -η s(m, n) U diag(p⁵(σ/‖G‖_F)) Vᵀ (s = √(m/n) for a tall matrix, Jordan's shape factor).
    def p5(sigma):
        for _ in range(5):
            sigma = 3.4445 * sigma - 4.7750 * sigma**3 + 2.0315 * sigma**5
        return sigma

    muon = OPTIMIZERS["muon"](lr=0.1, weight_decay=0.0, momentum=0.0, nesterov=False)
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    v = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    sigma = np.array([3.0, 1.0, 0.5])
    g = u @ np.diag(sigma) @ v.T
    x = np.zeros((5, 3))
    step = muon.update(g, x, muon.init(x))[0]
    expected = -0.1 * math.sqrt(5 / 3) * u @ np.diag(p5(sigma / np.linalg.norm(sigma))) @ v.T
    np.testing.assert_allclose(step, expected, rtol=1e-12, atol=1e-14)
    # the singular values land in Jordan's band around 1, not at 1: an approximate orthogonalisation
    assert np.all((p5(sigma / np.linalg.norm(sigma)) > 0.68) & (p5(sigma / np.linalg.norm(sigma)) < 1.2))


def _orthogonal_gradient_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 5 × 3 gradient G = U diag(σ) Vᵀ with distinct singular values, and U, σ, V."""
    rng = np.random.default_rng(3)
    u = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    v = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    sigma = np.array([3.0, 1.0, 0.5])
    return u @ np.diag(sigma) @ v.T, u, sigma, v


def _shampoo_reference() -> None:
    # L_1 = εI + G Gᵀ, R_1 = εI + GᵀG: for G = U diag(σ) Vᵀ the first step is
    # -η U diag(σ / (σ² + ε)^{1/2}) Vᵀ, the orthogonalised gradient -η U Vᵀ as ε → 0 (Gupta et al.,
    # 2018; Bernstein and Newhouse, 2024), ...
    g, u, sigma, v = _orthogonal_gradient_case()
    eps = 1e-3
    shampoo = OPTIMIZERS["shampoo"](lr=0.1, eps=eps)
    x = np.zeros((5, 3))
    state = shampoo.init(x)
    x, state = shampoo.update(g, x, state)
    np.testing.assert_allclose(x, -0.1 * u @ np.diag(sigma / np.sqrt(sigma**2 + eps)) @ v.T,
                               rtol=1e-12, atol=1e-14)
    # ... and a constant gradient t times gives L_t = εI + t G Gᵀ: the step shrinks like 1/√t, AdaGrad's
    for t in range(2, 6):
        x_before = x
        x, state = shampoo.update(g, x, state)
        expected = -0.1 * u @ np.diag(sigma / np.sqrt(t * sigma**2 + eps)) @ v.T
        np.testing.assert_allclose(x - x_before, expected, rtol=1e-11, atol=1e-14)


def _soap_reference() -> None:
    # The first call measures L_1 = (1-β)G Gᵀ, R_1 = (1-β)GᵀG and their eigenbases U, V; the second,
    # with the same G, is Adam's first step on the rotated gradient diag(σ):
    # -η U diag(σ / (σ + ε/√(1-β₂))) Vᵀ, then the decoupled decay (Vyas et al., 2024).
    g, u, sigma, v = _orthogonal_gradient_case()
    lr, beta2, eps, decay = 0.1, 0.95, 1e-3, 0.01
    soap = OPTIMIZERS["soap"](lr=lr, beta1=0.9, beta2=beta2, eps=eps, weight_decay=decay)
    x0 = np.ones((5, 3))
    state = soap.init(x0)
    x, state = soap.update(g, x0, state)
    np.testing.assert_array_equal(x, x0)
    x, state = soap.update(g, x, state)
    expected = (x0 - lr * u @ np.diag(sigma / (sigma + eps / np.sqrt(1 - beta2))) @ v.T) * (1 - lr * decay)
    np.testing.assert_allclose(x, expected, rtol=1e-12, atol=1e-13)


def _lbfgs_reference() -> None:
    # With one (s, y) pair the two-loop recursion is the BFGS update of H⁰ = (yᵀs / yᵀy) I
    # (Nocedal and Wright, eq. 6.17): H = (I - ρ s yᵀ) H⁰ (I - ρ y sᵀ) + ρ s sᵀ, ρ = 1/yᵀs.
    # Two iterations of one update, from E0 on BOWL, by hand:
    lr = 0.5
    lbfgs = OPTIMIZERS["lbfgs"](lr=lr, max_iter=2, max_eval=10, history_size=1,
                                tolerance_change=0.0)
    x1 = E0 - min(1.0, 1.0 / np.abs(BOWL.grad(E0)).sum()) * lr * BOWL.grad(E0)
    s, y = x1 - E0, BOWL.grad(x1) - BOWL.grad(E0)
    rho = 1 / (y @ s)
    H = (np.eye(2) - rho * np.outer(s, y)) * (y @ s) / (y @ y) @ (np.eye(2) - rho * np.outer(y, s))
    H = H + rho * np.outer(s, s)
    x2 = x1 - lr * H @ BOWL.grad(x1)
    np.testing.assert_allclose(run(BOWL, lbfgs, E0, 1).final, x2, rtol=1e-12)
    # with the strong-Wolfe search, one update (eight iterations here) all but solves a quadratic
    wolfe = OPTIMIZERS["lbfgs"](line_search_fn="strong_wolfe", tolerance_change=1e-15,
                                tolerance_grad=1e-12)
    np.testing.assert_allclose(run(BOWL, wolfe, E0, 1).final, [0.0, 0.0], atol=1e-8)


def _schedule_free_by_hand(adam: bool, steps: int, lr: float, beta: float, warmup: int,
                           decay: float, beta2: float = 0.999, eps: float = 1e-8) -> list[list[float]]:
    """Defazio et al. (2024), Algorithm 1 (and its AdamW form), in plain Python on Rosenbrock: the
    averages x_t, with c_{t+1} = γ_t² / Σ_{i≤t} γ_i² (r = 0, weight_lr_power = 2)."""
    f = Rosenbrock()
    x, z = list(STARTS["Rosenbrock"]), list(STARTS["Rosenbrock"])
    v, squares, points = [0.0, 0.0], 0.0, [list(x)]
    for t in range(steps):
        gamma = lr * min(1.0, (t + 1) / warmup) if warmup else lr
        squares += gamma**2  # γ_t grows through the warmup, so max_{i≤t} γ_i = γ_t
        c = gamma**2 / squares
        y = [(1 - beta) * zi + beta * xi for zi, xi in zip(z, x, strict=True)]
        g = list(f.grad(np.array(y)))
        if adam:
            v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g, strict=True)]
            scale = [1 / (math.sqrt(vi / (1 - beta2 ** (t + 1))) + eps) for vi in v]
            z = [zi - gamma * decay * yi - gamma * gi * si
                 for zi, yi, gi, si in zip(z, y, g, scale, strict=True)]
        else:
            z = [zi - gamma * (gi + decay * yi) for zi, yi, gi in zip(z, y, g, strict=True)]
        x = [(1 - c) * xi + c * zi for xi, zi in zip(x, z, strict=True)]
        points.append(list(x))
    return points


def _schedule_free_sgd_reference() -> None:
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    sgd = OPTIMIZERS["schedule-free-sgd"](1e-3, 0.9, warmup_steps=20, weight_decay=0.01)
    np.testing.assert_allclose(run(f, sgd, x0, 80).points,
                               _schedule_free_by_hand(False, 80, 1e-3, 0.9, 20, 0.01), rtol=1e-12)
    # β = 0 without warmup: z_t is plain gradient descent and x_t the mean of z_1..z_t
    # (Polyak–Ruppert averaging, the weights c_t = 1/t)
    averaged = run(f, OPTIMIZERS["schedule-free-sgd"](1e-3, 0.0), x0, 60).points
    gd = run(f, GradientDescent(1e-3), x0, 60).points
    means = np.cumsum(gd[1:], axis=0) / np.arange(1, 61)[:, None]
    np.testing.assert_allclose(averaged[1:], means, rtol=1e-12)
    # β = 1: the gradient is taken at x itself, x_{t+1} = x_t - γ c_{t+1} ∇f(x_t) (primal averaging)
    primal = OPTIMIZERS["schedule-free-sgd"](1e-3, 1.0)
    trajectory = run(f, primal, x0, 40).points
    x = x0.copy()
    z = x0.copy()
    for t in range(40):
        z = z - 1e-3 * f.grad(x)
        x = x + (z - x) / (t + 1)
        np.testing.assert_allclose(trajectory[t + 1], x, rtol=1e-12)


def _schedule_free_adamw_reference() -> None:
    f, x0 = Rosenbrock(), STARTS["Rosenbrock"]
    adamw = OPTIMIZERS["schedule-free-adamw"](0.01, 0.9, 0.99, warmup_steps=15, weight_decay=0.05)
    np.testing.assert_allclose(run(f, adamw, x0, 80).points,
                               _schedule_free_by_hand(True, 80, 0.01, 0.9, 15, 0.05, beta2=0.99),
                               rtol=1e-12)


def _prodigy_reference() -> None:
    # Mishchenko and Defazio (2024), Algorithm 4 with the reference's β₃ = √β₂, written out in
    # plain Python on Rosenbrock; then D-adaptation's bound: on a convex quadratic with exact
    # gradients d_t never exceeds the distance ‖x_0 − x*‖∞ (any β₃; here next to 1).
    f, x0, lr, b1, b2, d0, eps = Rosenbrock(), STARTS["Rosenbrock"], 0.1, 0.9, 0.99, 1e-4, 1e-8
    b3 = math.sqrt(b2)
    x, m, v, s = list(x0), [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    r, d, points, ds = 0.0, d0, [list(x0)], []
    for _ in range(80):
        g = list(f.grad(np.array(x)))
        r = b3 * r + (d / d0) * d * lr * sum(gi * (ai - xi) for gi, ai, xi in zip(g, x0, x, strict=True))
        m = [b1 * mi + (1 - b1) * d * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * d * d * gi * gi for vi, gi in zip(v, g, strict=True)]
        s = [b3 * si + (d / d0) * d * lr * gi for si, gi in zip(s, g, strict=True)]
        d_next = max(d, r / sum(abs(si) for si in s))
        x = [xi - d * lr * mi / (math.sqrt(vi) + d_next * eps) for xi, mi, vi in zip(x, m, v, strict=True)]
        d = d_next
        points.append(list(x))
        ds.append(d)
    trajectory = run(f, OPTIMIZERS["prodigy"](lr, b1, b2, d0=d0), x0, 80, record=("d",))
    np.testing.assert_allclose(trajectory.points, points, rtol=1e-10)
    np.testing.assert_allclose(trajectory.states["d"][1:, 0], ds, rtol=1e-10)
    bowl_start = np.array([3.0, -2.0])
    bounded = run(BOWL, OPTIMIZERS["prodigy"](beta3=1 - 1e-12), bowl_start, 1000, record=("d",))
    d_path = bounded.states["d"][:, 0]
    assert np.all(np.diff(d_path) >= 0)  # the estimate never shrinks
    assert d_path[-1] <= np.max(np.abs(bowl_start)) and d_path[-1] > 0.1 * np.max(np.abs(bowl_start))


REFERENCES: dict[str, Callable[[], None]] = {
    "schedule-free-sgd": _schedule_free_sgd_reference,
    "schedule-free-adamw": _schedule_free_adamw_reference,
    "prodigy": _prodigy_reference,
    "lbfgs": _lbfgs_reference,
    "muon": _muon_reference,
    "shampoo": _shampoo_reference,
    "soap": _soap_reference,
    "adafactor": _adafactor_reference,
    "nadamw": lambda: _decoupled_reference("nadamw", "nadam"),
    "radamw": lambda: _decoupled_reference("radamw", "radam"),
    "asgd": _asgd_reference,
    "rprop": _rprop_reference,
    "adamw": _adamw_reference,
    "nadam": _nadam_reference,
    "adamax": _adamax_reference,
    "adadelta": _adadelta_reference,
    "radam": _radam_reference,
    "lion": _lion_reference,
    "gd": _gd_reference,
    "decoupled-gd": _decoupled_gd_reference,
    "sgd": _sgd_reference,
    "coordinate": _coordinate_reference,
    "momentum": lambda: _two_by_two_reference(OPTIMIZERS["momentum"], heavy_ball_matrix),
    "nesterov": lambda: _two_by_two_reference(OPTIMIZERS["nesterov"], nesterov_matrix),
    "torch-momentum": _torch_momentum_reference,
    "adagrad": _adagrad_reference,
    "rmsprop": _rmsprop_reference,
    "adam": _adam_reference,
    "write-back-adam": _write_back_reference,
    "newton": _newton_reference,
    "armijo": _armijo_reference,
    "clip": _clip_reference,
    "projected": _projected_reference,
}


def test_every_registered_optimizer_has_a_reference_check():
    missing = sorted(set(OPTIMIZERS) - set(REFERENCES))
    assert not missing, f"add a reference check for {missing} to REFERENCES in {__file__}"


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_independent_reference(name):
    assert name in OPTIMIZERS, f"{name} is not registered"
    REFERENCES[name]()


# --- gradients in, pure states ------------------------------------------------------------------

#: The rules that need more than a gradient, and the type that says so.
NOT_FIRST_ORDER = {"newton": CurvatureOptimizer, "coordinate": CurvatureOptimizer,
                   "armijo": LineSearchOptimizer,
                   "lbfgs": ClosureOptimizer}


@pytest.mark.parametrize("name", NAMES)
def test_every_rule_says_what_it_takes(name):
    expected = NOT_FIRST_ORDER.get(name, GradientOptimizer)
    assert issubclass(OPTIMIZERS[name], expected), f"{name} should be a {expected.__name__}"


def _snapshot(state: tuple) -> list:
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in state]


def _assert_same_state(a: tuple, b: list) -> None:
    for x, y in zip(a, b, strict=True):
        if isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NOT_FIRST_ORDER])
def test_update_with_the_callers_gradient_is_step_and_changes_no_state(name):
    f, x0 = OBJECTIVES["least squares"], STARTS["least squares"]
    optimizer = _build(OPTIMIZERS[name], SWEEP)
    x = np.broadcast_to(x0, (*SWEEP.shape, 2)).copy()
    state = optimizer.init(x)
    for _ in range(20):
        before = _snapshot(state)
        by_step, after_step = optimizer.step(f, x, state)
        _assert_same_state(state, before)                    # step left its input alone
        grad, asked = optimizer.gradient(f, x, state)        # what the caller computes
        np.testing.assert_array_equal(grad, f.grad(optimizer.grad_point(x, state)))
        by_update, after_update = optimizer.update(grad, x, asked)
        _assert_same_state(state, before)
        np.testing.assert_array_equal(by_update, by_step)
        _assert_same_state(after_update, _snapshot(after_step))
        x, state = by_update, after_update


@pytest.mark.parametrize("name", NAMES)
def test_no_state_field_aliases_another(name):
    optimizer = _build(OPTIMIZERS[name], 0.01)
    f, x = OBJECTIVES["least squares"], STARTS["least squares"].copy()
    state = optimizer.init(x)
    for _ in range(3):
        assert isinstance(state, tuple) and hasattr(state, "_fields"), "a state is a NamedTuple"
        arrays = [(k, v) for k, v in zip(state._fields, state, strict=True)
                  if isinstance(v, np.ndarray)]
        for i, (a, u) in enumerate(arrays):
            for b, w in arrays[i + 1:]:
                assert not np.shares_memory(u, w), f"{name}: state fields {a} and {b} share memory"
        x, state = optimizer.step(f, x, state)


def test_minibatch_sgd_keeps_its_randomness_as_a_key():
    """The sampler's state is a value: the same state gives the same batch, every time."""
    f, x0 = OBJECTIVES["least squares"], STARTS["least squares"]
    for sampling in ("replace", "shuffle"):
        sgd = OPTIMIZERS["sgd"](0.05, batch_size=4, sampling=sampling, seed=7)
        state = sgd.init(x0)
        x, state = sgd.step(f, x0, state)
        first = sgd.step(f, x, state)
        again = sgd.step(f, x, state)                       # the same state again
        np.testing.assert_array_equal(first[0], again[0])
        assert not any(isinstance(v, np.random.Generator) for v in state)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NOT_FIRST_ORDER])
def test_a_gradient_of_the_wrong_shape_is_refused(name):
    optimizer = _build(OPTIMIZERS[name], 0.01)
    x = STARTS["least squares"].copy()
    state = optimizer.init(x)
    for bad in (np.zeros(3), np.zeros((2, 3)), np.float64(1.0)):
        with pytest.raises(ValueError, match=r"grad must have the shape of x, \(2,\)"):
            optimizer.update(bad, x, state)


def test_the_others_refuse_a_gradient_of_the_wrong_shape_too():
    x = STARTS["least squares"].copy()
    newton = OPTIMIZERS["newton"]()
    with pytest.raises(ValueError, match="grad must have the shape of x"):
        newton.update(np.zeros(3), np.eye(2), x, newton.init(x))
    armijo = OPTIMIZERS["armijo"]()
    with pytest.raises(ValueError, match="grad must have the shape of x"):
        armijo.update(np.zeros(3), x, armijo.init(x), OBJECTIVES["least squares"].value)


class _NaNGradient(QuadraticND):
    """A bowl whose gradient turns NaN after a few calls (a bug upstream, a poisoned batch)."""

    def __init__(self) -> None:
        super().__init__(np.diag([1.0, 2.0]))
        self.calls = 0

    def grad(self, x):
        self.calls += 1
        g = super().grad(x)
        return g * np.nan if self.calls > 3 else g


@pytest.mark.parametrize("name", NAMES)
def test_a_nan_gradient_flags_the_run_as_diverged(name):
    trajectory = run(_NaNGradient(), _build(OPTIMIZERS[name], 0.01), np.array([1.0, 1.0]), 20)
    assert trajectory.diverged.all() and (trajectory.diverged_at > 0).all()


# --- mathematics: every optimizer minimises a well-conditioned convex quadratic ---------------

#: Noise-free line data: the least-squares loss is a convex quadratic with Hessian eigenvalues
#: 0.35 and 1.0 (condition number 2.9) whose minimum (w, b) = (2, -1) fits every example, so
#: mini-batch SGD reaches it too.
_X, _Y = make_line_data(64, slope=2.0, intercept=-1.0, noise=0.0, low=-1.0, high=1.0, seed=5)
QUADRATIC = LeastSquares.line_fit(_X, _Y)
MINIMUM = np.array([2.0, -1.0])

#: For each optimizer: the settings it runs with (its documented defaults, and a stated step size
#: where it has no default or its default is made for other problems), the steps it is given, and
#: how close to the minimum it must end (the distance ‖x_T − x*‖), from x_0 = 0.
CONVERGENCE: dict[str, tuple[dict, int, float]] = {
    "gd": ({"lr": 0.1}, 1000, 1e-6),
    "decoupled-gd": ({"lr": 0.1}, 1000, 1e-6),            # to the minimum of f + (λ/2)‖x‖²
    "sgd": ({"lr": 0.1}, 1000, 1e-6),                      # batch_size=1, with replacement
    "coordinate": ({}, 100, 1e-6),
    "momentum": ({"lr": 0.1}, 1000, 1e-6),
    "nesterov": ({"lr": 0.1}, 1000, 1e-6),
    "torch-momentum": ({"lr": 0.1}, 1000, 1e-6),
    "adagrad": ({"lr": 0.5}, 1000, 1e-6),
    "rmsprop": ({"lr": 0.1}, 1000, 1e-6),
    "adam": ({"lr": 0.1}, 1000, 1e-6),
    "adamw": ({"lr": 0.1, "weight_decay": 0.0}, 1000, 1e-6),  # decay moves the minimum
    "nadam": ({"lr": 0.1}, 1000, 1e-6),
    "adamax": ({}, 3000, 1e-6),
    "adadelta": ({}, 1000, 1e-6),
    "radam": ({"lr": 0.1}, 1000, 1e-6),
    "lion": ({"lr": 0.01}, 2000, 1e-6),
    "asgd": ({"lr": 0.1, "lambd": 0.0}, 1000, 1e-6),      # λ > 0 shrinks toward 0: moves x*
    "nadamw": ({"lr": 0.1, "weight_decay": 0.0}, 1000, 1e-6),  # decay moves the minimum
    "radamw": ({"lr": 0.1, "weight_decay": 0.0}, 1000, 1e-6),
    "adafactor": ({}, 3000, 1e-6),                         # a relative step: slow from x_0 = 0
    "muon": ({"lr": exponential_decay(0.1, 0.99), "weight_decay": 0.0}, 2000, 1e-6),  # matrix
    "shampoo": ({"lr": 0.3}, 2000, 1e-6),                  # matrix; AdaGrad-like, no schedule
    "soap": ({"lr": exponential_decay(0.1, 0.99), "weight_decay": 0.0}, 2000, 1e-6),  # matrix
    "lbfgs": ({"tolerance_change": 1e-15}, 100, 1e-6),   # at 1e-9 it stops, gᵀd > -1e-9, at 2e-6
    "rprop": ({}, 500, 1e-5),                              # s_min = 1e-6 bounds its accuracy
    "newton": ({}, 100, 1e-6),
    "armijo": ({}, 100, 1e-6),
    "clip": ({"inner": GradientDescent(lr=0.5), "max_norm": 1.0}, 100, 1e-6),
    "projected": ({"inner": GradientDescent(lr=0.5), "lo": -5.0, "hi": 5.0}, 100, 1e-6),
    "schedule-free-sgd": ({"lr": 0.5}, 3000, 1e-6),        # the average lags: c_t = 1/t
    "schedule-free-adamw": ({"lr": 0.1}, 3000, 1e-6),
    "prodigy": ({}, 1000, 1e-6),                          # d_0 = 1e-6 grows to the distance
}
#: The one optimizer that must not get there: the published bug whose corrections compound.
STALLS = {"write-back-adam": ({"lr": 0.01}, 3000)}


def test_every_registered_optimizer_has_convergence_settings():
    missing = sorted(set(OPTIMIZERS) - set(CONVERGENCE) - set(STALLS))
    assert not missing, f"add {missing} to CONVERGENCE in {__file__}"


@pytest.mark.parametrize("name", sorted(set(CONVERGENCE) - MATRIX_ONLY))
def test_reaches_the_minimum_of_a_convex_quadratic(name):
    settings, steps, tolerance = CONVERGENCE[name]
    optimizer = OPTIMIZERS[name](**settings)
    target = MINIMUM
    if name == "decoupled-gd":
        H, b = QUADRATIC.hessian(MINIMUM), -QUADRATIC.grad(np.zeros(2))
        target = np.linalg.solve(H + optimizer.weight_decay[0] * np.eye(2), b)
    trajectory = run(QUADRATIC, optimizer, np.zeros(2), steps)
    distance = np.linalg.norm(trajectory.final - target)
    assert not trajectory.diverged
    assert distance < tolerance, f"{name}: ‖x_T − x*‖ = {distance:.2e} after {steps} steps"


def test_write_back_adam_does_not_reach_it():
    settings, steps = STALLS["write-back-adam"]
    end = run(QUADRATIC, OPTIMIZERS["write-back-adam"](**settings), np.zeros(2), steps).final
    assert np.linalg.norm(end - MINIMUM) > 1.0


# --- mathematics: the first step of every adaptive method, in closed form ---------------------

def _first_adagrad(o, x, g):
    return x - o.lr * g / (np.abs(g) + o.eps)                 # s_1 = g²


def _first_rmsprop(o, x, g):
    return x - o.lr * g / (np.sqrt(1 - o.rho) * np.abs(g) + o.eps)   # s_1 = (1 - ρ) g²


def _first_adam(o, x, g):
    return x - o.lr * g / (np.abs(g) + o.eps)                 # m̂_1 = g, v̂_1 = g²


def _first_adamw(o, x, g):
    return (1 - o.lr * o.weight_decay) * x - o.lr * g / (np.abs(g) + o.eps)


def _first_nadam(o, x, g):
    # μ_t = β1 (1 - ½ 0.96^{tψ}); m_1 = (1 - β1) g; √(v_1/(1 - β2)) = |g|
    mu1, mu2 = (o.beta1 * (1 - 0.5 * 0.96 ** (t * o.momentum_decay)) for t in (1, 2))
    weight = 1 + mu2 * (1 - o.beta1) / (1 - mu1 * mu2)
    return x - o.lr * weight * g / (np.abs(g) + o.eps)


def _first_adamax(o, x, g):
    return x - o.lr * g / (np.abs(g) + o.eps)                 # m_1/(1-β1) = g, u_1 = |g| + ε


def _first_adadelta(o, x, g):
    return x - o.lr * np.sqrt(o.eps) / np.sqrt((1 - o.rho) * g**2 + o.eps) * g


def _first_radam(o, x, g):
    return x - o.lr * g                                       # ρ_1 = 1 ≤ 5: momentum, m̂_1 = g


def _first_lion(o, x, g):
    return x - o.lr * (np.sign(g) + o.weight_decay * x)


def _first_nadamw(o, x, g):
    return (1 - o.lr * o.weight_decay) * x + (_first_nadam(o, x, g) - x)


def _first_radamw(o, x, g):
    return (1 - o.lr * o.weight_decay) * x - o.lr * g


def _first_adafactor(o, x, g):
    # V̂_1 = g², so U_1 = sign(g) with RMS 1: the relative step max(ε₂, RMS(x_0)) min(η, 1)
    rms = np.sqrt(np.mean(x**2, axis=-1, keepdims=True))
    return (1 - o.lr * o.weight_decay) * x - np.maximum(o.eps2, rms) * np.minimum(o.lr, 1) * np.sign(g)


def _first_rprop(o, x, g):
    return x - o.lr * np.sign(g)                              # p_0 = 0: the step is s_0 = η


def _first_write_back(o, x, g):
    return x - o.lr * g / (o.eps + np.abs(g))                 # corrected once: m_1 = g, v_1 = g²


def _first_schedule_free_adamw(o, x, g):
    return x - o.lr * g / (np.abs(g) + o.eps)                 # v̂_1 = g², c_1 = 1: x_1 = z_1


def _first_prodigy(o, x, g):
    # d_1 = d_0 (⟨g, x_0 − x_0⟩ = 0), m_1 = (1 − β1) d_0 g, √v_1 = √(1 − β2) d_0 |g|
    return x - o.lr * o.d0 * (1 - o.beta1) * g / (np.sqrt(1 - o.beta2) * np.abs(g) + o.eps)


#: Each adaptive optimizer, built with non-default hyperparameters, and its first step.
FIRST_STEPS: dict[str, tuple[dict, Callable]] = {
    "adagrad": ({"lr": 0.3, "eps": 1e-8}, _first_adagrad),
    "rmsprop": ({"lr": 0.3, "rho": 0.9, "eps": 1e-8}, _first_rmsprop),
    "adam": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8}, _first_adam),
    "adamw": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1},
              _first_adamw),
    "nadam": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "momentum_decay": 0.1},
              _first_nadam),
    "adamax": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8}, _first_adamax),
    "adadelta": ({"lr": 0.7, "rho": 0.8, "eps": 1e-6}, _first_adadelta),
    "radam": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8}, _first_radam),
    "lion": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.1}, _first_lion),
    "nadamw": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1,
                "momentum_decay": 0.1}, _first_nadamw),
    "radamw": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1},
               _first_radamw),
    "adafactor": ({"lr": 0.3, "eps2": 1e-3, "weight_decay": 0.1, "d": 1.0}, _first_adafactor),
    "rprop": ({"lr": 0.3, "etaminus": 0.4, "etaplus": 1.5}, _first_rprop),
    "write-back-adam": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8},
                        _first_write_back),
    "schedule-free-adamw": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8},
                            _first_schedule_free_adamw),
    "prodigy": ({"lr": 0.3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "d0": 1e-3}, _first_prodigy),
}
#: Start points where the gradient is of order 1, and of order ε (where a dropped ε shows).
FIRST_STARTS = {"large gradient": E0, "gradient of order ε": 1e-8 * E0}


def _first_step_error(name: str, optimizer: Optimizer) -> float:
    """The largest relative gap between the optimizer's first step and its closed form, with
    the hyperparameters of ``FIRST_STEPS``."""
    settings, closed_form = FIRST_STEPS[name]
    hyper = OPTIMIZERS[name](**settings)
    worst = 0.0
    for x0 in FIRST_STARTS.values():
        x1, _ = optimizer.step(BOWL, x0, optimizer.init(x0))
        g = BOWL.grad(x0)
        expected = closed_form(hyper, x0, g)
        worst = max(worst, float(np.max(np.abs((x1 - x0) - (expected - x0))
                                        / np.abs(expected - x0))))
    return worst


def test_every_adaptive_optimizer_has_its_first_step():
    from lessons_src.optim import adaptive, sign, step_size_free
    adaptive_names = {cls.name for cls in OPTIMIZERS.values()
                      if cls.__module__ in (adaptive.__name__, sign.__name__, step_size_free.__name__)}
    missing = sorted(adaptive_names - set(FIRST_STEPS))
    assert not missing, f"add the first step of {missing} to FIRST_STEPS in {__file__}"


@pytest.mark.parametrize("name", sorted(FIRST_STEPS))
def test_the_first_step_has_its_closed_form(name):
    optimizer = OPTIMIZERS[name](**FIRST_STEPS[name][0])
    assert _first_step_error(name, optimizer) < 1e-12


def test_a_wrong_bias_correction_or_a_dropped_eps_fails(monkeypatch):
    """The first-step check is sharp: break Adam on purpose and it fails."""
    from lessons_src.optim import adaptive

    settings = FIRST_STEPS["adam"][0]
    assert _first_step_error("adam", OPTIMIZERS["adam"](**settings)) < 1e-12
    dropped = OPTIMIZERS["adam"](**settings)
    dropped.eps = np.zeros_like(dropped.eps)                  # ε dropped from the division
    assert _first_step_error("adam", dropped) > 0.1
    # 1 - β^{t+1} in place of 1 - β^t: off by one step
    monkeypatch.setattr(adaptive, "bias_correction", lambda decay, t: 1 - decay ** (t + 1))
    assert _first_step_error("adam", OPTIMIZERS["adam"](**settings)) > 0.1


# --- the same checks for the rules that take matrices only ------------------------------------

#: A well-conditioned matrix least-squares problem ½‖A X − B‖²_F, X of shape (4, 3): singular
#: values of A from 1 to 2, so the Hessian's condition number is 4.
_RNG = np.random.default_rng(1)
MATRIX_A = np.linalg.qr(_RNG.standard_normal((6, 4)))[0] @ np.diag([1.0, 1.3, 1.6, 2.0])
MATRIX_B = _RNG.standard_normal((6, 3))
MATRIX_MINIMUM = np.linalg.lstsq(MATRIX_A, MATRIX_B, rcond=None)[0]


def _matrix_grad(x: np.ndarray) -> np.ndarray:
    return MATRIX_A.T @ (MATRIX_A @ x - MATRIX_B)


def _matrix_run(optimizer: Optimizer, x0: np.ndarray, steps: int) -> np.ndarray:
    x, state = x0, optimizer.init(x0)
    points = [x]
    for _ in range(steps):
        x, state = optimizer.update(_matrix_grad(x), x, state)
        points.append(x)
    return np.array(points)


@pytest.mark.parametrize("name", sorted(MATRIX_ONLY))
def test_a_matrix_rule_refuses_a_vector_naming_x(name):
    with pytest.raises(ValueError, match=r"x must be a matrix parameter of shape \(\.\.\., m, n\)"):
        _build(OPTIMIZERS[name], 0.01).init(STARTS["least squares"])


@pytest.mark.parametrize("name", sorted(MATRIX_ONLY))
def test_a_matrix_sweep_equals_its_single_runs_bit_for_bit(name):
    x0 = np.zeros((4, 3))
    sweep = _matrix_run(_build(OPTIMIZERS[name], SWEEP), np.broadcast_to(x0, (3, 4, 3)).copy(), 40)
    for i, lr in enumerate(SWEEP):
        np.testing.assert_array_equal(sweep[:, i], _matrix_run(_build(OPTIMIZERS[name], float(lr)),
                                                               x0, 40))


@pytest.mark.parametrize("name", sorted(MATRIX_ONLY))
def test_a_matrix_rule_changes_no_state_and_refuses_a_wrong_gradient(name):
    optimizer = _build(OPTIMIZERS[name], 0.01)
    x = np.ones((4, 3))
    state = optimizer.init(x)
    for _ in range(5):
        before = _snapshot(state)
        x_next, after = optimizer.update(_matrix_grad(x), x, state)
        _assert_same_state(state, before)
        arrays = [v for v in after if isinstance(v, np.ndarray)]
        assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])
        x, state = x_next, after
    for bad in (np.zeros((3, 4)), np.zeros((1, 3)), np.zeros(3)):
        with pytest.raises(ValueError, match=r"grad must have the shape of x, \(4, 3\)"):
            optimizer.update(bad, x, state)
    with np.errstate(invalid="ignore"):
        assert np.isnan(optimizer.update(np.full((4, 3), np.nan), x, state)[0]).all()


@pytest.mark.parametrize("name", sorted(MATRIX_ONLY))
def test_a_matrix_rule_reaches_the_minimum_of_a_matrix_least_squares_problem(name):
    settings, steps, tolerance = CONVERGENCE[name]
    end = _matrix_run(OPTIMIZERS[name](**settings), np.zeros((4, 3)), steps)[-1]
    distance = np.linalg.norm(end - MATRIX_MINIMUM)
    assert distance < tolerance, f"{name}: ‖X_T − X*‖ = {distance:.2e} after {steps} steps"


@pytest.mark.parametrize(("name", "argument"),
                         [(n, a) for n in sorted(MATRIX_ONLY) for a in _arguments(OPTIMIZERS[n])])
def test_a_matrix_rule_refuses_a_bad_hyperparameter_with_its_name(name, argument):
    test_a_bad_hyperparameter_is_refused_with_its_name(name, argument)


@pytest.mark.parametrize("name", sorted(MATRIX_ONLY))
def test_a_matrix_rule_is_a_gradient_optimizer(name):
    assert issubclass(OPTIMIZERS[name], GradientOptimizer)
