"""nn.Module and nn.Parameter: models as trees of modules holding named parameters.

A module's parameters and sub-modules are found by looking at its attributes: assigning a
:class:`Parameter` or a :class:`Module` to ``self.something`` registers it under that name, so
``model.named_parameters()`` yields PyTorch-style dotted names (``encoder.weight_ih_l0``), and
``state_dict()`` / ``load_state_dict()`` move weights in and out by those names. State that is not
trained but belongs to the model (a loss's class weights, say) is a *buffer*:
``self.register_buffer("weight", tensor)``; buffers move with ``to()`` and are saved and loaded
with the parameters, as in PyTorch.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = nn.Parameter(tg.ones(2, 3))
    ...     def forward(self, x):
    ...         return x @ self.weight.T
    >>> model = Affine()
    >>> [name for name, _ in model.named_parameters()]
    ['weight']
    >>> model(tg.ones(1, 3)).shape
    (1, 2)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from .. import backend as _backend
from .. import recording as _recording
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a trainable weight: it requires grad and modules register it.

    Example:
        >>> import tinygrad_rnn as tg
        >>> Parameter(tg.zeros(3)).requires_grad
        True
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def dotted(prefix: str, name: str) -> str:
    """``"encoder.weight"`` from ``"encoder"`` and ``"weight"``; just ``name`` at the top (empty prefix)."""
    return f"{prefix}.{name}" if prefix else name


def clear_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Forget each gradient (``grad = None``, as PyTorch's default), or with ``set_to_none=False``
    fill the existing ones with zeros in place: what ``Module.zero_grad`` and ``Optimizer.zero_grad`` do."""
    for param in params:
        if _recording.recorder is not None:  # tinygrad_rnn.compile is capturing: record this
            _recording.recorder.clear_grad(param, set_to_none)
        if param.grad is not None and not set_to_none:
            param.grad.data[...] = 0
        else:
            param.grad = None


def zeros_parameter(shape: tuple[int, ...], dtype: Any = None, device: str | None = None) -> Parameter:
    """A parameter of ``shape`` filled with zeros, for an initialiser to fill (float32 by default)."""
    from ..creation import zeros

    return Parameter(zeros(shape, dtype=dtype, device=device))


class Module:
    """Base class of every layer and model: subclasses define ``__init__`` and ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers:  # a registered buffer stays a buffer: assign a Tensor (or None)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: buffer {name!r} must be set to a Tensor or None, "
                    f"got {type(value).__name__}"
                )
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        # As in PyTorch, a registered parameter (module) is replaced only by another one or None, never
        # silently unregistered by assigning something else.
        for slots, kind in ((self._parameters, Parameter), (self._modules, Module)):
            if name in slots and value is not None and not isinstance(value, kind):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a {type(value).__name__} to {name!r}, which is a registered "
                    f"{kind.__name__}: assign a {kind.__name__} or None (or `del` it first)"
                )
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._parameters[name] = value  # a replaced parameter keeps its place (PyTorch's order)
            if value.name is None:
                value.name = name
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
        else:  # None, or a plain attribute (the check above lets only None replace a registered one)
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, value: Parameter | None) -> None:
        """Register ``value`` (None for an absent optional parameter, such as a disabled bias)."""
        if value is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, value)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register ``tensor`` as model state that is not trained (None: an absent optional buffer).

        A buffer is reached as ``self.name``, moves with :meth:`to`, and, if ``persistent``, is part
        of :meth:`state_dict` under its dotted name (PyTorch's loss modules keep their class
        weights this way, so their state dicts load here).

        Example:
            >>> import tinygrad_rnn as tg
            >>> from tinygrad_rnn import nn
            >>> m = nn.Module()
            >>> m.register_buffer("scale", tg.ones(2))
            >>> list(m.state_dict())
            ['scale']
        """
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"{type(self).__name__}.register_buffer: the name must be a non-empty string without '.', got {name!r}"
            )
        if tensor is not None and (not isinstance(tensor, Tensor) or isinstance(tensor, Parameter)):
            raise TypeError(
                f"{type(self).__name__}.register_buffer: {name!r} must be a Tensor or None, got "
                f"{type(tensor).__name__} (a trainable Parameter is registered by assigning it)"
            )
        if name in self._parameters or name in self._modules:
            raise KeyError(f"{type(self).__name__}.register_buffer: {name!r} is already a parameter or a module")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module) -> None:
        """Register ``module`` as the child ``name`` (the same as ``setattr(self, name, module)``)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} is a {type(module).__name__}, not a Module")
        setattr(self, name, module)

    register_module = add_module  # PyTorch's other name for it

    # --- running ---------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every module below this one, then on this one (children first,
        as PyTorch does): the usual way to initialise weights by layer type.

        Example:
            >>> import tinygrad_rnn as tg
            >>> from tinygrad_rnn import nn
            >>> def init(m):
            ...     if isinstance(m, nn.Linear):
            ...         nn.init.zeros_(m.bias)
            >>> model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).apply(init)
            >>> model[2].bias.tolist()
            [0.0]
        """
        for child in self._modules.values():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter: frozen ones get no ``.grad`` in backward,
        so optimizers leave them as they are."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all below it."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off)."""
        return self.train(False)

    # --- walking the tree ------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs, this one first; a module reached twice (shared) is listed once
        unless ``remove_duplicate=False``."""
        seen: set[int] = set()
        pending = [(prefix, self)]  # an explicit stack, children pushed in reverse: depth-first, in order
        while pending:
            name, module = pending.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            children = [(dotted(name, child_name), child) for child_name, child in module._modules.items()]
            pending.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def _named_members(
        self, members: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, tensor) for each entry of the modules' ``members`` dict (``"_parameters"``
        or ``"_buffers"``); a tensor shared under two names is listed once if ``remove_duplicate``
        (what an optimizer wants), under each name if not (what a state dict holds, as PyTorch's)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, tensor in getattr(module, members).items():
                if tensor is None or (remove_duplicate and id(tensor) in seen):
                    continue
                seen.add(id(tensor))
                yield dotted(module_name, name), tensor

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two modules (tied weights) is listed
        once unless ``remove_duplicate=False``; ``recurse=False``: this module's own only."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def get_submodule(self, target: str) -> Module:
        """The module at the dotted path ``target`` (``""`` is this one), e.g. ``"encoder.0"``."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(
                    f"{type(self).__name__}.get_submodule: no module {target!r} "
                    f"({type(module).__name__} has children {list(module._modules)})"
                )
            module = module._modules[part]
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``, e.g. ``"rnn.weight_hh_l0"``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters or module._parameters[name] is None:
            raise AttributeError(
                f"{type(self).__name__}.get_parameter: no parameter {target!r} "
                f"({type(module).__name__} has {list(module._parameters)})"
            )
        return module._parameters[name]

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs of this module and all below it (absent buffers skipped)."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (see :func:`clear_grads`)."""
        clear_grads(self.parameters(), set_to_none)

    def to(self, device: str) -> Module:
        """Move every parameter and buffer to ``device``, or cast the floating ones to a float dtype
        (``"float64"``), in place, keeping the Parameter objects (so an optimizer made before
        still holds them). Integer buffers keep their dtype."""
        is_cast = str(device) not in _backend.DEVICES
        for param in self.parameters():
            moved = param.to(device)
            param.data, param._backend = moved.data, moved._backend
            if param.grad is not None:
                param.grad = param.grad.to(device)
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and not (is_cast and not _backend.is_float(buffer.dtype)):
                    setattr(module, name, buffer.detach().to(device))
        return self

    def cpu(self) -> Module:
        """Move every parameter and buffer to the CPU (NumPy)."""
        return self.to("cpu")

    def double(self) -> Module:
        """Cast every parameter to float64 (e.g. for gradient checks)."""
        return self.to("float64")

    def float(self) -> Module:
        """Cast every parameter to float32."""
        return self.to("float32")

    # --- state dicts -----------------------------------------------------------------------
    def _state(self) -> dict[str, Tensor]:
        """What a state dict holds, in PyTorch's order: each module's parameters, then its persistent
        buffers, then its children's, by dotted name. A tied weight appears under each of its names
        (as in PyTorch), so the two libraries' state dicts match key for key."""
        state = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            for name, tensor in (*module._parameters.items(), *module._buffers.items()):
                if tensor is not None and name not in module._non_persistent:
                    state[dotted(module_name, name)] = tensor
        return state

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, detached (the same data, no graph)."""
        return OrderedDict((name, tensor.detach()) for name, tensor in self._state().items())

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters (and persistent buffers) by name. Values may be Tensors
        or arrays (NumPy, ...).

        With ``strict`` (the default), missing and unexpected keys are errors; a shape or
        float-dtype mismatch is always an error (a float64 array is not cast down into a float32
        model silently: convert it first); Python lists and numbers take the parameter's dtype.
        Every problem is reported in one RuntimeError (as PyTorch does), and nothing is changed
        unless every check passes. Returns the missing and unexpected keys (both empty after a
        strict load).
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: state must be a dict of name -> tensor (what "
                f"model.state_dict() or tinygrad_rnn.load returns), got {type(state).__name__}"
            )
        params = self._state()
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        updates = {}
        for name, value in state.items():
            if name not in params:
                continue
            param = params[name]
            array = value.data if isinstance(value, Tensor) else value
            has_dtype = hasattr(array, "dtype")  # lists and numbers have none: they take the parameter's
            try:
                value_tensor = Tensor(array, dtype=None if has_dtype else param.dtype, device=param.device)
            except (TypeError, ValueError) as error:  # strings, ragged lists, ...: named with their key
                problems.append(f"{name}: {error}")
                continue
            if value_tensor.shape != param.shape:
                problems.append(f"{name}: shape {value_tensor.shape} in the state dict, {param.shape} in the model")
                continue
            if not _backend.same_dtype(value_tensor, param):
                problems.append(
                    f"{name}: dtype {_backend.dtype_name(value_tensor.dtype)} in the state dict, "
                    f"{_backend.dtype_name(param.dtype)} in the model (convert one first)"
                )
                continue
            updates[name] = value_tensor.data
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        for name, array in updates.items():
            params[name].data = params[name].xp.asarray(array, copy=True)
        return IncompatibleKeys(missing, unexpected)

    # --- display ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """What ``repr`` shows inside the parentheses (sizes, options); override in layers."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        if self.extra_repr():
            lines.insert(0, self.extra_repr())
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: keys the state dict lacked, and keys the model lacks."""

    missing_keys: list[str]
    unexpected_keys: list[str]
