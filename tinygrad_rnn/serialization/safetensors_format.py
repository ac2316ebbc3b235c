"""The ``.safetensors`` format, the one PyTorch and Hugging Face share weights in.

A safetensors file is an 8-byte header length, a JSON header (each tensor's dtype, shape and byte
range) and the raw bytes: no pickle and no compression, so it can neither run code nor inflate.
Reading and writing go through the ``safetensors`` package (``pip install 'tinygrad-rnn[safetensors]'``).
A model saved here loads in PyTorch with ``safetensors.torch.load_file`` and back.

The format keeps no key order, so ``write_safetensors`` records the state dict's order in the
file's metadata (``tinygrad_rnn.order``) and ``read_safetensors`` restores it; files from elsewhere
come back in the order of their header.

Example:
    >>> import io
    >>> import numpy as np
    >>> blob = safetensors_bytes({"b": np.zeros(2, np.float32), "a": np.ones(1, np.float32)})
    >>> list(read_safetensors(io.BytesIO(blob), max_bytes=None))
    ['b', 'a']
"""

from __future__ import annotations

import io
import json
import struct
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

_ORDER_KEY = "tinygrad_rnn.order"
# the dtypes both the format and NumPy have (safetensors has no complex numbers)
SUPPORTED_DTYPES = ("bool", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
SUPPORTED_DTYPES += ("float16", "float32", "float64")


def _package() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "safetensors files need the 'safetensors' package: pip install 'tinygrad-rnn[safetensors]' "
            "(or save to a .npz file, which needs nothing more)"
        ) from None
    return safetensors.numpy


def looks_like_safetensors(head: bytes) -> bool:
    """A safetensors file starts with the JSON header's length (8 bytes, little-endian), then ``{``."""
    return len(head) >= 9 and head[8:9] == b"{"


def safetensors_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The file's bytes for ``arrays``, their order kept in the metadata."""
    for key, array in arrays.items():
        if array.dtype.name not in SUPPORTED_DTYPES:
            raise TypeError(
                f"save: the value of {key!r} has dtype {array.dtype}, which safetensors files cannot hold "
                f"(they hold {', '.join(SUPPORTED_DTYPES)}); save to a .npz file instead"
            )
    # np.ascontiguousarray would turn a 0-d array into shape (1,); a C-order copy keeps the shape
    contiguous = {key: array if array.flags.c_contiguous else array.copy(order="C") for key, array in arrays.items()}
    return _package().save(contiguous, metadata={_ORDER_KEY: json.dumps(list(arrays))})


def read_safetensors(file: BinaryIO, max_bytes: int | None) -> OrderedDict[str, np.ndarray]:
    """The arrays of an open safetensors file, in the saved order; its size checked before it is read.

    Raises:
        ValueError: the file is not a valid safetensors file, or holds more than ``max_bytes``.
    """
    size = file.seek(0, io.SEEK_END)
    if max_bytes is not None and size > max_bytes:
        raise ValueError(
            f"it holds {size:,} bytes, more than max_bytes={max_bytes:,}; if you trust the file, load it "
            f"with max_bytes={size} (or max_bytes=None for no limit)"
        )
    file.seek(0)
    data = file.read()
    header = _header(data)
    package = _package()
    try:
        arrays = package.load(data)
    except Exception as error:  # noqa: BLE001 - the package raises its own SafetensorError and others
        raise ValueError(f"the safetensors data is invalid ({error})") from None
    order = _saved_order(header, arrays) or [key for key in header if key != "__metadata__"]
    return OrderedDict((key, arrays[key]) for key in order)


def _header(data: bytes) -> dict:
    if len(data) < 8:
        raise ValueError("it is shorter than a safetensors header")
    (length,) = struct.unpack("<Q", data[:8])
    if 8 + length > len(data):
        raise ValueError(f"its header claims {length:,} bytes but the file has {len(data) - 8:,} after the length")
    try:
        header = json.loads(data[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"its header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    return header


def _saved_order(header: dict, arrays: dict) -> list[str] | None:
    """The key order this library wrote into the metadata, if it is there and matches the arrays."""
    metadata = header.get("__metadata__") or {}
    try:
        order = json.loads(metadata.get(_ORDER_KEY, "null"))
    except (TypeError, json.JSONDecodeError):
        return None
    if isinstance(order, list) and sorted(order) == sorted(arrays):
        return order
    return None
