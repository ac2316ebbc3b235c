"""tinygrad_rnn: a small, readable reverse-mode autodiff library with recurrent networks.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([[0.5]], requires_grad=True)
    >>> h = tg.zeros(1, 1)
    >>> for t in range(3):                      # an unrolled 3-step recurrence
    ...     with tg.scope(f"t={t}"):
    ...         h = (h @ w + 1).tanh()
    >>> h.sum().backward()                      # BPTT is just backward
    >>> w.grad.shape
    (1, 1)
"""

# The core first, from tensor.py, which closes the core's import cycle (see the end of tensor.py);
# then the layers above it, each importing only those below: core -> nn -> {optim, bptt, viz} -> cli.
from .tensor import Tensor  # noqa: I001  (first, not in sorted order)
from . import autograd, backend, ops
from . import nn
from . import bptt, optim, viz
from .anomaly import AnomalyError, detect_anomaly
from .autograd import walk
from .backend import DeviceError, manual_seed
from .compiler import compile  # tinygrad_rnn.compile, like torch.compile
from .creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from .function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .ops import cat, linear, stack, where
from .scope import current_scope, scope
from .serialization import load, save

float32 = "float32"
float64 = "float64"
int64 = "int64"

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "DeviceError",
    "detect_anomaly",
    "Function",
    "GradcheckError",
    "Tensor",
    "arange",
    "autograd",
    "backend",
    "bptt",
    "cat",
    "compile",
    "current_scope",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "full",
    "gradcheck",
    "int64",
    "is_grad_enabled",
    "linear",
    "load",
    "nn",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "ops",
    "optim",
    "rand",
    "randn",
    "save",
    "scope",
    "set_grad_enabled",
    "stack",
    "viz",
    "walk",
    "where",
    "zeros",
    "zeros_like",
]
