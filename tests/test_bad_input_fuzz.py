"""The bad-input fuzz: random bad arguments thrown at the public constructors and layers.

Every call either works (some "bad" values are fine somewhere: ``momentum=0``, ``bias=0``) or
raises one of the library's documented error types for bad arguments (see
:mod:`tinygrad_rnn.arguments`): ``TypeError`` (wrong type), ``ValueError`` (wrong value) or
``IndexError`` (an index or axis out of range: a token id past the vocabulary). The
message must name the argument, so a reader knows what to change. Any other exception
(IndexError, ZeroDivisionError, AttributeError deep inside, ...) fails the test.

Bounded in time: a fixed number of derandomized examples of small sizes (about a second).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

DOCUMENTED = (TypeError, ValueError, IndexError)

#: Values that are wrong for most arguments: wrong types, negative, fractional, non-finite, empty.
BAD = [None, "3", "0.1", b"x", 3.5, -1, -0.5, 0, 1.5, 2, math.nan, math.inf, -math.inf, True, 1j, (), (1,), [2, -1], {}]


def _param():
    return tg.zeros(2, requires_grad=True)


# (what, build(**kwargs), the valid keyword arguments, the name a message uses for each)
CONSTRUCTORS = {
    "zeros": (lambda size: tg.zeros(size), {"size": 2}),
    "ones": (lambda size: tg.ones(2, size), {"size": 2}),
    "randn": (lambda size: tg.randn(size, 1), {"size": 2}),
    "rand": (lambda size: tg.rand(size), {"size": 2}),
    "full": (lambda size: tg.full(size, 1.0), {"size": 2}),
    "eye": (lambda n, m: tg.eye(n, m), {"n": 2, "m": 3}),
    "Linear": (
        lambda in_features, out_features: nn.Linear(in_features, out_features),
        {"in_features": 2, "out_features": 3},
    ),
    "Embedding": (
        lambda num_embeddings, embedding_dim: nn.Embedding(num_embeddings, embedding_dim),
        {"num_embeddings": 4, "embedding_dim": 2},
    ),
    "Dropout": (lambda p: nn.Dropout(p), {"p": 0.5}),
    "LayerNorm": (
        lambda normalized_shape, eps: nn.LayerNorm(normalized_shape, eps),
        {"normalized_shape": 3, "eps": 1e-5},
    ),
    **{
        kind: (
            lambda input_size, hidden_size, num_layers, dropout, kind=kind: getattr(nn, kind)(
                input_size, hidden_size, num_layers, dropout=dropout
            ),
            {"input_size": 2, "hidden_size": 3, "num_layers": 1, "dropout": 0.0},
        )
        for kind in ("RNN", "LSTM", "GRU")
    },
    "SGD": (
        lambda lr, momentum, weight_decay: optim.SGD([_param()], lr=lr, momentum=momentum, weight_decay=weight_decay),
        {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0},
    ),
    "Adam": (
        lambda lr, betas, eps: optim.Adam([_param()], lr=lr, betas=betas, eps=eps),
        {"lr": 0.1, "betas": (0.9, 0.99), "eps": 1e-8},
    ),
    "AdamW": (
        lambda lr, weight_decay: optim.AdamW([_param()], lr=lr, weight_decay=weight_decay),
        {"lr": 0.1, "weight_decay": 0.01},
    ),
    "RMSprop": (lambda lr, alpha: optim.RMSprop([_param()], lr=lr, alpha=alpha), {"lr": 0.1, "alpha": 0.9}),
    "StepLR": (
        lambda step_size, gamma: optim.lr_scheduler.StepLR(optim.SGD([_param()], lr=0.1), step_size, gamma),
        {"step_size": 2, "gamma": 0.5},
    ),
    "ExponentialLR": (
        lambda gamma: optim.lr_scheduler.ExponentialLR(optim.SGD([_param()], lr=0.1), gamma),
        {"gamma": 0.5},
    ),
}


def _layers():
    return {
        "Linear": nn.Linear(2, 3),
        "Embedding": nn.Embedding(4, 2),
        "Dropout": nn.Dropout(0.5),
        "RNN": nn.RNN(2, 3),
        "LSTM": nn.LSTM(2, 3),
        "GRU": nn.GRU(2, 3, batch_first=True),
    }


#: Bad inputs for a layer's forward: wrong types, ranks, widths, dtypes, empty sequences.
BAD_INPUTS = [
    None,
    "x",
    3.5,
    [1, "a"],
    np.zeros((2, 5)),
    np.zeros((0, 1, 2)),
    np.zeros((1, 0, 2)),
    np.zeros(2, dtype=np.float64),
    np.array([1.5, -2.0]),
    np.array([7, -9]),
    np.zeros((3, 1, 2, 2)),
]


def _check(error: BaseException, names: tuple[str, ...], what: str) -> None:
    assert isinstance(error, DOCUMENTED), f"{what}: {type(error).__name__}: {error}"
    message = str(error)
    assert any(name in message for name in names), f"{what}: the message does not name {names}: {message}"


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bad_constructor_arguments_get_documented_errors_that_name_them(data):
    what = data.draw(st.sampled_from(sorted(CONSTRUCTORS)))
    build, valid = CONSTRUCTORS[what]
    argument = data.draw(st.sampled_from(sorted(valid)))
    value = data.draw(st.sampled_from(BAD))
    try:
        build(**{**valid, argument: value})
    except Exception as error:  # noqa: BLE001 - the point: which exceptions escape
        names = (argument, "size") if argument == "size" else (argument,)
        _check(error, names, f"{what}({argument}={value!r})")


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bad_layer_inputs_get_documented_errors_that_name_the_input(data):
    layers = _layers()
    what = data.draw(st.sampled_from(sorted(layers)))
    value = data.draw(st.sampled_from(range(len(BAD_INPUTS))))
    raw = BAD_INPUTS[value]
    try:
        layers[what](raw if not isinstance(raw, np.ndarray) else tg.Tensor(raw))
    except Exception as error:  # noqa: BLE001
        _check(error, ("input", what.lower()), f"{what}({raw!r})")


def test_the_fuzz_knows_a_real_failure_when_it_sees_one():
    """The check itself refuses an internal error, and a documented one that names nothing."""
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        _check(ZeroDivisionError("float division by zero"), ("in_features",), "Linear(0, 4)")
    with pytest.raises(AssertionError, match="does not name"):
        _check(TypeError("'<' not supported between instances of 'str' and 'int'"), ("hidden_size",), "RNN")
