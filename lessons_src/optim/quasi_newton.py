r"""Quasi-Newton methods, which evaluate the loss and gradient where they choose: L-BFGS.

A rule of this kind takes a *closure*: ``update(x, state, closure)``, where ``closure(points)``
returns the loss and its gradient at ``points`` (:class:`ClosureOptimizer`), as PyTorch's
``LBFGS.step(closure)`` does.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.base import Array, Objective
from .base import Optimizer, validate_count, validate_positive, validate_range

__all__ = ["LBFGS", "ClosureOptimizer", "LBFGSState"]

Closure = Callable[[Array], tuple[Array, Array]]


class ClosureOptimizer(Optimizer):
    r"""A rule that evaluates the loss where it chooses: ``update(x, state, closure)`` takes
    ``closure(points) -> (loss, grad)``, the loss (shape ``(...,)``) and gradient at any points
    of the shape of ``x``, and calls it as often as it needs (PyTorch's ``step(closure)``)."""

    @abstractmethod
    def update(self, x: Array, state: Any, closure: Closure) -> tuple[Array, Any]:
        """One update (PyTorch's one ``step``: possibly many iterations) with the ``closure``."""

    def step(self, objective: Objective, x: Array, state: Any) -> tuple[Array, Any]:
        """``update`` with the loss and gradient of ``objective``."""
        return self.update(x, state, lambda points: (objective.value(points),
                                                     objective.grad(points)))


class LBFGSState(NamedTuple):
    count: int
    n_iter: Array
    func_evals: Array
    direction: Array
    t: Array
    old_dirs: Array
    old_stps: Array
    ro: Array
    n_old: Array
    h_diag: Array
    prev_grad: Array
    prev_loss: Array


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through two points with slopes, clipped to ``bounds``
    (PyTorch's ``_cubic_interpolate``)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step length satisfying the strong Wolfe conditions, by bracketing and cubic
    interpolation (Nocedal and Wright, Algorithms 3.5 and 3.6; PyTorch's ``_strong_wolfe``)."""
    d_norm = np.max(np.abs(d))
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(ClosureOptimizer):
    r"""L-BFGS (Liu and Nocedal, 1989), PyTorch's ``LBFGS``: each ``update`` runs up to
    ``max_iter`` quasi-Newton iterations,

    .. math::
        d_k = -H_k g_k, \qquad x_{k+1} = x_k + t_k d_k,

    where :math:`H_k` is the inverse-Hessian estimate that the last ``history_size`` pairs
    :math:`s_i = x_{i+1}-x_i,\ y_i = g_{i+1}-g_i` (kept when :math:`y_i^\top s_i > 10^{-10}`) build
    from :math:`H^0 = \frac{y^\top s}{y^\top y} I` by the two-loop recursion (Nocedal and Wright,
    Algorithm 7.4). The step :math:`t_k` is ``lr`` (the first iteration ever:
    :math:`\min(1, 1/\|g_0\|_1)\,\eta`), or with ``line_search_fn="strong_wolfe"`` the result of a
    line search from it that satisfies the strong Wolfe conditions (:math:`c_1 = 10^{-4}`,
    :math:`c_2 = 0.9`). An update stops early when :math:`\|g\|_\infty \le` ``tolerance_grad``,
    when the step or the change in loss falls below ``tolerance_change``, or after ``max_eval``
    evaluations.

    Defaults (PyTorch's): ``lr=1``, ``max_iter=20``, ``max_eval=None`` (``max_iter·5//4``),
    ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``, ``history_size=100``,
    ``line_search_fn=None``. It takes a closure (:class:`ClosureOptimizer`); ``run`` builds it from
    the objective. Each run of a sweep keeps its own history; the runs are stepped one by one.

    >>> from lessons_src import LBFGS, Rosenbrock, run
    >>> lbfgs = LBFGS(line_search_fn="strong_wolfe", tolerance_change=1e-12)
    >>> run(Rosenbrock(), lbfgs, [-1.2, 1.0], 3).final.round(6)        # 60 iterations at most
    array([1., 1.])
    """

    name = "lbfgs"

    def __init__(self, lr: ArrayLike = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: ArrayLike = 1e-7, tolerance_change: ArrayLike = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        self.lr = validate_positive("lr", lr)
        self.max_iter = validate_count("max_iter", max_iter, low=1)
        self.max_eval = (self.max_iter * 5 // 4 if max_eval is None
                         else validate_count("max_eval", max_eval, low=1))
        self.tolerance_grad = validate_range("tolerance_grad", tolerance_grad, low=0.0)
        self.tolerance_change = validate_range("tolerance_change", tolerance_change, low=0.0)
        self.history_size = validate_count("history_size", history_size, low=1)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        self.line_search_fn = line_search_fn

    def init(self, x: Array) -> LBFGSState:
        x = np.asarray(x, dtype=float)
        batch, d, m = x.shape[:-1], x.shape[-1], self.history_size
        return LBFGSState(0, np.zeros(batch, dtype=int), np.zeros(batch, dtype=int),
                          np.zeros_like(x), np.zeros((*batch, 1)), np.zeros((*batch, m, d)),
                          np.zeros((*batch, m, d)), np.zeros((*batch, m)),
                          np.zeros(batch, dtype=int), np.ones((*batch, 1)), np.zeros_like(x),
                          np.zeros((*batch, 1)))

    def update(self, x: Array, state: LBFGSState, closure: Closure) -> tuple[Array, LBFGSState]:
        x = np.asarray(x, dtype=float)
        batch = x.shape[:-1]
        new = [np.array(v, copy=True) for v in state[1:]]
        x_next = np.array(x, copy=True)
        hyper = [np.broadcast_to(getattr(self, k), (*batch, 1))
                 for k in ("lr", "tolerance_grad", "tolerance_change")]
        for index in np.ndindex(*batch):
            fields = [v[index] for v in new]
            point, out = self._one_run(x[index], fields, closure,
                                       *(float(h[index][0]) for h in hyper))
            x_next[index] = point
            for array, value in zip(new, out, strict=True):
                array[index] = value
        return x_next, LBFGSState(state.count + 1, *new)

    def _one_run(self, x, fields, closure, lr, tolerance_grad, tolerance_change):
        """PyTorch's ``LBFGS.step`` for one run, line for line (its state in ``fields``)."""
        (n_iter_total, func_evals, d, t, old_dirs, old_stps, ro, n_old, h_diag,
         prev_grad, prev_loss) = fields
        n_iter_total, func_evals, n_old = int(n_iter_total), int(func_evals), int(n_old)
        d, t, h_diag, prev_loss = d.copy(), float(t[0]), float(h_diag[0]), float(prev_loss[0])
        dirs = [old_dirs[i].copy() for i in range(n_old)]
        stps = [old_stps[i].copy() for i in range(n_old)]
        ros = [float(ro[i]) for i in range(n_old)]
        prev_grad = prev_grad.copy()

        def evaluate(point):
            value, grad = closure(point)
            return float(np.asarray(value).reshape(-1)[0]), np.asarray(grad, dtype=float).reshape(x.shape)

        loss, flat_grad = evaluate(x)
        current_evals = 1
        func_evals += 1
        if np.max(np.abs(flat_grad)) <= tolerance_grad:              # at a stationary point
            return x, (n_iter_total, func_evals, *fields[2:])
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            n_iter_total += 1
            if n_iter_total == 1:
                d = -flat_grad
                dirs, stps, ros, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_grad
                s = d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(dirs) == self.history_size:
                        dirs.pop(0)
                        stps.pop(0)
                        ros.pop(0)
                    dirs.append(y)
                    stps.append(s)
                    ros.append(1.0 / ys)
                    h_diag = ys / (y @ y)
                al = [0.0] * len(dirs)
                q = -flat_grad
                for i in range(len(dirs) - 1, -1, -1):
                    al[i] = (stps[i] @ q) * ros[i]
                    q = q + (-al[i]) * dirs[i]
                d = r = q * h_diag
                for i in range(len(dirs)):
                    be_i = (dirs[i] @ r) * ros[i]
                    r = r + (al[i] - be_i) * stps[i]
                d = r
            prev_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / np.sum(np.abs(flat_grad))) * lr if n_iter_total == 1 else lr
            gtd = flat_grad @ d
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if self.line_search_fn == "strong_wolfe":
                def obj_func(start, step, direction):
                    return evaluate(start + step * direction)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x, t, d, loss, flat_grad, gtd,
                    max_ls=self.max_eval - current_evals)
                x = x + t * d
                opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
            else:
                x = x + t * d
                opt_cond = False
                if n_iter != self.max_iter:
                    loss, flat_grad = evaluate(x)
                    opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            func_evals += ls_func_evals
            if n_iter == self.max_iter or current_evals >= self.max_eval or opt_cond:
                break
            if np.max(np.abs(d * t)) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break
        m = self.history_size
        old_dirs, old_stps, ro = np.zeros_like(old_dirs), np.zeros_like(old_stps), np.zeros(m)
        for i in range(len(dirs)):
            old_dirs[i], old_stps[i], ro[i] = dirs[i], stps[i], ros[i]
        out = (n_iter_total, func_evals, d, [t], old_dirs, old_stps, ro, len(dirs), [h_diag],
               prev_grad, [prev_loss])
        return x, out
