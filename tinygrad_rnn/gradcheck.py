"""gradcheck: compare the engine's gradients with central finite differences, in float64.

For ``y = fn(*inputs)`` a fixed random vector ``v`` turns y into the scalar ``L = sum(v * y)``
(for a scalar y, v = 1). The engine gives dL/dx for every input x; the check recomputes each
entry as

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

and compares the two with ``|analytic - numeric| <= atol + rtol * |numeric|``.

Example:
    >>> import numpy as np
    >>> from tinygrad_rnn import Tensor, gradcheck
    >>> x = Tensor(np.array([0.3, -1.2]), requires_grad=True)
    >>> gradcheck(lambda x: (x * x).tanh(), x)
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .autograd import topological_order
from .function import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The engine's gradient and the finite difference disagree."""


def gradcheck(
    fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4, seed: int = 0
) -> bool:
    """True if every gradient of ``fn`` at ``inputs`` matches finite differences; else raises.

    Inputs that require grad are checked; they must be float64 (float32 differences are too
    coarse to check anything). Other arguments are passed through unchanged.
    """
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if str(inputs[i].dtype) != "float64" and not str(inputs[i].dtype).endswith("float64"):
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 inputs "
                "(e.g. Tensor(x).double() or a float64 NumPy array)"
            )
    originals = [x.numpy().copy() if isinstance(x, Tensor) else x for x in inputs]

    def rebuild(values: list) -> list:
        return [
            Tensor(inputs[i]._backend.from_numpy(v), requires_grad=inputs[i].requires_grad)
            if isinstance(inputs[i], Tensor)
            else v
            for i, v in enumerate(values)
        ]

    leaves = rebuild(originals)
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"gradcheck: fn must return a Tensor computed from its inputs with tinygrad_rnn ops, got a "
            f"{type(out).__name__}; a NumPy result has no recorded graph to differentiate (e.g. use "
            "x.tanh(), not np.tanh(x.numpy()))"
        )
    weights = np.random.default_rng(seed).standard_normal(out.shape) if out.shape else np.ones(())
    weights_tensor = Tensor(out._backend.from_numpy(weights))
    # fn may use other tensors that require grad (a model's weights): their .grad is put back as it
    # was after this backward, as PyTorch's gradcheck leaves them (only our own copies get gradients)
    others = [t for t in topological_order(out) if t._ctx is None and all(t is not leaf for leaf in leaves)]
    kept = [t.grad for t in others]
    (out * weights_tensor).sum().backward()
    for tensor, grad in zip(others, kept):
        tensor.grad = grad

    def loss(values: list) -> float:
        with no_grad():
            y = fn(*rebuild(values))
        return float(np.sum(y.numpy() * weights))

    for i in checked:
        analytic = np.zeros_like(originals[i]) if leaves[i].grad is None else leaves[i].grad.numpy()
        for index in np.ndindex(originals[i].shape):
            values = [v.copy() if isinstance(v, np.ndarray) else v for v in originals]
            values[i][index] += eps
            plus = loss(values)
            values[i][index] -= 2 * eps
            minus = loss(values)
            numeric = (plus - minus) / (2 * eps)
            if not abs(analytic[index] - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {originals[i].shape}) at index {index}: "
                    f"engine gradient {analytic[index]!r} but finite difference {numeric!r}"
                )
    return True
