"""tinygrad_rnn.nn: modules, layers, recurrent networks and losses, shaped like PyTorch's."""

from . import functional, init, utils
from .cells import GRUCell, LSTMCell, RNNCell
from .containers import ModuleList, Sequential
from .layers import Dropout, Embedding, Identity, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN
from .tbptt import detach_state
