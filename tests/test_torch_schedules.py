"""The schedules of lessons_src.schedules against torch.optim.lr_scheduler: the step sizes agree
to 1e-12 over 300 steps, and an optimizer run with a schedule follows torch's iterates."""

from __future__ import annotations

import numpy as np
import pytest

from lessons_src import Adam, QuadraticND, run
from lessons_src.schedules import cosine, cosine_restarts, linear, one_cycle, sequential, warmup

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
