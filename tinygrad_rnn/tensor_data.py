"""What data a Tensor accepts: numbers only, never silently dropped, Python floats as float32.

``Tensor(...)`` takes an array of any Array API library, or Python data (numbers, nested lists).
Arrays of complex numbers, strings, objects or dates are refused (a Tensor never drops the
imaginary part or reads text as numbers); Python floats become float32, as in PyTorch, unless a
dtype is asked for, in which case they are rounded once, to it.

Example:
    >>> from_python([1.5, 2.0]).dtype
    dtype('float32')
    >>> from_python([0.7000001], default_float=False).tolist()
    [0.7000001]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend as _backend

NUMERIC = ("bool", "int", "uint", "float")  # dtype names a Tensor may hold (not complex, str, object, dates)


def check_numeric(dtype: Any, what: str) -> None:
    """Refuse arrays of complex numbers, strings, objects or dates (a Tensor never drops data).

    ``what`` describes the data, up to its dtype ("data of type ndarray with dtype").
    """
    name = _backend.dtype_name(dtype)
    if not name.startswith(NUMERIC):
        hint = " (the imaginary part would be lost: pass .real or abs(x) explicitly)" if "complex" in name else ""
        raise TypeError(
            f"Tensor: expected numbers (bool, int or float), got {what} {name}{hint}; "
            "convert it to a numeric dtype first"
        )


def from_python(data: Any, default_float: bool = True) -> np.ndarray:
    """A NumPy array from Python data, with clear errors; Python floats become float32 (with
    ``default_float``; without it they stay float64, for the caller to cast once to the dtype asked:
    ``Tensor([0.7000001], dtype="float64")`` must not round through float32)."""
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(f"Tensor: the data is ragged (rows of different lengths): {error}") from None
    check_numeric(array.dtype, f"data of type {type(data).__name__} that NumPy reads as dtype")
    # Python numbers and lists, not array-likes with a dtype of their own (np.float64 is a float too)
    from_python = isinstance(data, (float, int, bool, list, tuple)) and not isinstance(data, np.generic)
    if default_float and array.dtype == np.float64 and from_python:
        array = array.astype(np.float32)  # Python floats default to float32, as in PyTorch
    return array


def op_output(data: Any, ctx: Any) -> Any:
    """An op's output that is not a NumPy array (``Tensor._make`` takes those as they are) as an
    array: NumPy's 0-d scalars become arrays, another library's arrays pass; anything else (a
    Tensor, a list) is a protocol error naming the op."""
    if isinstance(data, np.generic):
        return np.asarray(data)
    if hasattr(data, "shape") and hasattr(data, "dtype") and not hasattr(data, "_backend"):
        return data  # an array of another library (CuPy, array-api-strict)
    op = "an op" if ctx is None else f"op '{ctx.name}'"
    raise TypeError(
        f"forward of {op} returned a {type(data).__name__}; Function.forward must return one array of "
        "the inputs' array library (compute it with self.xp from the arrays it receives), not a Tensor or list"
    )
