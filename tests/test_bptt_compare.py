"""bptt.check_bptt: the engine's BPTT against the hand-written reference, step by step, gate by gate."""

import pytest

from tinygrad_rnn import bptt

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
def test_engine_agrees_with_the_reference(device, cell, nonlinearity):
    report = bptt.check_bptt(cell, steps=5, nonlinearity=nonlinearity, device=device)
    assert report.ok, str(report)
    assert report.max_error < 1e-12
    assert report.step is None and report.gates == []
    assert "agree" in str(report)


@pytest.mark.parametrize(
    "cell, step, gate", [("rnn", 2, "h"), ("lstm", 3, "i"), ("lstm", 1, "f"), ("lstm", 4, "g"), ("gru", 2, "r")]
)
def test_an_injected_error_is_found_at_its_step_and_gate(cell, step, gate):
    def bug(t, g, grad):
        return grad * 1.001 if (t, g) == (step, gate) else grad

    report = bptt.check_bptt(cell, steps=5, on_gate_grad=bug)
    assert not report.ok
    assert report.step == step
    assert report.gates == [gate]
    assert f"t={step}, gate(s) {gate}" in str(report)
    # backward carries the error to every earlier step, and to the initial state
    assert {m.step for m in report.mismatches} == set(range(step + 1)) | {None}


def test_a_small_error_in_the_last_step_is_still_found():
    def bug(t, g, grad):
        return grad + 1e-6 if (t, g) == (5, "o") else grad

    report = bptt.check_bptt("lstm", steps=6, on_gate_grad=bug)
    assert (report.step, report.gates) == (5, ["o"])


def test_unknown_cell():
    with pytest.raises(ValueError, match="unknown cell"):
        bptt.check_bptt("transformer")
