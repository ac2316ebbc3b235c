"""The ``.npz`` format: a zip of ``.npy`` arrays, written by ``np.savez``, read here with limits.

``np.load`` trusts the file: a member that claims a huge shape gets that memory allocated before a
byte is read, and a small compressed member may inflate to gigabytes (a "zip bomb"). The reader
here trusts nothing it has not checked. For every member, before reading its data:

* the zip's own entry must be a plain ``.npy`` file (stored or deflated, not encrypted);
* the ``.npy`` header's claim, ``prod(shape) * itemsize`` bytes of a numeric dtype, must equal
  exactly what the zip says the member holds;
* all members together must stay within ``max_bytes``.

Only then is the data streamed, a megabyte at a time, into an array of the checked size, so the
memory a file can ask for is what the caller allowed. Every problem is a ``ValueError``.

Example:
    >>> import io, numpy as np
    >>> buffer = io.BytesIO()
    >>> write_npz(buffer, {"w": np.arange(3.0)})
    >>> read_npz(buffer, max_bytes=1024)["w"]
    array([0., 1., 2.])
"""

from __future__ import annotations

import math
import zipfile
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

NUMERIC_KINDS = "biufc"  # NumPy dtype kinds a checkpoint holds: bool, int, uint, float, complex

# np.savez(file, *args, allow_pickle=..., **arrays): keys equal to its own argument names would clash
RESERVED_KEYS = ("file", "allow_pickle", "args", "kwds")

_CHUNK = 1 << 20  # bytes read at a time


def write_npz(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` of ``arrays`` (uncompressed, no pickle) into an open binary file."""
    check_npz_keys(arrays)
    np.savez(file, **arrays)


def check_npz_keys(arrays: dict[str, np.ndarray]) -> None:
    """Refuse the keys ``np.savez`` cannot store (its own argument names)."""
    clashes = [key for key in arrays if key in RESERVED_KEYS]
    if clashes:
        raise ValueError(
            f"save: the keys {clashes} cannot be stored in an .npz file (NumPy reserves them); rename them"
        )


def read_npz(file: Any, max_bytes: int | None) -> OrderedDict[str, np.ndarray]:
    """The arrays of an ``.npz`` (a path or a binary file), in the archive's order, each checked first.

    Raises:
        ValueError: the file is not a valid ``.npz`` of numeric arrays, or holds more than ``max_bytes``.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            members = [_check_member(archive, info) for info in archive.infolist()]
            keys = [key for key, _ in members]
            repeated = sorted({key for key in keys if keys.count(key) > 1})
            if repeated:
                raise ValueError(f"it holds the keys {repeated} more than once")
            total = sum(info.file_size for _, info in members)
            if max_bytes is not None and total > max_bytes:
                raise ValueError(
                    f"its arrays take {total:,} bytes, more than max_bytes={max_bytes:,}; if you trust the file, "
                    f"load it with max_bytes={total} (or max_bytes=None for no limit)"
                )
            return OrderedDict((key, _read_member(archive, info, key)) for key, info in members)
    except zipfile.BadZipFile as error:
        raise ValueError(f"the zip archive is truncated or damaged ({error})") from None
    except (NotImplementedError, RuntimeError, OSError, EOFError, KeyError) as error:
        # zipfile's words for an unsupported compression, an encrypted member, a short read, ...
        raise ValueError(f"{type(error).__name__}: {error}") from None


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, zipfile.ZipInfo]:
    """The member's key, after checking its zip entry (not its data)."""
    if not info.filename.endswith(".npy") or info.is_dir():
        raise ValueError(f"its member {info.filename!r} is not a .npy array")
    if info.flag_bits & 0x1:
        raise ValueError(f"its member {info.filename!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"its member {info.filename!r} uses a compression that .npz files do not use")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise ValueError(f"its member {info.filename!r} claims {info.file_size} bytes but stores {info.compress_size}")
    return info.filename[: -len(".npy")], info


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    """One member's array: its header checked against the zip entry's size, then its data streamed in."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"its member {key!r} is a .npy file of unknown version {version}")
        if dtype.hasobject or dtype.kind not in NUMERIC_KINDS:  # what save never writes: objects, text, records
            raise ValueError(f"its member {key!r} has dtype {dtype}, not a numeric one")
        claimed = math.prod(shape) * dtype.itemsize
        header_size = member.tell()
        if header_size + claimed != info.file_size:
            raise ValueError(
                f"its member {key!r} claims shape {shape} of {dtype} ({claimed:,} bytes) but the archive says "
                f"it holds {info.file_size - header_size:,} bytes of data"
            )
        array = np.empty(shape, dtype=dtype, order="F" if fortran_order else "C")
        buffer = memoryview(array.reshape(-1, order="A").view(np.uint8))
        done = 0
        while done < claimed:
            chunk = member.read(min(_CHUNK, claimed - done))
            if not chunk:
                raise ValueError(f"its member {key!r} ends after {done:,} of {claimed:,} bytes")
            buffer[done : done + len(chunk)] = chunk
            done += len(chunk)
        if member.read(1):
            raise ValueError(f"its member {key!r} holds more bytes than its header claims")
    return array
