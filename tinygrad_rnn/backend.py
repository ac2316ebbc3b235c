"""Backends: which array library holds a tensor's data, and the few things the Array API lacks.

The engine is written against the Python Array API standard: every op gets its namespace ``xp``
from its inputs' backend and calls only standard functions on it. NumPy (2.1 and later) is its
own standard namespace (with its reductions called directly, see :func:`numpy_namespace`); CuPy's
comes from ``array-api-compat`` (in the ``cuda`` extra); any other
library's from ``array.__array_namespace__()``. One code path therefore serves
NumPy (device ``"cpu"``), CuPy (device ``"cuda"``) and any other standard library, such as
``array_api_strict`` (device ``"array_api_strict"``), which the test suite uses to prove that
nothing outside the standard slipped in.

What the standard does not have lives here, in one place:

* ``scatter_add`` — adding values into an array at integer indices, repeated indices summed
  (the gradient of integer-array indexing, e.g. an embedding lookup);
* random numbers — one NumPy generator seeded by :func:`manual_seed`, so the same seed gives the
  same numbers on every device;
* moving arrays between libraries (``to_numpy`` / ``from_numpy``).

Example:
    >>> import numpy as np
    >>> backend_of(np.zeros(3)).device
    'cpu'
"""

from __future__ import annotations

import math
import threading
import types
from typing import Any

import numpy as np

FLOAT_DTYPES = ("float32", "float64")
#: What NumPy returns for arithmetic on 0-d arrays (a loss's gradient, ``g / T``): a gradient too.
FLOAT_SCALARS = frozenset({np.float32, np.float64})
DEFAULT_FLOAT = "float32"


class DeviceError(RuntimeError):
    """Raised when a device is unavailable or tensors on different devices meet."""


class Backend:
    """One array library: its Array API namespace ``xp`` and the helpers the standard lacks."""

    def __init__(self, device: str, xp: Any):
        self.device = device
        self.xp = xp

    def __repr__(self) -> str:
        return f"Backend({self.device!r})"

    # --- dtypes -----------------------------------------------------------------------------
    def dtype(self, name_or_dtype: Any) -> Any:
        """The library's dtype object for ``"float32"``, ``np.float64``, an existing dtype, ..."""
        if isinstance(name_or_dtype, str):
            name = name_or_dtype
        else:
            name = dtype_name(name_or_dtype)
        try:
            return getattr(self.xp, name)
        except AttributeError:
            raise TypeError(f"dtype {name_or_dtype!r} is not available on device {self.device!r}") from None

    # --- moving data ------------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray) -> Any:
        return self.xp.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    # --- what the standard lacks ------------------------------------------------------------
    def contiguous(self, array: Any) -> Any:
        """``array`` laid out row-major, where that makes products faster (NumPy's BLAS multiplies
        by a transposed view slowly); other libraries get the array as it is."""
        return array

    def scratch_concat(self, arrays: list, slot: int) -> Any:
        """``xp.concat(arrays)`` (along the first axis) for immediate use: the result may be overwritten
        by this thread's next call with the same ``slot``, so the caller must be done with it by then.

        NumPy writes it into a buffer kept per thread, slot, shape and dtype (see NumpyBackend);
        other libraries (CuPy has its own memory pool) make a new array.
        """
        return self.xp.concat(arrays)

    def scatter_add(self, target: Any, index: tuple, values: Any) -> None:
        """``target[index] += values`` in place, where repeated integer indices add up.

        Generic fallback, standard functions only, for the two forms of integer-array index
        the engine forwards on any device (indices already in [0, n)):

        * one integer array ``idx`` among slices and ``...`` (``W[tokens]``, ``x[:, idx]``):
          ``target[basic] += moveaxis(values, axis, -1) @ onehot(idx)``, moved back;
        * an int or integer array on every axis (``logits[rows, targets]``): the same, on the
          flat position of each element, ``target += onehot(flat)^T @ values``.

        The one-hot matrix has one row per index and one column per position: fine for tests
        and small tables; CuPy and NumPy use their own scatter-add instead.
        """
        xp = self.xp
        split = split_array_index(index, target.ndim)
        if split is not None:
            axis, idx, basic = split
            idx = xp.reshape(idx, (-1,))
            part_shape = target[basic].shape
            values = xp.reshape(values, (*part_shape[:axis], idx.shape[0], *part_shape[axis + 1 :]))
            added = xp.moveaxis(values, axis, -1) @ _onehot(xp, idx, part_shape[axis], values.dtype)
            target[basic] += xp.moveaxis(added, -1, axis)
        elif len(index) == target.ndim and all(type(k) is int or hasattr(k, "shape") for k in index):
            index = [k % n if type(k) is int else k for k, n in zip(index, target.shape)]  # x[-1] is x[n - 1]
            flat = sum(k * math.prod(target.shape[i + 1 :]) for i, k in enumerate(index))
            flat, values = (xp.reshape(a, (-1,)) for a in xp.broadcast_arrays(xp.asarray(flat), values))
            onehot = _onehot(xp, flat, math.prod(target.shape), values.dtype)
            target += xp.reshape(onehot.mT @ values, target.shape)
        else:
            raise NotImplementedError(
                f"scatter_add on device {self.device!r}: index {index!r} mixes integer arrays with ints "
                "and slices in a way the Array API standard does not define; index in two steps, e.g. x[0][:, idx]"
            )

    def random(self, kind: str, shape: tuple, dtype: str) -> Any:
        """``kind`` is ``"normal"`` or ``"uniform"``; drawn from the global seeded generator."""
        draw = _generator.standard_normal if kind == "normal" else _generator.random
        return self.from_numpy(draw(shape).astype(dtype))


def split_array_index(index: tuple, ndim: int) -> tuple[int, Any, tuple] | None:
    """For an index holding one integer array among slices and ``...`` (the form the engine
    gathers with ``take``): the axis the array indexes, the array, and the index with the array
    replaced by ``:``. None for any other index.

    Example:
        >>> axis, idx, basic = split_array_index((Ellipsis, np.array([0, 2])), 3)
        >>> axis, idx.tolist(), basic
        (2, [0, 2], (Ellipsis, slice(None, None, None)))
    """
    arrays = [i for i, k in enumerate(index) if hasattr(k, "shape")]
    if len(arrays) != 1 or not all(type(k) is slice or k is Ellipsis for k in index if not hasattr(k, "shape")):
        return None
    position = arrays[0]
    if any(k is Ellipsis for k in index[:position]):  # count from the end
        axis = ndim - len(index) + position
    else:
        axis = position
    return axis, index[position], (*index[:position], slice(None), *index[position + 1 :])


def _onehot(xp: Any, idx: Any, n: int, dtype: Any) -> Any:
    """onehot[r, j] = 1 where idx[r] == j: row r adds into position idx[r]."""
    return xp.astype(idx[:, None] == xp.arange(n)[None, :], dtype)


def numpy_namespace() -> types.ModuleType:
    """NumPy as the engine's namespace: NumPy itself, except that ``sum``, ``max`` and ``min`` call
    the ufunc's ``reduce`` directly, ``astype`` and ``reshape`` the array's method, and ``matmul``
    of two matrices is ``np.dot``.

    Why: ``np.sum`` and friends go through a Python wrapper that costs about a microsecond, more than
    the reduction of a few dozen numbers; a loss at every time step, and every bias gradient, makes
    such reductions. ``np.matmul`` costs about 0.9 µs before it multiplies anything, ``np.dot`` of two
    2-D arrays (the same product) about 0.5 µs, and an RNN step makes three matmuls forward and six
    backward. Results are NumPy's own (the same dtypes, NumPy scalars for full reductions).

    Example:
        >>> xp = numpy_namespace()
        >>> xp.sum(np.ones((2, 3)), axis=1).tolist(), xp.exp is np.exp
        ([3.0, 3.0], True)
        >>> xp.matmul(np.eye(2), np.ones((2, 3))).shape, xp.matmul(np.ones(2), np.ones(2)).shape
        ((2, 3), ())
    """
    namespace = types.ModuleType("numpy", "NumPy, with direct reductions (tinygrad_rnn.backend.numpy_namespace)")
    namespace.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    namespace.__getattr__ = lambda name: getattr(np, name)  # what NumPy loads lazily (np.linalg, ...)

    def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001 - the standard's name
        return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)

    def min(x, /, *, axis=None, keepdims=False):  # noqa: A001
        return np.minimum.reduce(x, axis=axis, keepdims=keepdims)

    def astype(x, dtype, /, *, copy=True):
        return x.astype(dtype, copy=copy)

    def reshape(x, /, shape, *, copy=None):
        return x.reshape(shape, copy=copy)

    def matmul(x1, x2, /):
        # for two matrices np.dot is matmul; every other case (a vector, a batch) is np.matmul's
        return np.dot(x1, x2) if x1.ndim == 2 and x2.ndim == 2 else np.matmul(x1, x2)

    namespace.sum, namespace.max, namespace.min, namespace.astype, namespace.reshape = sum, max, min, astype, reshape
    namespace.matmul = matmul
    return namespace


class NumpyBackend(Backend):
    #: The most memory a thread's :meth:`scratch_concat` buffers hold; a larger stack is made afresh.
    SCRATCH_BYTES = 64 << 20

    def __init__(self, device: str, xp: Any):
        super().__init__(device, xp)
        self._scratch = threading.local()  # .buffers: {(slot, shape, dtype): array}, per thread

    def contiguous(self, array):
        # a copy by the array's own method (np.ascontiguousarray would turn a traced array plain:
        # tinygrad_rnn.compiler.trace must see the copy made)
        return array if array.flags.c_contiguous else array.copy(order="C")

    def scratch_concat(self, arrays, slot):
        # Why a kept buffer: a training step stacks each shared weight's terms once (an LSTM's 50 steps
        # of (32, 512) gradients: 3.2 MB) and drops the stack a moment later. glibc hands a block that
        # large back to the kernel when it is freed, and the next step's stack faults in afresh, page
        # by page: about 0.9 ms of a 25 ms LSTM step on a virtual machine. The same shape comes back
        # at every step, so one buffer per shape serves them all.
        first = arrays[0]
        shape = (sum(a.shape[0] for a in arrays), *first.shape[1:])
        nbytes = math.prod(shape) * first.dtype.itemsize
        if nbytes > self.SCRATCH_BYTES:
            return np.concatenate(arrays)
        buffers = getattr(self._scratch, "buffers", None)
        if buffers is None:
            buffers = self._scratch.buffers = {}
        key = (slot, shape, first.dtype)
        buffer = buffers.get(key)
        if buffer is None:
            if sum(b.nbytes for b in buffers.values()) + nbytes > self.SCRATCH_BYTES:
                buffers.clear()  # shapes changed (a new model, another length): start again
            buffer = buffers[key] = np.empty(shape, first.dtype)
        try:
            return np.concatenate(arrays, out=buffer, casting="no")
        except TypeError:  # arrays of several dtypes: never cast into the buffer, as concat would not
            return np.concatenate(arrays)

    def scatter_add(self, target, index, values):
        np.add.at(target, index, values)

    def from_numpy(self, array):
        return array


class CupyBackend(Backend):
    def scatter_add(self, target, index, values):
        import cupyx

        cupyx.scatter_add(target, index, values)

    def to_numpy(self, array):
        return array.get()


_BY_DEVICE: dict[str, Backend] = {}
_BY_ARRAY_TYPE: dict[type, Backend] = {}
_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``randn``, ``rand``, dropout and layer initialisation.

    Example:
        >>> manual_seed(0)
    """
    global _generator
    _generator = np.random.default_rng(seed)


def numpy_generator() -> np.random.Generator:
    """The global generator (for code that needs NumPy random numbers, e.g. shuffling data)."""
    return _generator


#: The device names ``Tensor.to`` and ``Module.to`` accept (anything else there is a dtype).
DEVICES = ("cpu", "cuda", "gpu", "array_api_strict")


def get_backend(device: str | None) -> Backend:
    """The backend for a device name: ``"cpu"`` (NumPy), ``"cuda"`` or ``"gpu"`` (CuPy), ``"array_api_strict"``."""
    device = "cpu" if device is None else str(device)
    device = "cuda" if device == "gpu" else device  # two names, one device: one backend
    backend = _BY_DEVICE.get(device)
    if backend is not None:
        return backend
    # One backend object per device, even when two threads ask for a new device at once: tensors are
    # on one device when their backends are the same object, so a second "cpu" would refuse to mix.
    with _CREATING:
        backend = _BY_DEVICE.get(device)
        if backend is None:
            backend, array_type = _new_backend(device)
            _BY_ARRAY_TYPE[array_type] = backend
            _BY_DEVICE[device] = backend
    return backend


_CREATING = threading.Lock()


def _new_backend(device: str) -> tuple[Backend, type]:
    """A new backend for ``device``, and the type of its arrays."""
    if device == "cpu":
        return NumpyBackend("cpu", numpy_namespace()), np.ndarray
    if device == "cuda":
        try:
            import array_api_compat
            import cupy
        except ImportError:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed: "
                "pip install 'tinygrad-rnn[cuda]' (on a machine with an NVIDIA GPU and CUDA 12)"
            ) from None
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as error:  # noqa: BLE001 - CuPy raises several types here
            raise DeviceError(f"device 'cuda': CuPy is installed but no GPU is usable ({error})") from None
        return CupyBackend("cuda", array_api_compat.array_namespace(cupy.zeros(0))), cupy.ndarray
    if device == "array_api_strict":
        import array_api_strict

        return Backend("array_api_strict", array_api_strict), type(array_api_strict.asarray(0.0))
    raise DeviceError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'array_api_strict'")


def backend_of(array: Any) -> Backend:
    """The backend an array belongs to (NumPy, CuPy, array-api-strict, or any standard library)."""
    backend = _BY_ARRAY_TYPE.get(type(array))
    if backend is not None:
        return backend
    module = type(array).__module__.split(".")[0]
    if isinstance(array, np.ndarray):
        return get_backend("cpu")
    if module == "cupy":
        return get_backend("cuda")
    if not hasattr(array, "__array_namespace__"):
        raise TypeError(f"{type(array).__name__} is not an array of a library following the Array API standard")
    xp = array.__array_namespace__()
    name = xp.__name__.split(".")[0]
    if name == "array_api_strict":
        return get_backend("array_api_strict")
    backend = _BY_DEVICE.setdefault(name, Backend(name, xp))
    _BY_ARRAY_TYPE[type(array)] = backend
    return backend


_DTYPE_NAMES: dict[tuple, str] = {}


def dtype_name(dtype: Any) -> str:
    """``"float32"`` for ``np.float32``, ``np.dtype('float32')``, ``array_api_strict.float32``, ..."""
    if isinstance(dtype, str):
        return dtype
    key = (type(dtype), dtype)  # the type first: dtypes of different libraries are never compared
    name = _DTYPE_NAMES.get(key)
    if name is None:
        try:
            name = np.dtype(dtype).name
        except Exception:  # noqa: BLE001 - a non-NumPy dtype object
            name = str(dtype).rsplit(".", 1)[-1]
        _DTYPE_NAMES[key] = name
    return name


def same_dtype(a: Any, b: Any) -> bool:
    """Whether two tensors or arrays (of any backends) have the same dtype, compared by name:
    the one dtype check every "must match" error of the library makes.

    Example:
        >>> import numpy as np
        >>> same_dtype(np.zeros(2, np.float32), np.ones(3, np.float32)), same_dtype(np.zeros(2), np.zeros(2, "f4"))
        (True, False)
    """
    return dtype_name(a.dtype) == dtype_name(b.dtype)


_NUMPY_FLOATS = (np.dtype("float32"), np.dtype("float64"))


def is_float(dtype: Any) -> bool:
    # NumPy's (and CuPy's) own dtype objects answer without a name lookup: every elementwise op asks
    return dtype is _NUMPY_FLOATS[0] or dtype is _NUMPY_FLOATS[1] or dtype_name(dtype) in FLOAT_DTYPES


_INT64 = np.dtype("int64")


def is_integer(dtype: Any) -> bool:
    """Whether ``dtype`` holds integers (signed or unsigned, any width): what an index must be.

    Example:
        >>> import numpy as np
        >>> is_integer(np.dtype("int64")), is_integer(np.dtype("uint8")), is_integer(np.dtype("float32"))
        (True, True, False)
    """
    # int64, the dtype of nearly every index, answers without a name lookup (a loss at every step asks)
    return dtype is _INT64 or dtype_name(dtype).startswith(("int", "uint"))
