"""Optimizer: the base class of every optimizer (parameter groups, state, state dicts).

An optimizer holds the parameters to train in *parameter groups*: dicts with a ``"params"`` list
and the hyperparameters (``"lr"``, ...) that apply to them. ``step()`` visits every parameter
that has a gradient and replaces its data by the result of the subclass's update rule
:meth:`Optimizer.update`, written with Array API functions only, so one update rule serves
NumPy, CuPy and array-api-strict. The update is functional: it returns new arrays and never
writes into old ones, so a state dict taken earlier never changes under you.

Per-parameter state (momentum buffers, moving averages, step counts) lives in ``self.state``,
keyed by ``id(param)``; arrays there have the parameter's dtype and device.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, 2.0], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.25)
    >>> (w * w).sum().backward()       # dL/dw = 2w = [2, 4]
    >>> opt.step()                     # w <- w - lr * dL/dw
    >>> w
    Tensor([0.5, 1. ], dtype=float32, requires_grad=True)
    >>> opt.zero_grad(); w.grad is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import arguments
from .. import backend as _backend
from .. import recording as _recording
from ..nn.module import Parameter, clear_grads
from ..serialization import to_numpy
from ..tensor import Tensor

ParamsArg = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: subclasses pass their hyperparameter ``defaults`` and define :meth:`update`.

    Args:
        params: an iterable of tensors that require grad (e.g. ``model.parameters()``), or an
            iterable of dicts, each a parameter group: ``{"params": [...], "lr": 0.1, ...}``;
            a hyperparameter missing from a group takes the optimizer's default.
        defaults: every hyperparameter by name, with its default value.

    Example:
        >>> import tinygrad_rnn as tg
        >>> a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
        >>> opt = tg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
        >>> [group["lr"] for group in opt.param_groups]
        [0.1, 0.01]
    """

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (e.g. model.parameters() or [w]), "
                f"got a single Tensor of shape {params.shape}"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}  # id(param) -> that parameter's state
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass e.g. model.parameters()")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        name = type(self).__name__
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{name}: a parameter group is a dict with a 'params' list, got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"{name}: can only optimize leaf tensors (parameters), got one made by '{param.op}'")
            if not param.requires_grad and not isinstance(param, Parameter):  # a frozen Parameter: skipped
                raise ValueError(
                    f"{name}: a tensor of shape {param.shape} does not require grad, so it never gets a gradient; "
                    "create it with requires_grad=True (nn.Parameter does this)"
                )
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {sorted(unknown)}; known: {sorted(self.defaults)}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears twice (in one group or in two groups)")
        full = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(full)
        self.param_groups.append(full)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Refuse a hyperparameter that is not a finite number >= 0 (TypeError for a non-number such
        as None or ``"0.1"``, ValueError for a negative, NaN or infinite one); subclasses add their
        own checks."""
        for key in ("lr", "eps", "weight_decay", "momentum", "dampening", "alpha"):
            if key in group:
                arguments.number(type(self).__name__, key, group[key], minimum=0)

    # --- training ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient before the next backward (``set_to_none=False``: zero
        them in place instead; see :func:`~tinygrad_rnn.nn.module.clear_grads`)."""
        clear_grads((param for group in self.param_groups for param in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (those whose ``grad`` is None are skipped).

        ``closure``, if given, is called first to recompute the loss and its gradients (zero_grad,
        forward, backward); ``step`` returns what it returned (None without a closure), as in PyTorch.
        """
        loss = None if closure is None else closure()
        if _recording.recorder is not None:  # tinygrad_rnn.compile is capturing: record this update
            _recording.recorder.optimizer_step(self)
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.data
                if tuple(grad.shape) != param.shape or not _backend.same_dtype(grad, param):
                    raise ValueError(
                        f"{type(self).__name__}.step: the gradient has shape {tuple(grad.shape)} and dtype "
                        f"{_backend.dtype_name(grad.dtype)}, but the parameter has shape {param.shape} and dtype "
                        f"{_backend.dtype_name(param.dtype)}"
                    )
                state = self.state.setdefault(id(param), {})
                param.data = self.update(param.xp, param.data, grad, state, group)
        return loss

    def update(self, xp: Any, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        """The update rule: return the new value of ``param`` (an array) and update ``state``.

        ``xp`` is the arrays' Array API namespace; ``state`` is this parameter's state (empty at
        the first step); ``group`` holds the hyperparameters.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    # --- state dicts ------------------------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [param for group in self.param_groups for param in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, with parameters referred to by index (their order across groups).

        ``{"state": {index: {name: Tensor or int}}, "param_groups": [{hyperparameters..., "params":
        [indices]}]}`` — PyTorch's layout and state names. The arrays are shared, not copied (the
        optimizer never writes into them). ``tinygrad_rnn.save`` accepts this nested dict.

        Example:
            >>> import tinygrad_rnn as tg
            >>> w = tg.zeros(2, requires_grad=True)
            >>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> w.grad = tg.ones(2); opt.step()
            >>> sd = opt.state_dict()
            >>> sd["state"][0]["momentum_buffer"], sd["param_groups"][0]["params"]
            (Tensor([1., 1.], dtype=float32), [0])
        """
        index = {id(param): i for i, param in enumerate(self._params())}
        state = {}
        for param in self._params():
            if id(param) in self.state:
                state[index[id(param)]] = {
                    key: Tensor._make(value, param._backend, None) if hasattr(value, "shape") else value
                    for key, value in self.state[id(param)].items()
                }
        groups = [
            {**{k: v for k, v in group.items() if k != "params"}, "params": [index[id(p)] for p in group["params"]]}
            for group in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state and hyperparameters saved by :meth:`state_dict`.

        Accepts the nested dict itself, or the flat dict that ``tinygrad_rnn.load`` returns for it
        (keys such as ``state.0.exp_avg`` and ``param_groups.0.lr``). State arrays are moved to
        each parameter's device. Nothing is changed unless every check passes.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{name}.load_state_dict: state_dict must be the dict that optimizer.state_dict() returns "
                f"(or its flat form from tinygrad_rnn.load), got {type(state_dict).__name__}"
            )
        if "param_groups" not in state_dict:
            state_dict = _nest(state_dict)
        if "state" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: state_dict has 'param_groups' but no 'state' entry")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = self._params()
        new_groups = []
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(_as_list(saved["params"])) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(_as_list(saved['params']))} parameters "
                    f"in the state dict, {len(group['params'])} in this optimizer"
                )
            new_group = {
                key: _like(saved[key], value) if key in saved and key != "params" else value
                for key, value in group.items()
            }
            new_groups.append(new_group)
        new_state = {}
        for index, saved in state_dict["state"].items():
            index = int(index)
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, but there are {len(params)}")
            param = params[index]
            new_state[id(param)] = {
                key: _state_value(value, param, f"state {index} {key!r}") for key, value in saved.items()
            }
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in group.items() if key != "params"]
        return "\n".join(lines) + "\n)"


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"state.0.exp_avg": v, "param_groups.0.lr": v}`` -> ``{"state": {0: ...}, "param_groups": [...]}``."""
    state: dict[int, dict[str, Any]] = {}
    groups: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        parts = key.split(".", 2)
        if len(parts) != 3 or parts[0] not in ("state", "param_groups") or not parts[1].isdigit():
            raise ValueError(
                f"optimizer state dict: unexpected key {key!r}; expected 'state.<index>.<name>' or "
                "'param_groups.<index>.<name>' (is this a model's state dict rather than an optimizer's?)"
            )
        (state if parts[0] == "state" else groups).setdefault(int(parts[1]), {})[parts[2]] = value
    return {"state": state, "param_groups": [groups[i] for i in sorted(groups)]}


def _as_list(value: Any) -> list:
    return to_numpy(value).reshape(-1).tolist() if not isinstance(value, list) else value


def _like(value: Any, current: Any) -> Any:
    """A saved hyperparameter as Python data: a tuple where the current one is (``betas``), else a scalar."""
    if isinstance(value, (bool, int, float, tuple)):
        return value
    if isinstance(current, tuple):
        return tuple(_as_list(value))
    return to_numpy(value).item()  # a 0-d array: float, int or bool as saved


def _state_value(value: Any, param: Tensor, where: str) -> Any:
    """A saved state entry for ``param``: an int step count, or an array on the parameter's device."""
    if isinstance(value, (int, float)):
        return value
    array = to_numpy(value)
    if array.ndim == 0 and array.dtype.kind in "iu":  # a step count, saved as a 0-d integer array
        return int(array)
    if tuple(array.shape) != param.shape or not _backend.same_dtype(array, param):
        raise ValueError(
            f"optimizer load_state_dict: {where} has shape {tuple(array.shape)} and dtype {array.dtype}, "
            f"but the parameter has shape {param.shape} and dtype {_backend.dtype_name(param.dtype)}"
        )
    return param._backend.from_numpy(array.copy())
