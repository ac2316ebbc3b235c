"""tinygrad_rnn.nn: modules, layers, recurrent networks and losses, shaped like PyTorch's."""

from . import utils
from .cells import GRUCell, LSTMCell, RNNCell
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN
from .tbptt import detach_state
