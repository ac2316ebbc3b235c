"""Guards: what must be unchanged for a captured tape to be replayed instead of captured again.

Two layers, checked at every call:

* the **key** of the call (:func:`call_key`), built from the arguments alone: each tensor's shape,
  dtype, device, ``requires_grad``, whether it is a leaf and has a ``.grad``, and which arguments
  are the same tensor; every other argument by value; and the grad mode. Tapes are looked up by it.
* each tape's own **guards** (:class:`Guards`), known once the capture has run: the shape, dtype,
  ``requires_grad`` (and, where the step's result depends on it, whether ``.grad`` is None) of
  every tensor the step read that existed before it (parameters, buffers); the ``training`` flag
  and the other plain Python attributes (a dropout probability, ...) of every module the function
  can reach, and which object each of its parameters, buffers and submodules is; the parameter
  groups of its optimizers; the plain Python values (numbers, strings, booleans), and the tensors,
  modules and optimizers (by identity), it can read from its closure and from the globals it names
  (and those of the functions it calls by name), entries of lists, tuples and dicts there and
  attributes of objects of the user's own classes (a config, a compiled method's ``self``)
  included; and the contents of integer arguments the step read as Python data.

Example:
    >>> import tinygrad_rnn as tg
    >>> x = tg.zeros(2, 3)
    >>> call_key([x, x], {}) == call_key([x, tg.zeros(2, 3)], {})   # the same tensor twice is another key
    False
"""

from __future__ import annotations

import sys
import sysconfig
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..function import is_grad_enabled
from ..nn.module import Module
from ..tensor import Tensor

SCALARS = (bool, int, float, str, type(None), complex)
_MISSING = object()


def flatten(obj: Any, tensors: list) -> Any:
    """``obj`` (arguments: tensors inside tuples, lists and dicts) as a hashable spec; its tensors
    are appended to ``tensors`` in order and stand in the spec by their signature."""
    if isinstance(obj, Tensor):
        alias = next((i for i, t in enumerate(tensors) if t is obj), None)
        tensors.append(obj)
        data = obj.data
        grad_is_none = obj.grad is None
        return (
            "T",
            tuple(data.shape),
            data.dtype,
            obj.device,
            obj.requires_grad,
            obj._ctx is None,
            grad_is_none,
            alias,
        )
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple(flatten(item, tensors) for item in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((key, flatten(value, tensors)) for key, value in obj.items()))
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.shape, obj.dtype.str, obj.tobytes())
    try:
        hash(obj)
    except TypeError:
        return ("object", id(obj))
    return ("value", type(obj), obj)


def call_key(args: list, kwargs: dict) -> tuple:
    """The lookup key of a call (see the module docstring); the flattened tensors are not kept."""
    return (flatten(list(args), []), flatten(kwargs, []), is_grad_enabled())


# --- what the function can reach -----------------------------------------------------------------
def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _is_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] in ("tinygrad_rnn", "numpy", "builtins")


class Reach:
    """The modules, optimizers and plain Python values a function can read: from its closure, the
    globals it names, its ``self`` (a bound method), the functions it calls by name (not the
    library's own), and its arguments."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict):
        self.values: list[tuple[str, Callable[[], Any], Any]] = []  # (where, read it again, value)
        self.modules: dict[int, tuple[str, Module]] = {}
        self.optimizers: list = []
        self._seen: set[int] = set()
        self._visit_function(fn, depth=0)
        for value in (*args, *kwargs.values()):  # a module passed in (step(model, x)): its guards too
            self._visit_value("argument", value, depth=1)

    def _visit_function(self, fn: Any, depth: int) -> None:
        if id(fn) in self._seen or depth > 3:
            return
        self._seen.add(id(fn))
        if isinstance(fn, Module):
            self._visit_value("the function", fn, depth)
            return
        if isinstance(fn, types.MethodType):
            self._visit_value("self", fn.__self__, depth)
            fn = fn.__func__
        code = getattr(fn, "__code__", None)
        if code is None:
            return
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self._visit_value(name, value, depth, lambda cell=cell: cell.cell_contents)
        namespace = fn.__globals__
        for name in dict.fromkeys(_code_names(code)):
            if name in namespace:
                self._visit_value(name, namespace[name], depth, lambda name=name: namespace.get(name, _MISSING))

    def _visit_value(self, where: str, value: Any, depth: int, read: Callable | None = None) -> None:
        from ..optim.optimizer import Optimizer

        # A value reached by a name is read again at every call: a number by equality; a tensor, module
        # or optimizer by identity (the tape uses the very object: ``model = Model()`` must be seen)
        if read is not None and (_plain(value) or isinstance(value, (Tensor, Module, Optimizer))):
            self.values.append((where, read, value))
        if _plain(value) or isinstance(value, Tensor):
            return  # nothing inside it to visit
        if isinstance(value, Module):
            for name, module in value.named_modules(prefix=_dotted(where)):
                self.modules.setdefault(id(module), (name, module))
        elif isinstance(value, Optimizer):
            self.optimizers.append(value)
        elif isinstance(value, (list, tuple, dict)) and depth <= 1:
            guarded = read is not None and len(value) <= MAX_GUARDED_ENTRIES  # a dataset's list is not
            for key, item in value.items() if isinstance(value, dict) else enumerate(value):
                reader = _item_reader(read, key) if guarded else None  # W["W_hh"] = new tensor: seen
                self._visit_value(f"{where}[{key!r}]", item, depth + 1, reader)
        elif isinstance(value, (types.FunctionType, types.MethodType)) and not _is_library(value):
            self._visit_function(value, depth + 1)
        elif depth <= 1 and _user_object(value):  # a config, a trainer's self: its attributes, like a dict's entries
            source = read if read is not None else (lambda value=value: value)
            for name, item in list(vars(value).items()):
                self._visit_value(f"{where}.{name}", item, depth + 1, _attribute_reader(source, name))

    def parameter_names(self) -> dict[int, str]:
        """id(tensor) -> its dotted name in the modules reached (for the tape's dump)."""
        names: dict[int, str] = {}
        for prefix, module in self.modules.values():
            for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
                names.setdefault(id(tensor), f"{prefix}.{name}" if prefix else name)
        return names

    def tensors(self) -> list[Tensor]:
        """The parameters and buffers of the modules reached and the optimizers' parameters."""
        found = [t for _, module in self.modules.values() for t in module.parameters(recurse=False)]
        found += [t for _, module in self.modules.values() for t in module.buffers(recurse=False)]
        found += [p for opt in self.optimizers for group in opt.param_groups for p in group["params"]]
        return found


#: Entries of a list, tuple or dict the step reaches by name are guarded up to this many (a dict of
#: weights, a config); a longer one (a dataset's batches) would cost a check per entry at every call.
MAX_GUARDED_ENTRIES = 64

_NOT_USER_CODE = tuple({sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _dotted(where: str) -> str:
    """The prefix of the dump's names for a module reached at ``where``: ``"self.model"`` gives
    ``"model"``; the step's ``self`` or an argument itself gives ``""``."""
    for root in ("self", "argument"):
        if where == root:
            return ""
        if where.startswith(root + "."):
            return where[len(root) + 1 :]
    return where


def _user_object(value: Any) -> bool:
    """An instance of a class of the user's own code (a script, a notebook, the user's package; not
    the standard library's, an installed package's, nor this library's): a config object, a
    trainer whose method is compiled. Its attributes are read by the step like a dict's entries."""
    cls = type(value)
    if isinstance(value, type) or not hasattr(value, "__dict__") or _is_library(cls):
        return False
    if cls.__module__ == "__main__" or cls is types.SimpleNamespace:
        return True
    path = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return path is not None and not path.startswith(_NOT_USER_CODE)


def _attribute_reader(read: Callable[[], Any], name: str) -> Callable[[], Any]:
    """Reads ``obj.name`` afresh, ``obj`` itself read again by ``read`` (a rebound name)."""

    def read_attribute() -> Any:
        return getattr(read(), name, _MISSING)

    return read_attribute


def _plain(value: Any) -> bool:
    """A Python value guarded by equality (a number, a string, a tuple of them); else by identity."""
    return isinstance(value, SCALARS) or (isinstance(value, tuple) and all(isinstance(v, SCALARS) for v in value))


def _item_reader(read: Callable[[], Any], key: Any) -> Callable[[], Any]:
    """Reads ``container[key]`` afresh, the container itself read again by ``read`` (a rebound name)."""

    def read_item() -> Any:
        try:
            return read()[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING

    return read_item


class Same:
    """Equal to a ``Same`` of the very same object only (tensors compare elementwise, not by ``==``)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return type(other) is Same and other.obj is self.obj

    __hash__ = None  # type: ignore[assignment]


def optimizer_params(optimizer: Any) -> list:
    """Which tensors each parameter group of ``optimizer`` holds (by identity: add_param_group, a
    group's params replaced): the tape clears and updates exactly those it was captured with."""
    return [tuple(Same(param) for param in group["params"]) for group in optimizer.param_groups]


def module_state(module: Module) -> dict[str, Any]:
    """A module's plain Python attributes (``training``, ``dropout``, ``batch_first``, ...), and which
    tensor or module each of its parameters, buffers, submodules and tensor attributes is (by
    identity: ``layer.weight = Parameter(...)`` is another tensor, which the tape does not read)."""
    state: dict[str, Any] = {}
    for key, value in vars(module).items():
        if isinstance(value, SCALARS):
            state[key] = value
        elif isinstance(value, (Tensor, Module)):
            state[key] = Same(value)
        elif key in ("_parameters", "_buffers", "_modules"):
            state.update({f"{key}.{name}": Same(item) for name, item in value.items()})
    return state


class Guards:
    """A tape's guards (see the module docstring); :meth:`failure` names the first one that fails."""

    def __init__(self, reach: Reach, leaves: list, value_guards: dict, optimizers: list):
        self.values = reach.values
        self.modules = [(name, module, module_state(module)) for name, module in reach.modules.values()]
        self.optimizers = [(optimizer, optimizer_params(optimizer)) for optimizer in optimizers]
        # (tensor, shape, dtype, requires_grad, grad_is_none or None when the step does not depend on it)
        self.leaves = leaves
        self.arg_values = value_guards  # position of an integer argument -> its contents at capture

    def failure(self, args: list) -> str | None:
        """None if the tape may be replayed for the argument tensors ``args``, else why not."""
        for optimizer, params in self.optimizers:
            if optimizer_params(optimizer) != params:
                return f"the parameters of optimizer {type(optimizer).__name__} changed (add_param_group, ...)"
        for tensor, shape, dtype, requires_grad, grad_is_none in self.leaves:
            data = tensor.data
            if data.shape != shape or data.dtype != dtype or tensor.requires_grad != requires_grad:
                return f"a tensor read by the step changed: now {tuple(data.shape)} {data.dtype}, was {shape} {dtype}"
            if grad_is_none is not None and (tensor.grad is None) != grad_is_none:
                return (
                    "a parameter's .grad changed between None and a tensor (the step adds to it; a step that "
                    "sets w.grad = None itself should call zero_grad() instead, which the tape repeats)"
                )
        for name, module, state in self.modules:
            if module_state(module) != state:
                return (
                    f"an attribute of module {name or type(module).__name__} changed (training, dropout, ..., "
                    "or a parameter, buffer or submodule replaced by another object)"
                )
        for where, read, value in self.values:
            now = read()
            if now is value:
                continue
            if not _plain(value) or not _plain(now):
                kind = "tensor" if isinstance(value, Tensor) else "object"
                return f"{where!r} is another {kind} now (the tape uses the one it was captured with)"
            if now != value:
                return f"the Python value {where!r} changed from {value!r} to {now!r}"
        for position, expected in self.arg_values.items():
            data = args[position].data
            xp = args[position].xp
            if not bool(xp.all(data == expected)):
                return f"argument tensor #{position} holds other values (the step read them as Python data)"
        return None
