"""The capture hook: the recorder of :func:`tinygrad_rnn.compile`, while one is capturing a step.

The engine tells the recorder what it does, in a few clearly marked lines (``if
recording.recorder is not None: ...``): ``Function.apply`` each op it ran, ``autograd.backward``
each node it backpropagated through, ``Optimizer.step`` each update, ``clear_grads`` each
gradient it forgot. Outside a capture ``recorder`` is None and each hook costs one global read.

Only one capture runs at a time (:func:`tinygrad_rnn.compile` holds a lock while it captures); the
recorder ignores what other threads do meanwhile.

Example:
    >>> recorder is None    # nothing is being captured
    True
"""

from __future__ import annotations

from typing import Any

#: The active :class:`tinygrad_rnn.compiler.capture.Recorder`, or None.
recorder: Any = None
