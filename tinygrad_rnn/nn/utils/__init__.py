"""tinygrad_rnn.nn.utils: helpers around training: gradient clipping, and variable-length batches,
padded (``nn.utils.rnn.pad_sequence``) or packed (``nn.utils.rnn.pack_padded_sequence``), as in
``torch.nn.utils``."""

from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
