"""Checkpoints: ``save`` a state dict to a NumPy ``.npz`` file and ``load`` it back.

The file is a plain ``.npz`` (a zip of ``.npy`` arrays, one per key, in the state dict's order),
written and read without pickle, so loading a file cannot run code, and NumPy alone can read it
(``np.load(path)``). Saving is atomic: the arrays go to a temporary file in the same directory,
which is flushed to disk and then renamed onto the target (``os.replace``), so a crash midway
leaves the old checkpoint intact, never half a file.

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
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import backend as _backend
from .tensor import Tensor

NUMERIC_KINDS = "biufc"  # NumPy dtype kinds a checkpoint holds: bool, int, uint, float, complex

# np.savez(file, *args, allow_pickle=..., **arrays): keys equal to its own argument names would clash
_RESERVED_KEYS = ("file", "allow_pickle", "args", "kwds")


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` to ``path`` as an ``.npz`` file, atomically and without pickle.

    Args:
        state_dict: ``{key: Tensor, array or number}``, e.g. ``model.state_dict()``; nested
            mappings (an optimizer's state dict) are flattened into dotted keys.
        path: the file to write (replaced if it exists). NumPy adds no suffix: the name is kept.

    Raises:
        TypeError: a key is not a string or a value is not numeric (nothing is written).

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> import tinygrad_rnn as tg
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> tg.save({"w": tg.zeros(2)}, path)
        >>> np.load(path)["w"]                  # any NumPy can read it
        array([0., 0.], dtype=float32)
    """
    path = os.fspath(path)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a state dict (a mapping of names to tensors), got {type(state_dict).__name__}")
    arrays = OrderedDict(_flatten(state_dict, ""))
    clashes = [key for key in arrays if key in _RESERVED_KEYS]
    if clashes:
        raise ValueError(
            f"save: the keys {clashes} cannot be stored in an .npz file (NumPy reserves them); rename them"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory {directory!r} does not exist; create it first (os.makedirs)")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    # O_EXCL: never reuse an existing file; mode 0o666 minus the umask, as for any new file
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(temporary, path)  # atomic: readers see the old file or the new one, never half of one
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself durable
        directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def load(path: str | os.PathLike, device: str = "cpu") -> OrderedDict[str, Tensor]:
    """Read a checkpoint written by :func:`save` (or any ``.npz`` of numeric arrays).

    Args:
        path: the ``.npz`` file.
        device: where to put the tensors: ``"cpu"``, ``"cuda"`` or ``"array_api_strict"``.

    Returns:
        An OrderedDict of Tensors in the saved order, bit-exact copies of the saved arrays.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not a checkpoint (not an ``.npz``, truncated, corrupt, or holding
            pickled objects).

    Example:
        >>> import os, tempfile
        >>> import tinygrad_rnn as tg
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> tg.save({"w": tg.Tensor([1.5], dtype="float64")}, path)
        >>> tg.load(path)["w"]
        Tensor([1.5], dtype=float64)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"load: no checkpoint file at {path!r}; check the path (or write one with tinygrad_rnn.save)"
        )
    with open(path, "rb") as file:
        magic = file.read(6)
    if magic == b"\x93NUMPY":
        raise _not_a_checkpoint(path, "it holds a single .npy array (np.save), not an .npz archive of named arrays")
    if magic[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip file starts with a local header (or is empty)
        raise _not_a_checkpoint(path, "it is not an .npz (zip) file")
    try:
        with np.load(path, allow_pickle=False) as archive:  # members are read and CRC-checked here
            arrays = OrderedDict((key, archive[key]) for key in archive.files)
        for key, array in arrays.items():
            if not isinstance(array, np.ndarray):
                raise ValueError(f"its member {key!r} is not a .npy array")
            if array.dtype.kind not in NUMERIC_KINDS:  # what save never writes: text, records, ...
                raise ValueError(f"its member {key!r} has dtype {array.dtype}, not a numeric one")
    except zipfile.BadZipFile as error:
        raise _not_a_checkpoint(path, f"the zip archive is truncated or damaged ({error})") from None
    except (ValueError, OSError, EOFError, KeyError) as error:
        raise _not_a_checkpoint(path, str(error)) from None
    return OrderedDict((key, Tensor(array, device=device)) for key, array in arrays.items())


def _not_a_checkpoint(path: str, reason: str) -> ValueError:
    return ValueError(
        f"load: {path!r} is not a valid checkpoint: {reason}. A checkpoint is an .npz file of numeric arrays, "
        "as written by tinygrad_rnn.save; if this one was truncated or corrupted (e.g. by an interrupted copy), "
        "use another copy"
    )


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
