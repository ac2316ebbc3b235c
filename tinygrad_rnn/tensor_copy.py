"""Copies and pickles of a tensor: a leaf's values, never a graph.

``copy.deepcopy(model)`` (keeping the best weights, say) copies every parameter to a new leaf of
its class with copied values, ``requires_grad``, name and ``.grad``; ``pickle`` (multiprocessing,
``copy.copy``) carries a leaf's values as a NumPy array, its device, ``requires_grad`` and name.
As in PyTorch only leaves copy: a result of ops would need its graph copied too. Files are for
``tinygrad_rnn.save``, which never pickles.

Example:
    >>> import copy
    >>> from tinygrad_rnn import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> kept = copy.deepcopy(w)
    >>> w.data *= 0
    >>> kept.tolist(), kept.requires_grad
    ([1.0, 2.0], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend as _backend


def deep_copy(tensor: Any, memo: dict) -> Any:
    """``Tensor.__deepcopy__``: a new leaf with copied values (and a deep copy of ``.grad``)."""
    data = tensor.xp.asarray(checked_leaf(tensor, "deepcopy").data, copy=True)
    copied = leaf(type(tensor), data, tensor._backend, tensor.requires_grad, tensor.name, tensor.scope)
    memo[id(tensor)] = copied  # one tensor held twice stays one tensor
    if tensor.grad is not None:
        copied.grad = deep_copy(tensor.grad, memo)
    return copied


def reduction(tensor: Any) -> tuple:
    """``Tensor.__reduce__``: how pickle rebuilds a leaf (values, device, requires_grad, name)."""
    checked_leaf(tensor, "pickle (or copy.copy)")
    return (unpickled, (type(tensor), tensor.numpy(), tensor.device, tensor.requires_grad, tensor.name))


def unpickled(cls: type, array: np.ndarray, device: str, requires_grad: bool, name: str | None) -> Any:
    """A pickled tensor back, on its device."""
    backend = _backend.get_backend(device)
    return leaf(cls, backend.from_numpy(array), backend, requires_grad, name)


def checked_leaf(tensor: Any, what: str) -> Any:
    if tensor._ctx is not None:
        raise RuntimeError(
            f"{what}: only leaf tensors can be copied, and this one is the result of op '{tensor._ctx.name}' "
            "(its graph would have to be copied too); copy .detach() for its values, or copy the model, "
            "whose parameters are leaves"
        )
    return tensor


def leaf(cls: type, data: Any, backend: Any, requires_grad: bool, name: str | None, scope: str = "") -> Any:
    """A new leaf of class ``cls`` (Tensor, Parameter) around ``data``."""
    tensor = cls._make(data, backend, None, scope)
    tensor.requires_grad = requires_grad
    if name is not None:
        tensor.name = name
    return tensor
