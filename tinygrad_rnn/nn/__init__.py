"""tinygrad_rnn.nn: modules, layers, recurrent networks and losses, shaped like PyTorch's."""

from . import utils
from .module import Module, Parameter
