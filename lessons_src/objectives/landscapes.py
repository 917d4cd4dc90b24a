r"""Hard landscapes: ripples, a banana valley, saddles, a double well, a cliff, a gentle slope.

Each is an :class:`~lessons_src.objectives.base.Objective` with exact gradient and Hessian. The
wiggly function also comes smoothed by Gaussian noise in closed form (:class:`SmoothedWiggly`),
for continuation methods.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .base import Array, Objective, as_points


class Wiggly(Objective):
    r"""A bowl covered in ripples, with cliffs and many local minima:

    .. math::
        f(x) = (0.15x)^2 + \cos x + \tfrac13\sin 3x + \tfrac15\cos 5x + \tfrac17\sin 7x,

    :math:`f'(x) = 0.045x - \sin x + \cos 3x - \sin 5x + \cos 7x` and
    :math:`f''(x) = 0.045 - \cos x - 3\sin 3x - 5\cos 5x - 7\sin 7x`.
    """

    dim = 1
    name = "wiggly"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return (
            (0.15 * x) ** 2
            + np.cos(x)
            + np.sin(3 * x) / 3
            + np.cos(5 * x) / 5
            + np.sin(7 * x) / 7
        )

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return 0.045 * x - np.sin(x) + np.cos(3 * x) - np.sin(5 * x) + np.cos(7 * x)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        second = 0.045 - np.cos(x) - 3 * np.sin(3 * x) - 5 * np.cos(5 * x) - 7 * np.sin(7 * x)
        return second[..., None]

    def global_minimizer(self, lo: float = -20.0, hi: float = 20.0, n: int = 400_001) -> float:
        """The lowest point on a fine grid over ``[lo, hi]``, polished by a few Newton steps."""
        grid = np.linspace(lo, hi, n)[:, None]
        x = grid[np.argmin(self.value(grid))]
        for _ in range(5):
            x = x - self.grad(x) / self.hessian(x)[..., 0]
        return float(x[0])


class Rosenbrock(Objective):
    r"""Rosenbrock's banana valley :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    Its minimum is at :math:`(a, a^2)`, at the end of a long, curved, flat-bottomed valley.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a, self.b = float(a), float(b)
        self.name = f"Rosenbrock (a={self.a:g}, b={self.b:g})"

    @property
    def minimizer(self) -> Array:
        return np.array([self.a, self.a**2])

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        return (self.a - u) ** 2 + self.b * (v - u**2) ** 2

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        r = v - u**2
        return np.stack([-2 * (self.a - u) - 4 * self.b * u * r, 2 * self.b * r], axis=-1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        h11 = 2 - 4 * self.b * (v - u**2) + 8 * self.b * u**2
        h12 = -4 * self.b * u
        h22 = np.full_like(u, 2 * self.b)
        return np.stack([np.stack([h11, h12], -1), np.stack([h12, h22], -1)], -2)


class Saddle(Objective):
    r"""The saddle :math:`f(x, y) = \tfrac12(a x^2 - b y^2)`.

    The origin is a minimum along :math:`x` and a maximum along :math:`y`.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        if not (a > 0 and b > 0):
            raise ValueError(f"a and b must be positive, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.name = f"saddle (a={self.a:g}, b={self.b:g})"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return 0.5 * (self.a * x[..., 0] ** 2 - self.b * x[..., 1] ** 2)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return x * np.array([self.a, -self.b])

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return np.broadcast_to(np.diag([self.a, -self.b]), (*x.shape, 2)).copy()


def _logistic_parts(z: Array) -> tuple[Array, Array]:
    r"""The logistic :math:`\operatorname{sigmoid}(z)` and its derivative, without overflow."""
    t = np.tanh(z / 2)
    return (1 + t) / 2, (1 - t**2) / 4


class DoubleWell(Objective):
    r"""A saddle between two valleys:

    .. math::
        f(x_1, x_2) = \tfrac12 a x_1^2 + \tfrac{b}{4}\,(x_2^2 - 1)^2 .

    :math:`\nabla f = (a x_1,\; b x_2 (x_2^2 - 1))` and
    :math:`\nabla^2 f = \mathrm{diag}(a,\; b(3x_2^2 - 1))`. The origin is a saddle with Hessian
    :math:`\mathrm{diag}(a, -b)` and value :math:`b/4`; the minima are :math:`(0, \pm 1)` with
    Hessian :math:`\mathrm{diag}(a, 2b)` and value 0.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        if not (a > 0 and b > 0):
            raise ValueError(f"a and b must be positive, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.name = f"double well (a={self.a:g}, b={self.b:g})"

    @property
    def minimizers(self) -> Array:
        """The two minima :math:`(0, -1)` and :math:`(0, 1)`, one per row."""
        return np.array([[0.0, -1.0], [0.0, 1.0]])

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        return 0.5 * self.a * x[..., 0] ** 2 + 0.25 * self.b * (x[..., 1] ** 2 - 1) ** 2

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        u, v = x[..., 0], x[..., 1]
        return np.stack([self.a * u, self.b * v * (v**2 - 1)], axis=-1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 2)
        v = x[..., 1]
        h11 = np.full_like(v, self.a)
        h22 = self.b * (3 * v**2 - 1)
        zero = np.zeros_like(v)
        return np.stack([np.stack([h11, zero], -1), np.stack([zero, h22], -1)], -2)


class Cliff(Objective):
    r"""A gentle bowl with a cliff: a drop of height :math:`h`, width about :math:`w`, at
    :math:`x_c` (``at``),

    .. math::
        f(x) = \tfrac12 a x^2 + h\,\operatorname{sigmoid}\!\left(\frac{x_c - x}{w}\right),
        \qquad \operatorname{sigmoid}(z) = \frac{1}{1 + e^{-z}} .

    With :math:`u = (x_c - x)/w` and :math:`s = \operatorname{sigmoid}(u)(1 - \operatorname{sigmoid}(u))`:
    :math:`f'(x) = a x - \frac{h}{w} s` and
    :math:`f''(x) = a + \frac{h}{w^2}\, s\,(1 - 2\operatorname{sigmoid}(u))`.
    On the cliff face the slope reaches about :math:`h/(4w)`, far steeper than the bowl.
    """

    dim = 1

    def __init__(self, a: float = 0.5, height: float = 40.0, at: float = -1.0,
                 width: float = 0.1) -> None:
        if not (a > 0 and height > 0 and width > 0):
            raise ValueError(
                f"a, height and width must be positive, got a={a}, height={height}, width={width}"
            )
        self.a, self.height, self.at, self.width = float(a), float(height), float(at), float(width)
        self.name = f"cliff (drop {self.height:g} at x={self.at:g})"

    @property
    def steepest(self) -> float:
        r"""The largest slope of the drop alone, :math:`h / (4w)` (at :math:`x = c`)."""
        return self.height / (4 * self.width)

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        sig, _ = _logistic_parts((self.at - x) / self.width)
        return 0.5 * self.a * x**2 + self.height * sig

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        _, s = _logistic_parts((self.at - x) / self.width)
        return self.a * x - self.height / self.width * s

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        sig, s = _logistic_parts((self.at - x) / self.width)
        second = self.a + self.height / self.width**2 * s * (1 - 2 * sig)
        return second[..., None]


class GentleSlope(Objective):
    r"""A long gentle slope into a round valley: :math:`f(x) = c\,(\sqrt{1 + x^2} - 1)`.

    :math:`f'(x) = c\,x/\sqrt{1+x^2}`, which is almost :math:`\pm c` far from the minimum
    :math:`x^* = 0`, and :math:`f''(x) = c\,(1+x^2)^{-3/2}`.
    """

    dim = 1

    def __init__(self, slope: float = 1.0) -> None:
        if not slope > 0:
            raise ValueError(f"slope must be positive, got {slope}")
        self.slope = float(slope)
        self.name = f"gentle slope (c={self.slope:g})"

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return self.slope * (np.sqrt(1 + x**2) - 1)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return self.slope * x / np.sqrt(1 + x**2)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return (self.slope * (1 + x**2) ** -1.5)[..., None]


#: The wiggly function as a sum of terms :math:`c\,\mathrm{trig}(a x)`: (amplitude c, frequency
#: a, ``True`` for a cosine, ``False`` for a sine).
_WIGGLY_TERMS: tuple[tuple[float, float, bool], ...] = (
    (1.0, 1.0, True),
    (1 / 3, 3.0, False),
    (1 / 5, 5.0, True),
    (1 / 7, 7.0, False),
)


_WIGGLY_BOWL = 0.15**2


class SmoothedWiggly(Objective):
    r"""The wiggly function blurred by Gaussian noise of size :math:`\sigma`:
    :math:`f_\sigma(x) = \mathbb{E}\,f(x + \sigma Z)` with :math:`Z \sim N(0, 1)`.

    Because :math:`\mathbb{E}[(x + \sigma Z)^2] = x^2 + \sigma^2` and
    :math:`\mathbb{E}[\cos(a(x + \sigma Z))] = e^{-a^2\sigma^2/2}\cos(ax)` (the same factor for
    sine), every ripple of frequency :math:`a` is damped by :math:`e^{-a^2\sigma^2/2}`:

    .. math::
        f_\sigma(x) = (0.15)^2 (x^2 + \sigma^2) + e^{-\sigma^2/2}\cos x
        + \tfrac13 e^{-9\sigma^2/2}\sin 3x + \tfrac15 e^{-25\sigma^2/2}\cos 5x
        + \tfrac17 e^{-49\sigma^2/2}\sin 7x .

    ``sigma = 0`` is the wiggly function itself.
    """

    dim = 1

    def __init__(self, sigma: float) -> None:
        sigma = float(sigma)
        if not (np.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigma must be finite and at least 0, got {sigma:g}")
        self.sigma = sigma
        self.name = f"wiggly smoothed with σ = {sigma:g}"

    def damping(self, frequency: float) -> float:
        r"""The factor :math:`e^{-a^2\sigma^2/2}` shrinking a ripple of frequency a."""
        return float(np.exp(-0.5 * (frequency * self.sigma) ** 2))

    def _terms(self, x: Array, derivative: int) -> Array:
        """Sum of the damped ripples' ``derivative``-th derivatives at ``x``."""
        total = np.zeros_like(x)
        for amplitude, a, is_cos in _WIGGLY_TERMS:
            # Each derivative of sin(ax + φ) is a·sin(ax + φ + π/2); cos(ax) = sin(ax + π/2).
            phase = a * x + derivative * np.pi / 2 + (np.pi / 2 if is_cos else 0.0)
            total = total + amplitude * self.damping(a) * a**derivative * np.sin(phase)
        return total

    def value(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)[..., 0]
        return _WIGGLY_BOWL * (x**2 + self.sigma**2) + self._terms(x, 0)

    def grad(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return 2 * _WIGGLY_BOWL * x + self._terms(x, 1)

    def hessian(self, x: ArrayLike) -> Array:
        x = as_points(x, 1)
        return (2 * _WIGGLY_BOWL + self._terms(x, 2))[..., None]


def wiggly_smoothing(sigma: float) -> Objective:
    r"""The wiggly function for ``sigma = 0``, else its Gaussian smoothing :math:`f_\sigma`."""
    return Wiggly() if sigma == 0 else SmoothedWiggly(sigma)


def monte_carlo_smoothing(
    objective: Objective, x: ArrayLike, sigma: float, samples: int = 100_000,
    rng: np.random.Generator | None = None,
) -> Array:
    r"""Estimate :math:`\mathbb{E}\,f(x + \sigma Z)` by averaging over draws :math:`Z \sim N(0, I)`.

    Returns shape ``(...)`` for points ``x`` of shape ``(..., d)``; its standard error is
    :math:`\mathrm{sd}(f(x + \sigma Z))/\sqrt{\text{samples}}`.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x = as_points(x, objective.dim)
    noise = rng.standard_normal((samples, *x.shape))
    return objective.value(x + sigma * noise).mean(axis=0)

