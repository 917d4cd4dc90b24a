"""The schedules of lessons_src.schedules against torch.optim.lr_scheduler: the step sizes agree
to 1e-12 over 300 steps (CyclicLR in its three modes, PolynomialLR, MultiStepLR, ConstantLR and
ReduceLROnPlateau among them), and an optimizer run with a schedule follows torch's iterates."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import Adam, GradientDescent, QuadraticND, Wiggly, run
from lessons_src.schedules import (
    ReduceOnPlateau,
    constant_factor,
    cosine,
    cosine_restarts,
    cyclic,
    linear,
    multi_step,
    one_cycle,
    polynomial,
    sequential,
    warmup,
)

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: pip install -r tests/requirements-torch.txt"
)
L = torch.optim.lr_scheduler
STEPS = 300

#: name -> (torch scheduler for an optimizer with lr = 0.1, our schedule)
CASES = {
    "LinearLR warmup": (lambda o: L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=50),
                        linear(0.1, 0.1, 1.0, 50)),
    "LinearLR decay": (lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=200),
                       linear(0.1, 1.0, 0.05, 200)),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=100, eta_min=0.001),
                          cosine(0.1, 100, 0.001)),
    "CosineAnnealingWarmRestarts": (
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2, eta_min=0.001),
        cosine_restarts(0.1, 20, 2, 0.001)),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, cycle_momentum=False),
                   one_cycle(0.5, STEPS)),
    "SequentialLR": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=30),
                                     L.CosineAnnealingLR(o, T_max=270)], milestones=[30]),
        sequential([warmup(0.1, 30), cosine(0.1, 270)], [30])),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, milestones=[40, 90, 90, 250], gamma=0.5),
                    multi_step(0.1, [40, 90, 90, 250], factor=0.5)),
    "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.25, total_iters=70),
                   constant_factor(0.1, factor=0.25, total=70)),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, total_iters=STEPS, power=0.9),
                     polynomial(0.1, total=STEPS, power=0.9)),
    "PolynomialLR squared": (lambda o: L.PolynomialLR(o, total_iters=STEPS + 50, power=2.0),
                             polynomial(0.1, total=STEPS + 50, power=2.0)),
    "CyclicLR triangular": (
        lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=20, step_size_down=35,
                             cycle_momentum=False),
        cyclic(0.01, 0.1, up=20, down=35)),
    "CyclicLR triangular2": (
        lambda o: L.CyclicLR(o, base_lr=0.001, max_lr=0.3, step_size_up=25, mode="triangular2",
                             cycle_momentum=False),
        cyclic(0.001, 0.3, up=25, mode="triangular2")),
    "CyclicLR exp_range": (
        lambda o: L.CyclicLR(o, base_lr=0.002, max_lr=0.2, step_size_up=15, step_size_down=10,
                             mode="exp_range", gamma=0.995, cycle_momentum=False),
        cyclic(0.002, 0.2, up=15, down=10, mode="exp_range", gamma=0.995)),
}


def _torch_steps(make) -> np.ndarray:
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1)
    scheduler = make(optimizer)
    steps = []
    for _ in range(STEPS):
        steps.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(steps)


@pytest.mark.parametrize("name", list(CASES))
def test_step_sizes_agree_with_torch(name):
    make, schedule = CASES[name]
    expected = _torch_steps(make)
    ours = np.array([schedule.at(k)[0] for k in range(STEPS)])
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    assert np.ptp(expected) > 0.01, "the schedule changes the step"


def test_adam_with_warmup_then_cosine_follows_torch():
    bowl = QuadraticND.from_eigenvalues([0.1, 2.0], angle=0.5, minimizer=[1.0, -2.0])
    schedule = sequential([warmup(0.1, 30), cosine(0.1, 270)], [30])
    ours = run(bowl, Adam(schedule), [3.0, 4.0], STEPS).points
    p = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=0.1)
    scheduler = CASES["SequentialLR"][0](optimizer)
    A = torch.tensor(bowl.A)
    b = torch.tensor(bowl.b)
    expected = [p.detach().numpy().copy()]
    for _ in range(STEPS):
        optimizer.zero_grad()
        (0.5 * p @ A @ p - b @ p).backward()
        optimizer.step()
        scheduler.step()
        expected.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ours, np.array(expected), rtol=1e-10, atol=1e-10)


def test_polynomial_reaches_zero_as_torch_does():
    """Past ``total`` torch's PolynomialLR is 0; the schedule says so (an optimizer refuses it)."""
    expected = _torch_steps(lambda o: L.PolynomialLR(o, total_iters=200, power=1.5))
    schedule = polynomial(0.1, total=200, power=1.5)
    ours = np.array([float(schedule(k)) for k in range(STEPS)])
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    assert ours[199] > 0 and np.all(ours[200:] == 0)
    with pytest.raises(ValueError, match="positive finite step sizes, got 0 at step 200"):
        schedule.at(200)


def test_sweep_of_cyclic_schedules_agrees_run_by_run():
    """An array ``max_lr`` is a sweep: each run's steps are torch's for that ``max_lr``."""
    highs = np.array([0.05, 0.1, 0.4])
    schedule = cyclic(0.01, highs, up=30, mode="triangular2")
    ours = np.array([schedule.at(k)[..., 0] for k in range(STEPS)])
    assert ours.shape == (STEPS, 3) and schedule.batch_shape == (3,)
    for i, high in enumerate(highs):
        expected = _torch_steps(lambda o, high=high: L.CyclicLR(
            o, base_lr=0.01, max_lr=float(high), step_size_up=30, mode="triangular2",
            cycle_momentum=False))
        np.testing.assert_allclose(ours[:, i], expected, rtol=1e-12, atol=1e-15)


def _noisy_losses(seed: int = 0) -> np.ndarray:
    """A loss that falls, then wanders on a plateau: what ReduceLROnPlateau is for."""
    k = np.arange(STEPS)
    return 1.0 / (1.0 + k / 15.0) + 0.05 + 0.01 * np.random.default_rng(seed).standard_normal(STEPS)


#: name -> keyword arguments shared by torch's ReduceLROnPlateau and ours, and the losses fed
PLATEAU_CASES = {
    "min, rel (defaults)": ({}, _noisy_losses()),
    "min, patience 3, cooldown 4, floor": (
        {"factor": 0.5, "patience": 3, "cooldown": 4, "min_lr": 0.003}, _noisy_losses(1)),
    "max, abs": ({"mode": "max", "factor": 0.7, "patience": 5, "threshold": 0.01,
                  "threshold_mode": "abs"}, -_noisy_losses(2)),
    "min, abs, eps": ({"factor": 0.9, "patience": 2, "threshold": 1e-3, "threshold_mode": "abs",
                       "eps": 0.005}, _noisy_losses(3)),
}


@pytest.mark.parametrize("name", list(PLATEAU_CASES))
def test_reduce_on_plateau_agrees_with_torch(name):
    kwargs, losses = PLATEAU_CASES[name]
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1)
    scheduler = L.ReduceLROnPlateau(optimizer, **kwargs)
    expected = []
    for loss in losses:
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(float(loss))
    expected.append(optimizer.param_groups[0]["lr"])
    ours = ReduceOnPlateau(0.1, **kwargs).rates(losses)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    assert len(np.unique(expected)) >= 3, "the case cuts the step more than once"


def test_plateau_fed_by_its_own_run_follows_torch():
    """Closed loop: torch's SGD on the wiggly function, its loss feeding ReduceLROnPlateau. Our rule
    on the losses torch saw gives torch's steps, and a replay of them gives torch's iterates."""
    def f(x):
        return ((0.15 * x) ** 2 + torch.cos(x) + torch.sin(3 * x) / 3
                + torch.cos(5 * x) / 5 + torch.sin(7 * x) / 7)

    x = torch.tensor([-20.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=0.5)
    scheduler = L.ReduceLROnPlateau(optimizer, factor=0.5, patience=4)
    losses, rates, points = [], [], [x.detach().numpy().copy()]
    for _ in range(STEPS):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss = f(x).sum()
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())
        losses.append(loss.item())
        points.append(x.detach().numpy().copy())
    plateau = ReduceOnPlateau(0.5, factor=0.5, patience=4)
    np.testing.assert_allclose(plateau.rates(losses)[:-1], rates, rtol=1e-12, atol=0)
    assert len(set(rates)) >= 4, "the plateau cut the step several times"
    replay = run(Wiggly(), GradientDescent(plateau.schedule(losses)), -20.0, STEPS)
    np.testing.assert_allclose(replay.points, np.array(points), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(replay.values[:-1], losses, rtol=1e-10, atol=1e-12)
