"""Containers: modules that hold other modules under the names "0", "1", ...

``Sequential`` calls its modules one after another; ``ModuleList`` only holds them (for a
``forward`` that uses them in its own way, e.g. one layer per depth). Either way the parameters
are registered, so ``named_parameters()`` gives PyTorch's names: ``0.weight``, ``layers.1.bias``.

Example:
    >>> from tinygrad_rnn import nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module

__all__ = ["ModuleList", "Sequential"]


class _IndexedModules(Module):
    """What Sequential and ModuleList share: modules kept in order, indexed like a list."""

    def _check(self, module: Any, position: int) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: item {position} is a {type(module).__name__}, not a Module")
        return module

    def _set_all(self, modules: Iterable[Module]) -> None:
        """Register ``modules`` as "0", "1", ... in place of the current ones."""
        modules = list(modules)
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(modules):
            setattr(self, str(position), self._check(module, position))

    def _position(self, index: int) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {len(self)} modules")
        return index % len(self)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[self._position(index)]

    def append(self, module: Module) -> _IndexedModules:
        """Add ``module`` at the end (named ``str(len(self))``)."""
        setattr(self, str(len(self)), self._check(module, len(self)))
        return self


class Sequential(_IndexedModules):
    """Apply modules in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Accepts modules as arguments (named "0", "1", ...) or one ``OrderedDict`` of named modules.
    Indexing gives a module; slicing gives a Sequential of the same modules.

    Example:
        >>> import tinygrad_rnn as tg
        >>> from tinygrad_rnn import nn
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        >>> model
        Sequential(
          (0): Linear(in_features=3, out_features=4, bias=True)
          (1): ReLU()
        )
        >>> model(tg.ones(2, 3)).shape, len(model), model[-1]
        ((2, 4), 2, ReLU())
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for position, (name, module) in enumerate(modules[0].items()):
                setattr(self, name, self._check(module, position))
        else:
            self._set_all(modules)

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (a plain Python list would hide them).

    Example:
        >>> from tinygrad_rnn import nn
        >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
        >>> layers.append(nn.Tanh())
        ModuleList(
          (0): Linear(in_features=2, out_features=2, bias=True)
          (1): Linear(in_features=2, out_features=2, bias=True)
          (2): Tanh()
        )
        >>> len(list(layers.parameters()))
        4
    """

    def __init__(self, modules: Iterable[Module] | OrderedDict[str, Module] | None = None) -> None:
        super().__init__()
        if isinstance(modules, OrderedDict):  # a slice of another ModuleList
            modules = modules.values()
        self._set_all(modules or [])

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self)
        modules.insert(index, module)
        self._set_all(modules)

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(self._position(index)), self._check(module, index))

    def __delitem__(self, index: int) -> None:
        modules = list(self)
        del modules[self._position(index)]
        self._set_all(modules)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)
