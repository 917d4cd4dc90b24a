"""Schedule-free SGD and AdamW, and Prodigy, against their reference implementations (issue 22,
item 4): ``schedulefree`` 1.4 (``SGDScheduleFree``, ``AdamWScheduleFree`` and their
``...Reference`` variants) and ``prodigyopt`` 1.1 (``Prodigy``), 300 steps side by side in float64,
every iterate agreeing to 1e-10.

The package's point ``x`` is schedule-free's average :math:`x_t` (the parameters after
``optimizer.eval()``); the gradient is taken at ``grad_point``, the interpolation :math:`y_t`
(the parameters in ``train()`` mode). The reference variants keep :math:`x_t` in their state
(``state["x"]``), so every :math:`x_t` and every :math:`y_t` is compared; the fast variants keep only
:math:`y_t` and :math:`z_t`, so every :math:`y_t` is compared, and :math:`x_t` at the end through
``eval()``. Each pair states settings under which relative 1e-15 errors in the gradients move the
run by less than 1e-12 over the 300 steps (``rounding_amplification``), so that agreement to 1e-10
is a real check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: pip install -r tests/requirements-torch.txt"
)
schedulefree = pytest.importorskip(
    "schedulefree", reason="schedulefree is not installed: pip install -r tests/requirements-torch.txt"
)
prodigyopt = pytest.importorskip(
    "prodigyopt", reason="prodigyopt is not installed: pip install -r tests/requirements-torch.txt"
)

from test_torch_agreement import F64, STEPS, TOLERANCE  # noqa: E402
from test_torch_parity import PROBLEMS as SHARED  # noqa: E402

from lessons_src import Prodigy, ScheduleFreeAdamW, ScheduleFreeSGD  # noqa: E402

#: A least-squares problem ½‖A x − b‖² in five coordinates, condition number about 60.
_rng = np.random.default_rng(22)
A_LS = _rng.standard_normal((8, 5)) @ np.diag([1.0, 0.8, 0.5, 0.3, 0.13])
B_LS = _rng.standard_normal(8)


def _torch_ls(x):
    return 0.5 * ((torch.tensor(A_LS) @ x - torch.tensor(B_LS)) ** 2).sum()


PROBLEMS: dict[str, tuple[Callable, Callable, np.ndarray]] = {
    "quadratic": SHARED["quadratic"],
    "rosenbrock": SHARED["rosenbrock"],
    "least-squares": (lambda x: A_LS.T @ (A_LS @ x - B_LS), _torch_ls, 2.0 * np.ones(5)),
}


def ours_run(optimizer, problem: str, noise_seed: int | None = None):
    """The package's points :math:`x_t`, gradient points :math:`y_t` (steps + 1 each) and states."""
    grad, _, x0 = PROBLEMS[problem]
    rng = None if noise_seed is None else np.random.default_rng(noise_seed)
    x = x0.copy()
    state = optimizer.init(x)
    points, at, states = [x], [optimizer.grad_point(x, state)], [state]
    for _ in range(STEPS):
        g = grad(optimizer.grad_point(x, state))
        if rng is not None:  # a relative 1e-15 error in every gradient
            g = g + 1e-15 * (1 + np.abs(g)) * rng.standard_normal(g.shape)
        x, state = optimizer.update(g, x, state)
        points.append(x)
        at.append(optimizer.grad_point(x, state))
        states.append(state)
    return np.array(points), np.array(at), states


def rounding_amplification(make: Callable, problem: str) -> float:
    """The largest change over 300 steps that a relative 1e-15 error in every gradient causes, in
    the points or the gradient points (three seeds)."""
    clean_x, clean_y, _ = ours_run(make(), problem)
    worst = 0.0
    for seed in range(3):
        x, y, _ = ours_run(make(), problem, noise_seed=seed)
        worst = max(worst, float(np.max(np.abs(x - clean_x))), float(np.max(np.abs(y - clean_y))))
    return worst


def torch_run(make: Callable, problem: str, state_entries: tuple[str, ...] = (),
              group_entries: tuple[str, ...] = (), schedule_free: bool = True):
    """The reference's parameters after every step (steps + 1), the state and param-group entries
    named, after every step, and the optimizer at the end."""
    _, loss, x0 = PROBLEMS[problem]
    p = torch.tensor(x0, dtype=F64, requires_grad=True)
    optimizer = make([p])
    if schedule_free:
        optimizer.train()  # the parameters are y_t
    params = [p.detach().numpy().copy()]
    entries: dict[str, list] = {name: [] for name in (*state_entries, *group_entries)}
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss(p).backward()
        optimizer.step()
        params.append(p.detach().numpy().copy())
        for name in state_entries:
            entries[name].append(optimizer.state[p][name].detach().numpy().copy())
        for name in group_entries:
            entries[name].append(float(optimizer.param_groups[0][name]))
    return np.array(params), {k: np.array(v) for k, v in entries.items()}, optimizer, p


def _moved(points: np.ndarray) -> None:
    """A non-trivial run: finite, and it went somewhere."""
    assert np.all(np.isfinite(points))
    assert np.max(np.abs(points[-1] - points[0])) > 1e-2


def _quiet(make: Callable) -> Callable:
    """The reference prints when it switches modes; keep the test output clean."""
    import contextlib
    import io

    def made(params):
        with contextlib.redirect_stdout(io.StringIO()):
            return make(params)

    return made


def _in_mode(optimizer, mode: str) -> None:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        getattr(optimizer, mode)()


# --- schedule-free SGD ----------------------------------------------------------------------------

SGD_SETTINGS = {
    "quadratic": {"lr": 0.4, "momentum": 0.9, "warmup_steps": 20},
    "rosenbrock": {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.01},
    "least-squares": {"lr": 0.3, "momentum": 0.8, "warmup_steps": 50, "weight_decay": 0.02},
}


def _ours_sgd(hp):
    return ScheduleFreeSGD(hp["lr"], hp["momentum"], warmup_steps=hp.get("warmup_steps", 0),
                           weight_decay=hp.get("weight_decay", 0.0))


@pytest.mark.parametrize("problem", sorted(SGD_SETTINGS))
def test_schedule_free_sgd_agrees_with_the_reference(problem):
    hp = SGD_SETTINGS[problem]
    assert rounding_amplification(lambda: _ours_sgd(hp), problem) < 1e-12
    points, at, _ = ours_run(_ours_sgd(hp), problem)
    _moved(points)
    y, entries, _, _ = torch_run(
        _quiet(lambda ps: schedulefree.SGDScheduleFreeReference(ps, **hp)), problem, ("x", "z"))
    np.testing.assert_allclose(points[1:], entries["x"], **TOLERANCE)
    np.testing.assert_allclose(at, y, **TOLERANCE)
    # the average is a real one: it has not caught up with the SGD sequence z
    z = entries["z"]
    assert np.max(np.abs(points[-1] - z[-1])) > 1e-6


@pytest.mark.parametrize("problem", sorted(SGD_SETTINGS))
def test_schedule_free_sgd_agrees_with_the_fast_form(problem):
    """``SGDScheduleFree`` updates y in place without forming x; eval() recovers x at the end."""
    hp = SGD_SETTINGS[problem]
    points, at, _ = ours_run(_ours_sgd(hp), problem)
    y, _, optimizer, p = torch_run(lambda ps: schedulefree.SGDScheduleFree(ps, foreach=False, **hp),
                                   problem)
    np.testing.assert_allclose(at, y, **TOLERANCE)
    _in_mode(optimizer, "eval")
    np.testing.assert_allclose(points[-1], p.detach().numpy(), **TOLERANCE)


# --- schedule-free AdamW --------------------------------------------------------------------------

ADAMW_SETTINGS = {
    "quadratic": {"lr": 0.05, "betas": (0.9, 0.999), "warmup_steps": 10},
    "rosenbrock": {"lr": 0.01, "betas": (0.9, 0.99), "weight_decay": 0.01},
    "least-squares": {"lr": 0.05, "betas": (0.95, 0.999), "warmup_steps": 30, "weight_decay": 0.1},
}


def _ours_adamw(hp):
    return ScheduleFreeAdamW(hp["lr"], *hp["betas"], warmup_steps=hp.get("warmup_steps", 0),
                             weight_decay=hp.get("weight_decay", 0.0))


@pytest.mark.parametrize("problem", sorted(ADAMW_SETTINGS))
def test_schedule_free_adamw_agrees_with_the_reference(problem):
    hp = ADAMW_SETTINGS[problem]
    assert rounding_amplification(lambda: _ours_adamw(hp), problem) < 1e-12
    points, at, states = ours_run(_ours_adamw(hp), problem)
    _moved(points)
    y, entries, _, _ = torch_run(
        _quiet(lambda ps: schedulefree.AdamWScheduleFreeReference(ps, **hp)), problem,
        ("x", "exp_avg_sq"))
    np.testing.assert_allclose(points[1:], entries["x"], **TOLERANCE)
    np.testing.assert_allclose(at, y, **TOLERANCE)
    np.testing.assert_allclose(np.array([s.nu for s in states[1:]]), entries["exp_avg_sq"],
                               **TOLERANCE)


@pytest.mark.parametrize("problem", sorted(ADAMW_SETTINGS))
def test_schedule_free_adamw_agrees_with_the_fast_form(problem):
    hp = ADAMW_SETTINGS[problem]
    points, at, _ = ours_run(_ours_adamw(hp), problem)
    y, _, optimizer, p = torch_run(
        lambda ps: schedulefree.AdamWScheduleFree(ps, foreach=False, **hp), problem)
    np.testing.assert_allclose(at, y, **TOLERANCE)
    _in_mode(optimizer, "eval")
    np.testing.assert_allclose(points[-1], p.detach().numpy(), **TOLERANCE)


# --- Prodigy --------------------------------------------------------------------------------------

PRODIGY_SETTINGS = {
    "quadratic": {},
    "rosenbrock": {"lr": 0.1, "d0": 1e-4, "weight_decay": 0.01},
    "least-squares": {"d0": 1e-3, "use_bias_correction": True, "safeguard_warmup": True,
                      "growth_rate": 1.05, "d_coef": 0.5, "weight_decay": 0.05, "decouple": False},
}


def _ours_prodigy(hp):
    hp = dict(hp)
    betas = hp.pop("betas", (0.9, 0.999))
    return Prodigy(hp.pop("lr", 1.0), *betas, **hp)


@pytest.mark.parametrize("problem", sorted(PRODIGY_SETTINGS))
def test_prodigy_agrees_with_the_reference(problem):
    hp = PRODIGY_SETTINGS[problem]
    assert rounding_amplification(lambda: _ours_prodigy(hp), problem) < 1e-12
    points, _, states = ours_run(_ours_prodigy(hp), problem)
    _moved(points)
    expected, entries, _, _ = torch_run(lambda ps: prodigyopt.Prodigy(ps, **hp), problem,
                                        group_entries=("d",), schedule_free=False)
    np.testing.assert_allclose(points, expected, **TOLERANCE)
    d = np.array([s.d.item() for s in states[1:]])
    np.testing.assert_allclose(d, entries["d"], **TOLERANCE)
    assert d[-1] > 100 * hp.get("d0", 1e-6)  # the estimate did grow


def test_prodigy_d_stays_below_the_distance_on_a_convex_problem():
    """D-adaptation's lower bound: on a convex problem with exact gradients the estimate never
    exceeds ‖x₀ − x*‖∞ (here with β₃ next to 1, on the least-squares problem)."""
    grad, _, x0 = PROBLEMS["least-squares"]
    x_star = np.linalg.lstsq(A_LS, B_LS, rcond=None)[0]
    optimizer = Prodigy(beta3=np.nextafter(1.0, 0.0))
    x, state = x0.copy(), optimizer.init(x0)
    for _ in range(2000):
        x, state = optimizer.update(grad(x), x, state)
    assert state.d.item() <= np.max(np.abs(x0 - x_star)) * (1 + 1e-9)
    assert state.d.item() > 0.05 * np.max(np.abs(x0 - x_star))
