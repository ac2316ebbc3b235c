"""tinygrad_rnn.optim: optimizers (SGD, Adam, AdamW, RMSprop) and learning-rate schedulers.

Each optimizer has PyTorch's hyperparameter names, defaults and update rule; ``step()`` updates
the parameters that have a gradient, ``zero_grad()`` clears the gradients.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([0.0, 0.0], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.5)
    >>> for _ in range(100):               # minimise |w - [1, 2]|^2
    ...     opt.zero_grad()
    ...     ((w - tg.Tensor([1.0, 2.0])) ** 2).sum().backward()
    ...     opt.step()
    >>> [round(v, 3) for v in w.tolist()]
    [1.0, 2.0]
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
