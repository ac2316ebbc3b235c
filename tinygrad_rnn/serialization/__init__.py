"""Checkpoints: ``save`` a state dict to a file and ``load`` it back, safely.

Two formats, chosen by the file name when saving and by the file's first bytes when loading:

* ``.npz`` (any name but ``*.safetensors``): a zip of ``.npy`` arrays, one per key, in the state
  dict's order. NumPy alone can read it (``np.load(path)``). Written uncompressed, read with the
  limits of :mod:`~tinygrad_rnn.serialization.npz`.
* ``.safetensors``: the format PyTorch and Hugging Face share weights in, through the optional
  ``safetensors`` package (``pip install 'tinygrad-rnn[safetensors]'``); a model saved here loads in
  PyTorch with ``safetensors.torch.load_file`` and back.

Both are written and read without pickle, so loading a file cannot run code. Saving is atomic
(:mod:`~tinygrad_rnn.serialization.atomic`): a crash midway leaves the old checkpoint intact, a
killed save's temporary file is removed by the next save of the same file, a replaced file keeps
its permissions, and a symlink is followed (the file it points to is replaced; the link stays).
Loading never takes more memory than ``max_bytes`` (1 GiB unless you say otherwise), checked
against what the file claims before any data is read.

What can be saved: a mapping from string keys to Tensors, arrays (of any device) or numbers —
a model's ``state_dict()``. Nested mappings, and lists of mappings, are flattened into dotted
keys, so an optimizer's ``state_dict()`` can be saved too: ``{"state": {0: {"exp_avg": ...}}}``
becomes the key ``state.0.exp_avg``. ``load`` returns the flat dict, which
``Optimizer.load_state_dict`` accepts.

Example:
    >>> import os, tempfile
    >>> import tinygrad_rnn as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> tg.save({"encoder.weight": tg.ones(2, 3), "step": 7}, path)
    >>> state = tg.load(path)
    >>> list(state), state["encoder.weight"].shape, state["step"].item()
    (['encoder.weight', 'step'], (2, 3), 7)
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import backend as _backend
from ..tensor import Tensor
from .atomic import replace_atomically
from .npz import NUMERIC_KINDS, check_npz_keys, read_npz, write_npz
from .safetensors_format import looks_like_safetensors, read_safetensors, safetensors_bytes

#: ``load`` refuses files whose arrays would take more memory than this, unless told otherwise.
DEFAULT_MAX_BYTES = 1 << 30

__all__ = ["DEFAULT_MAX_BYTES", "NUMERIC_KINDS", "load", "save", "to_numpy"]


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` to ``path`` atomically and without pickle: ``.npz``, or ``.safetensors`` by name.

    Args:
        state_dict: ``{key: Tensor, array or number}``, e.g. ``model.state_dict()``; nested
            mappings (an optimizer's state dict) are flattened into dotted keys.
        path: the file to write (replaced if it exists; a symlink is followed). A name ending in
            ``.safetensors`` writes that format; any other name an ``.npz`` (no suffix is added).

    Raises:
        TypeError: a key is not a string, a value is not numeric, or ``path`` is not a path.
        ValueError: two entries flatten to the same key (``{"a.b": x, "a": {"b": y}}``), or a key
            NumPy reserves. Nothing is written.
        IsADirectoryError, FileNotFoundError: ``path`` is a directory, or its directory is missing.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> import tinygrad_rnn as tg
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> tg.save({"w": tg.zeros(2)}, path)
        >>> np.load(path)["w"]                  # any NumPy can read it
        array([0., 0.], dtype=float32)
    """
    path = _checked_path("save", path)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a state dict (a mapping of names to tensors), got {type(state_dict).__name__}")
    arrays = flatten_state(state_dict)
    if path.endswith(".safetensors"):
        blob = safetensors_bytes(arrays)  # checked and encoded before the file is touched
        replace_atomically(path, lambda file: file.write(blob))
    else:
        check_npz_keys(arrays)  # before the file is touched
        replace_atomically(path, lambda file: write_npz(file, arrays))


def load(
    path: str | os.PathLike, device: str = "cpu", max_bytes: int | None = DEFAULT_MAX_BYTES
) -> OrderedDict[str, Tensor]:
    """Read a checkpoint written by :func:`save` (an ``.npz`` or ``.safetensors`` file).

    Args:
        path: the file.
        device: where to put the tensors: ``"cpu"``, ``"cuda"`` or ``"array_api_strict"``.
        max_bytes: the most bytes of array data the file may hold (default 1 GiB); checked against
            the sizes the file claims before anything is read. ``None``: no limit (trusted files).

    Returns:
        An OrderedDict of Tensors in the saved order, bit-exact copies of the saved arrays.

    Raises:
        TypeError: ``path`` is not a path.
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not a checkpoint (not an ``.npz`` or safetensors file, truncated,
            corrupt, holding pickled objects or text, claiming sizes it does not hold) or holds
            more than ``max_bytes``.

    Example:
        >>> import os, tempfile
        >>> import tinygrad_rnn as tg
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> tg.save({"w": tg.Tensor([1.5], dtype="float64")}, path)
        >>> tg.load(path)["w"]
        Tensor([1.5], dtype=float64)
    """
    path = _checked_path("load", path)
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
        raise TypeError(f"load: max_bytes must be a whole number of bytes >= 0 or None, got {max_bytes!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path!r} is a directory, not a checkpoint file")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"load: no checkpoint file at {path!r}; check the path (or write one with tinygrad_rnn.save)"
        )
    with open(path, "rb") as file:
        head = file.read(9)
        try:
            if head[:6] == b"\x93NUMPY":
                raise ValueError("it holds a single .npy array (np.save), not an .npz archive of named arrays")
            if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip file starts with a local header (or is empty)
                file.seek(0)
                arrays = read_npz(file, max_bytes)
            elif looks_like_safetensors(head):
                arrays = read_safetensors(file, max_bytes)
            else:
                raise ValueError("it is neither an .npz (zip) nor a safetensors file")
        except ValueError as error:
            raise _not_a_checkpoint(path, str(error)) from None
    return OrderedDict((key, Tensor(array, device=device)) for key, array in arrays.items())


def _checked_path(op: str, path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a file name (str or os.PathLike), got {type(path).__name__} {path!r}")
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    return path


def _not_a_checkpoint(path: str, reason: str) -> ValueError:
    return ValueError(
        f"load: {path!r} is not a valid checkpoint: {reason}. A checkpoint is an .npz or .safetensors file of "
        "numeric arrays, as written by tinygrad_rnn.save; if this one was truncated or corrupted (e.g. by an "
        "interrupted copy), use another copy"
    )


def flatten_state(state_dict: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """The flat ``{dotted key: NumPy array}`` of a (nested) state dict; two entries with one key refused.

    Example:
        >>> flatten_state({"a.b": 1, "a": {"b": 2}})
        Traceback (most recent call last):
        ValueError: save: two entries flatten to the key 'a.b' (e.g. 'a.b' and 'a' -> 'b'); rename one, ...
    """
    arrays: OrderedDict[str, np.ndarray] = OrderedDict()
    for key, array in _flatten(state_dict, ""):
        if key in arrays:
            raise ValueError(
                f"save: two entries flatten to the key {key!r} (e.g. {key!r} and "
                f"{key.rsplit('.', 1)[0]!r} -> {key.rsplit('.', 1)[-1]!r}); rename one, nothing was written"
            )
        arrays[key] = array
    return arrays


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, np.ndarray]]:
    """(dotted key, NumPy array) pairs; mappings and lists of mappings are opened up."""
    if isinstance(value, Mapping) or (isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping)):
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: keys must be strings, got {key!r} of type {type(key).__name__}")
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return
    array = to_numpy(value)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(
            f"save: the value of {prefix!r} has dtype {array.dtype} ({type(value).__name__}); only numeric "
            "arrays, tensors and numbers can be saved (checkpoints hold no pickled objects)"
        )
    yield prefix, array


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy array from a Tensor, an array of any device, or Python data (numbers, lists).

    Example:
        >>> import tinygrad_rnn as tg
        >>> to_numpy(tg.ones(2)), to_numpy(3)
        (array([1., 1.], dtype=float32), array(3))
    """
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "__array_namespace__") and not isinstance(value, (np.ndarray, np.generic)):
        return _backend.backend_of(value).to_numpy(value)
    return np.asarray(value)
