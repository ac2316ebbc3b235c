"""cat, stack, where and linear: they live in ops/ beside their ops, re-exported as before; empty
lists are refused with a clear error."""

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import functions, ops


@pytest.mark.parametrize("name", ["cat", "stack", "where", "linear"])
def test_one_function_under_every_name(name):
    assert getattr(tg, name) is getattr(ops, name) is getattr(functions, name)


@pytest.mark.parametrize("join", [tg.cat, tg.stack])
@pytest.mark.parametrize("empty", [[], ()])
def test_joining_no_tensors_says_what_to_pass(join, empty):
    with pytest.raises(ValueError, match=rf"^{join.__name__}: got no tensors .*pass a non-empty list of tensors"):
        join(empty)
