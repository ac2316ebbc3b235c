"""Layers without recurrence: Linear, Embedding, Dropout, LayerNorm and the activations.

Each layer holds its parameters under PyTorch's names and shapes, starts them from PyTorch's
default distributions (``reset_parameters``), and computes its output with a function of
:mod:`tinygrad_rnn.nn.functional`. So a PyTorch state dict, converted to arrays, loads into
the same layer here and gives the same numbers.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> tg.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    >>> model(tg.ones(4, 3)).shape
    (4, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import arguments
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter, zeros_parameter

__all__ = ["Dropout", "Embedding", "Identity", "LayerNorm", "Linear", "ReLU", "Sigmoid", "Tanh"]


def tensor_input(layer: str, input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` if it is a Tensor, else a TypeError naming the layer (not an AttributeError inside)."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{layer}: the input must be a Tensor, got {type(input).__name__}; wrap data with tg.Tensor(...)"
        )
    return input


class Linear(Module):
    """y = x W^T + b, applied to the last axis of x.

    Args:
        in_features, out_features: sizes of each input and output row.
        bias: learn an additive bias b.
        device, dtype: where and in which float type to create the parameters.

    Parameters:
        weight: (out_features, in_features);  bias: (out_features,) or None.
        Both start from U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default
        (``kaiming_uniform_(weight, a=sqrt(5))`` is exactly that bound).

    Shapes: input (..., in_features) -> output (..., out_features).

    Example:
        >>> import tinygrad_rnn as tg
        >>> layer = Linear(3, 2)
        >>> layer
        Linear(in_features=3, out_features=2, bias=True)
        >>> layer(tg.ones(5, 3)).shape
        (5, 2)
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: str | None = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = arguments.size("Linear", "in_features", in_features)
        self.out_features = arguments.size("Linear", "out_features", out_features)
        self.weight = zeros_parameter((out_features, in_features), dtype, device)
        self.register_parameter("bias", zeros_parameter((out_features,), dtype, device) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(tensor_input("Linear", input), self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` is the vector of token ``i``.

    Args:
        num_embeddings: size of the vocabulary; embedding_dim: size of each vector.
        padding_idx: a token (e.g. the padding token) whose row starts at zero and is never
            trained (it gets no gradient). Negative values count from the end.

    Parameters:
        weight: (num_embeddings, embedding_dim), from N(0, 1) as in PyTorch.

    Shapes: integer input (*) -> output (*, embedding_dim).

    Example:
        >>> import tinygrad_rnn as tg
        >>> table = Embedding(10, 3, padding_idx=0)
        >>> table
        Embedding(10, 3, padding_idx=0)
        >>> table([[1, 2, 0]]).shape, table.weight[0].tolist()
        ((1, 3, 3), [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = arguments.size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = arguments.size("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = F._padding_index("Embedding", padding_idx, num_embeddings)
        self.padding_idx = padding_idx
        self.weight = zeros_parameter((num_embeddings, embedding_dim), dtype, device)
        self.reset_parameters()

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor | Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding the given (num_embeddings, embedding_dim) table (trainable unless ``freeze``)."""
        embeddings = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {embeddings.shape}")
        table = cls(*embeddings.shape, padding_idx=padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        table.weight = Parameter(embeddings.detach(), requires_grad=not freeze)
        return table

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx, ...] = 0.0

    def forward(self, input: Tensor | Any) -> Tensor:
        if not isinstance(input, Tensor):
            try:
                input = Tensor(input, device=self.weight.device)  # noqa: A001
            except (TypeError, ValueError) as error:
                raise type(error)(f"Embedding: the input must be integer token indices; {error}") from None
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in training mode only.

    ``model.eval()`` turns it off (the identity); ``model.train()`` turns it back on.

    Example:
        >>> import tinygrad_rnn as tg
        >>> drop = Dropout(0.5).eval()
        >>> drop(tg.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        arguments.probability("Dropout", "p", p)
        if inplace:
            raise NotImplementedError(
                "Dropout: inplace=True is not supported: ops keep their inputs for backward, so nothing is "
                "overwritten; use inplace=False and the returned tensor (the same values)"
            )
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(tensor_input("Dropout", input), self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class LayerNorm(Module):
    """Normalise each sample over its last axes, then scale and shift: see :func:`functional.layer_norm`.

    Parameters (if ``elementwise_affine``): weight (ones) and bias (zeros, if ``bias``), both of
    shape ``normalized_shape``.

    Example:
        >>> import tinygrad_rnn as tg
        >>> LayerNorm(4)
        LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
        >>> LayerNorm(4)(tg.randn(2, 4)).shape
        (2, 4)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = arguments.shape("LayerNorm", (normalized_shape,), "normalized_shape")
        arguments.number("LayerNorm", "eps", eps, 0.0)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        weight = zeros_parameter(shape, dtype, device) if elementwise_affine else None
        self.register_parameter("weight", weight)
        self.register_parameter("bias", zeros_parameter(shape, dtype, device) if elementwise_affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for an optional layer).

    Example:
        >>> Identity()(Tensor([1.0, -2.0])).tolist()
        [1.0, -2.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        return input


class Tanh(Module):
    """y = tanh(x), elementwise.

    Example:
        >>> Tanh()(Tensor([0.0])).tolist()
        [0.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class ReLU(Module):
    """y = max(x, 0), elementwise.

    Example:
        >>> ReLU()(Tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        return input.relu()


class Sigmoid(Module):
    """y = 1 / (1 + e^-x), elementwise.

    Example:
        >>> Sigmoid()(Tensor([0.0])).tolist()
        [0.5]
    """

    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()
