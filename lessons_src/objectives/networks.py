r"""Models trained on real data: softmax regression and a one-hidden-layer perceptron, in numpy.

Both are finite sums over training examples (:class:`~lessons_src.objectives.base.FiniteSum`),
so every optimizer of the package, mini-batch SGD included, trains them through the same
:func:`lessons_src.run`. The parameters of a model are one flat vector :math:`\theta` (shape
``(..., p)`` for a batch of models, as for every objective); :meth:`unpack` shows the weight
matrices inside it. The loss is the mean cross-entropy

.. math::
    f(\theta) = \frac1N \sum_{i=1}^N -\log \operatorname{softmax}(z_i)_{y_i}
    + \frac{\lambda}{2}\|W\|^2,

where :math:`z_i` are the model's scores for example :math:`i` and :math:`\lambda` an optional
L2 penalty on the weights (not the biases). With ``loss="squared"`` the data term is instead the
squared error to the one-hot label :math:`e_{y_i}`, :math:`\frac1{2N}\sum_i \|z_i - e_{y_i}\|^2`
(the loss of Cohen et al., 2021, whose sharpness does not fade as the fit becomes perfect).
Gradients are written out by backpropagation and checked against finite differences in the
tests. Hessian-vector products :math:`\nabla^2 f(\theta)\,v` are exact: :meth:`hvp`
differentiates the backward pass along :math:`v` (Pearlmutter's R-operator, forward-over-backward),
at the cost of about two gradients, without forming the :math:`p \times p` Hessian.
:meth:`hessian` is a finite-difference Jacobian of the gradient.

The data: :func:`load_digits` reads the 1,797 handwritten digits (8 × 8 pixels, 0–16) that the
repository holds in ``lessons_src/data/digits.npz`` (the UCI optical digits test set, as
scikit-learn ships it); nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .base import Array, Objective, as_direction, as_points


class Digits(NamedTuple):
    """Images as rows of 64 pixels scaled to [0, 1], and their labels 0–9."""

    images: Array
    labels: np.ndarray


def load_digits() -> Digits:
    """The 1,797 8 × 8 handwritten digits, pixels scaled to [0, 1] (from the file in the package)."""
    from importlib import resources  # here, not at the top: it costs ~20 ms of `import lessons_src`

    with resources.files("lessons_src.data").joinpath("digits.npz").open("rb") as handle:
        data = np.load(handle)
        return Digits(data["images"].astype(float) / 16.0, data["labels"].astype(int))


def split(data: Digits, validation: float = 0.25, seed: int = 0) -> tuple[Digits, Digits]:
    """A seeded random split into a training and a validation set."""
    if not 0 < validation < 1:
        raise ValueError(f"validation must be a fraction in (0, 1), got {validation!r}")
    order = np.random.default_rng(seed).permutation(len(data.labels))
    cut = round(len(order) * (1 - validation))
    train, held = order[:cut], order[cut:]
    return (Digits(data.images[train], data.labels[train]),
            Digits(data.images[held], data.labels[held]))


#: The data terms a classifier can be trained with.
LOSSES = ("cross_entropy", "squared")


#: points times examples per block of :meth:`_Classifier.value` and ``grad`` (activations of a few
#: megabytes, which stay in cache)
_BLOCK_ENTRIES = 2**14


def _log_softmax(scores: Array) -> Array:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class _Classifier(Objective):
    """What softmax regression and the perceptron share: data, loss, mini-batches, accuracy."""

    def __init__(self, inputs: ArrayLike, labels: ArrayLike, classes: int, weight_decay: float,
                 loss: str = "cross_entropy") -> None:
        X = np.asarray(inputs, dtype=float)
        y = np.asarray(labels)
        if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
            raise ValueError(f"inputs must be (N, d) and labels (N,), got {X.shape} and {y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= classes:
            raise ValueError(f"labels must be integers in [0, {classes}), got {np.unique(y)[:12]}")
        if not (np.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be finite and at least 0, got {weight_decay!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.loss = loss
        self.X, self.y, self.classes = X, y.astype(int), int(classes)
        self.weight_decay = float(weight_decay)
        self._onehot = np.eye(self.classes)[self.y]

    @property
    def n_examples(self) -> int:
        return int(self.y.size)

    def scores(self, theta: ArrayLike, inputs: ArrayLike | None = None) -> Array:
        """Class scores :math:`z`, shape ``(..., N, classes)``."""
        return self._forward(as_points(theta, self.dim), self.X if inputs is None else inputs)[-1]

    def predict(self, theta: ArrayLike, inputs: ArrayLike | None = None) -> np.ndarray:
        """The most likely class of each example, shape ``(..., N)``."""
        return self.scores(theta, inputs).argmax(axis=-1)

    def accuracy(self, theta: ArrayLike, inputs: ArrayLike | None = None,
                 labels: ArrayLike | None = None) -> Array:
        """The fraction of examples classified right (training data unless others are given)."""
        labels = self.y if labels is None else np.asarray(labels)
        return (self.predict(theta, inputs) == labels).mean(axis=-1)

    def loss_on(self, theta: ArrayLike, inputs: ArrayLike, labels: ArrayLike) -> Array:
        """The mean loss on other data (a validation set), without the penalty."""
        if self.loss == "squared":
            onehot = np.eye(self.classes)[np.asarray(labels)]
            return 0.5 * ((self.scores(theta, inputs) - onehot) ** 2).sum(-1).mean(-1)
        log_p = _log_softmax(self.scores(theta, inputs))             # (..., N, classes)
        picked = np.broadcast_to(np.asarray(labels)[:, None], (*log_p.shape[:-1], 1))
        return -np.take_along_axis(log_p, picked, axis=-1)[..., 0].mean(-1)

    def _select(self, index: ArrayLike | None) -> tuple[Array, Array]:
        if index is None:
            return self.X, self._onehot
        index = np.asarray(index)
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError("example indices must be integers")
        return self.X[index], self._onehot[index]

    def _data_loss(self, scores: Array, onehot: Array) -> Array:
        """The mean data term of the scores :math:`z` ``(..., n, classes)``."""
        if self.loss == "squared":
            return 0.5 * ((scores - onehot) ** 2).sum(-1).mean(-1)
        return -(onehot * _log_softmax(scores)).sum(-1).mean(-1)

    def _d_scores(self, scores: Array, onehot: Array) -> Array:
        r""":math:`\partial f/\partial z` of the data term, the shape of the scores."""
        if self.loss == "squared":
            return (scores - onehot) / scores.shape[-2]
        return (np.exp(_log_softmax(scores)) - onehot) / scores.shape[-2]

    def _penalty(self, theta: Array) -> Array:
        return 0.5 * self.weight_decay * ((theta * self._weight_mask()) ** 2).sum(-1)

    def _grad(self, theta: Array, index: ArrayLike | None) -> Array:
        """The gradient alone (the loss, which a step does not use, is not computed)."""
        X, onehot = self._select(index)
        activations = self._forward(theta, X)
        grad = self._backward(theta, X, activations, self._d_scores(activations[-1], onehot))
        return grad + self.weight_decay * theta * self._weight_mask()

    def _in_blocks(self, function: Callable[[Array], Array], theta: Array) -> Array:
        """``function`` of a batch of points, a block of points at a time: a whole trajectory at
        once makes activations of hundreds of megabytes, slower to write than to compute. The
        points are independent, so the result is the same to the last bit."""
        batch = theta.shape[:-1]
        block = max(1, _BLOCK_ENTRIES // self.n_examples)
        if int(np.prod(batch)) <= block:
            return function(theta)
        flat = theta.reshape(-1, self.dim)
        parts = [function(flat[start:start + block]) for start in range(0, flat.shape[0], block)]
        result = np.concatenate(parts)
        return result.reshape(*batch, *result.shape[1:])

    def _value(self, theta: Array) -> Array:
        return self._data_loss(self._forward(theta, self.X)[-1], self._onehot) + self._penalty(theta)

    def value(self, theta: ArrayLike) -> Array:
        """The loss: the forward pass alone, without the backward pass that :meth:`grad` adds."""
        return self._in_blocks(self._value, as_points(theta, self.dim))

    def grad(self, theta: ArrayLike) -> Array:
        return self._in_blocks(lambda block: self._grad(block, None), as_points(theta, self.dim))

    def minibatch_grad(self, theta: ArrayLike, index: ArrayLike) -> Array:
        r"""The gradient of the mean loss over the examples in ``index``, unbiased for ∇f."""
        return self._grad(as_points(theta, self.dim), index)

    def hvp(self, theta: ArrayLike, vector: ArrayLike) -> Array:
        r"""The exact Hessian-vector product :math:`\nabla^2 f(\theta)\, v`, shape ``(..., p)``.

        Pearlmutter's R-operator: with :math:`\mathcal R\{\cdot\} = \frac{d}{dt}(\cdot)
        \big|_{\theta + t v}`, the forward pass gives :math:`\mathcal R\{z\}`, the change of the
        scores, and the backward pass, differentiated the same way, gives
        :math:`\mathcal R\{\nabla f\} = \nabla^2 f\, v`. For the cross-entropy,
        :math:`\mathcal R\{\partial f/\partial z\} = (\operatorname{diag} p - p p^\top)
        \mathcal R\{z\} / N`; for the squared error, :math:`\mathcal R\{z\} / N`. ``theta`` and
        ``vector`` broadcast against each other (one direction per run of a batch of models).

        >>> digits = load_digits()
        >>> model = MLP(digits.images[:50], digits.labels[:50], hidden=4)
        >>> model.hvp(model.initial_point(0), np.ones(model.dim)).shape
        (310,)
        """
        return self.hvp_at(theta)(vector)

    def hvp_at(self, theta: ArrayLike) -> Callable[[ArrayLike], Array]:
        r"""The product :math:`v \mapsto \nabla^2 f(\theta)\, v` at a fixed :math:`\theta`, for many
        products at one point (power iteration): what depends on :math:`\theta` alone (the forward
        pass, :math:`\partial f/\partial z`) is computed once, here, for the points of ``theta``
        (not for every direction they broadcast against), and each product gives the same numbers
        as :meth:`hvp`. ``theta`` is copied.

        >>> digits = load_digits()
        >>> model = MLP(digits.images[:50], digits.labels[:50], hidden=4)
        >>> product, theta = model.hvp_at(model.initial_point(0)), model.initial_point(0)
        >>> v = np.ones(model.dim)
        >>> bool(np.array_equal(product(v), model.hvp(theta, v)))
        True
        """
        theta = np.array(as_points(theta, self.dim))
        parts = self._at_point(theta)

        def product(vector: ArrayLike) -> Array:
            direction = as_direction(vector, self.dim, "theta")
            direction = np.broadcast_to(direction, np.broadcast_shapes(theta.shape, direction.shape))
            r_activations = self._forward_r(direction, self.X, parts)
            n = self.X.shape[0]
            r_scores = r_activations[-1]
            if self.loss == "squared":
                r_d_scores = r_scores / n
            else:
                p = parts["p"]
                r_d_scores = p * (r_scores - (p * r_scores).sum(-1, keepdims=True)) / n
            hv = self._backward_r(direction, self.X, parts, r_activations, r_d_scores)
            return hv + self.weight_decay * direction * self._weight_mask()

        return product

    def _at_point(self, theta: Array) -> dict[str, Array]:
        """What a Hessian-vector product at ``theta`` needs of ``theta`` alone."""
        activations = self._forward(theta, self.X)
        n = self.X.shape[0]
        parts = {"theta": theta, "activations": activations}
        if self.loss == "squared":                              # ∂f/∂z = (z - e_y)/N
            parts["d_scores"] = (activations[-1] - self._onehot) / n
        else:
            parts["p"] = np.exp(_log_softmax(activations[-1]))
            parts["d_scores"] = (parts["p"] - self._onehot) / n
        return parts

    def hessian(self, theta: ArrayLike, h: float = 1e-5) -> Array:
        """A finite-difference Hessian (central differences of the gradient), shape ``(..., p, p)``."""
        theta = as_points(theta, self.dim)
        columns = []
        for j in range(self.dim):
            step = np.zeros(self.dim)
            step[j] = h
            columns.append((self.grad(theta + step) - self.grad(theta - step)) / (2 * h))
        H = np.stack(columns, axis=-1)
        return (H + np.swapaxes(H, -1, -2)) / 2


class SoftmaxRegression(_Classifier):
    r"""Multinomial logistic regression: scores :math:`z = W^\top x + b`, :math:`W` of shape
    ``(d, classes)``; :math:`\theta = (W, b)` flattened. The loss is convex in :math:`\theta`."""

    def __init__(self, inputs: ArrayLike, labels: ArrayLike, classes: int = 10,
                 weight_decay: float = 0.0, loss: str = "cross_entropy") -> None:
        super().__init__(inputs, labels, classes, weight_decay, loss)
        self.features = self.X.shape[1]
        self.dim = (self.features + 1) * self.classes
        self.name = f"softmax regression, {self.n_examples} examples, {self.classes} classes"

    def unpack(self, theta: ArrayLike) -> tuple[Array, Array]:
        """The weights :math:`W` ``(..., d, classes)`` and biases :math:`b` ``(..., classes)``."""
        theta = as_points(theta, self.dim)
        d, k = self.features, self.classes
        return theta[..., : d * k].reshape(*theta.shape[:-1], d, k), theta[..., d * k:]

    def initial_point(self, seed: int = 0) -> Array:
        """All zeros: every class equally likely (the loss is convex, any start will do)."""
        return np.zeros(self.dim)

    def _weight_mask(self) -> Array:
        mask = np.zeros(self.dim)
        mask[: self.features * self.classes] = 1.0
        return mask

    def _forward(self, theta: Array, X: Array) -> list[Array]:
        W, b = self.unpack(theta)
        return [X @ W + b[..., None, :]]

    def _backward(self, theta: Array, X: Array, activations: list[Array], d_scores: Array) -> Array:
        dW = np.swapaxes(X, -1, -2) @ d_scores                # (..., d, classes)
        db = d_scores.sum(-2)
        return np.concatenate([dW.reshape(*dW.shape[:-2], -1), db], axis=-1)

    def _forward_r(self, vector: Array, X: Array, parts: dict[str, Array]) -> list[Array]:
        V, c = self.unpack(vector)                             # R{z} = X V + c
        return [X @ V + c[..., None, :]]

    def _backward_r(self, vector: Array, X: Array, parts: dict[str, Array], r_activations: list[Array],
                    r_d_scores: Array) -> Array:
        # the gradient is linear in ∂f/∂z
        return self._backward(parts["theta"], X, parts["activations"], r_d_scores)


class MLP(_Classifier):
    r"""A perceptron with one hidden layer of ``hidden`` tanh units:

    .. math::
        h = \tanh(W_1^\top x + b_1), \qquad z = W_2^\top h + b_2,

    :math:`\theta = (W_1, b_1, W_2, b_2)` flattened. The loss is not convex: start from
    :meth:`initial_point` (small random weights; the zero point is a saddle where every hidden
    unit is the same).
    """

    def __init__(self, inputs: ArrayLike, labels: ArrayLike, hidden: int = 32, classes: int = 10,
                 weight_decay: float = 0.0, loss: str = "cross_entropy") -> None:
        super().__init__(inputs, labels, classes, weight_decay, loss)
        if isinstance(hidden, bool) or int(hidden) != hidden or hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
        self.features, self.hidden = self.X.shape[1], int(hidden)
        d, h, k = self.features, self.hidden, self.classes
        self.sizes = (d * h, h, h * k, k)
        #: the shapes of W_1, b_1, W_2, b_2, in the order they sit in θ (for a rule per layer)
        self.shapes = ((d, h), (h,), (h, k), (k,))
        self.dim = sum(self.sizes)
        ends = np.cumsum(self.sizes)
        self._blocks = tuple(slice(end - size, end) for size, end in zip(self.sizes, ends, strict=True))
        self.name = f"perceptron {d}-{h}-{k}, {self.n_examples} examples"

    def unpack(self, theta: ArrayLike) -> tuple[Array, Array, Array, Array]:
        """:math:`W_1` ``(..., d, hidden)``, :math:`b_1`, :math:`W_2` ``(..., hidden, classes)``,
        :math:`b_2`."""
        theta = as_points(theta, self.dim)
        batch = theta.shape[:-1]
        w1, b1, w2, b2 = (theta[..., block] for block in self._blocks)
        return (w1.reshape(*batch, self.features, self.hidden), b1,
                w2.reshape(*batch, self.hidden, self.classes), b2)

    def initial_point(self, seed: int = 0) -> Array:
        r"""Weights drawn from :math:`N(0, 1/\text{fan-in})`, biases zero (seeded)."""
        rng = np.random.default_rng(seed)
        d, h, k = self.features, self.hidden, self.classes
        return np.concatenate([rng.normal(0, 1 / np.sqrt(d), d * h), np.zeros(h),
                               rng.normal(0, 1 / np.sqrt(h), h * k), np.zeros(k)])

    def _weight_mask(self) -> Array:
        d, h, k = self.features, self.hidden, self.classes
        return np.concatenate([np.ones(d * h), np.zeros(h), np.ones(h * k), np.zeros(k)])

    def _forward(self, theta: Array, X: Array) -> list[Array]:
        w1, b1, w2, b2 = self.unpack(theta)
        hidden = np.tanh(X @ w1 + b1[..., None, :])
        return [hidden, hidden @ w2 + b2[..., None, :]]

    def _backward(self, theta: Array, X: Array, activations: list[Array], d_scores: Array) -> Array:
        _, _, w2, _ = self.unpack(theta)
        hidden = activations[0]
        dw2 = np.swapaxes(hidden, -1, -2) @ d_scores
        db2 = d_scores.sum(-2)
        d_hidden = (d_scores @ np.swapaxes(w2, -1, -2)) * (1 - hidden**2)
        dw1 = np.swapaxes(X, -1, -2) @ d_hidden
        db1 = d_hidden.sum(-2)
        batch = theta.shape[:-1]
        return np.concatenate([dw1.reshape(*batch, -1), np.broadcast_to(db1, (*batch, self.hidden)),
                               dw2.reshape(*batch, -1), np.broadcast_to(db2, (*batch, self.classes))],
                              axis=-1)

    def _at_point(self, theta: Array) -> dict[str, Array]:
        parts = super()._at_point(theta)
        _, _, w2, _ = self.unpack(theta)
        hidden = parts["activations"][0]
        parts["w2"], parts["w2_t"] = w2, np.swapaxes(w2, -1, -2)
        parts["slope"] = 1 - hidden**2                                   # tanh' = 1 - h²
        parts["bend"] = 2 * (parts["d_scores"] @ parts["w2_t"]) * hidden  # 2 (∂f/∂h) ⊙ h
        return parts

    def _forward_r(self, vector: Array, X: Array, parts: dict[str, Array]) -> list[Array]:
        r""":math:`\mathcal R\{h\} = (1 - h^2) \odot (X V_1 + c_1)`,
        :math:`\mathcal R\{z\} = \mathcal R\{h\} W_2 + h V_2 + c_2`."""
        v1, c1, v2, c2 = self.unpack(vector)
        hidden = parts["activations"][0]
        r_hidden = parts["slope"] * (X @ v1 + c1[..., None, :])
        return [r_hidden, r_hidden @ parts["w2"] + hidden @ v2 + c2[..., None, :]]

    def _backward_r(self, vector: Array, X: Array, parts: dict[str, Array], r_activations: list[Array],
                    r_d_scores: Array) -> Array:
        """The backward pass of :meth:`_backward`, differentiated along ``vector``."""
        _, _, v2, _ = self.unpack(vector)
        hidden, r_hidden, d_scores = parts["activations"][0], r_activations[0], parts["d_scores"]
        r_dw2 = np.swapaxes(r_hidden, -1, -2) @ d_scores + np.swapaxes(hidden, -1, -2) @ r_d_scores
        r_db2 = r_d_scores.sum(-2)
        r_d_pre = r_d_scores @ parts["w2_t"] + d_scores @ np.swapaxes(v2, -1, -2)   # R{∂f/∂h}
        r_d_hidden = r_d_pre * parts["slope"] - parts["bend"] * r_hidden
        r_dw1 = np.swapaxes(X, -1, -2) @ r_d_hidden
        r_db1 = r_d_hidden.sum(-2)
        batch = vector.shape[:-1]
        return np.concatenate([r_dw1.reshape(*batch, -1), r_db1, r_dw2.reshape(*batch, -1), r_db2],
                              axis=-1)


class DigitsRace(NamedTuple):
    """Chapter 12's race, for every chapter that runs against it: softmax regression on the digits
    with :math:`\\lambda = 0.01`, its start point, the held-out images, the run length (20 epochs of
    mini-batches of 32 shuffled examples) and the five peak step sizes the schedules were tried at."""

    model: SoftmaxRegression
    validation: Digits
    theta0: Array
    steps: int
    batch_size: int
    peaks: Array


def digits_race() -> DigitsRace:
    """Chapter 12's problem and settings: three quarters of the digits (split seed 0) for training,
    ``weight_decay=0.01``, :math:`\\theta_0 = 0`, 860 steps of batches of 32, peaks 0.25 to 4."""
    train, validation = split(load_digits(), 0.25, seed=0)
    model = SoftmaxRegression(train.images, train.labels, weight_decay=0.01)
    batch_size = 32
    per_epoch = -(-model.n_examples // batch_size)
    return DigitsRace(model, validation, model.initial_point(0), 20 * per_epoch, batch_size,
                      np.array([0.25, 0.5, 1.0, 2.0, 4.0]))
