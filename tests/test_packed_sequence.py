"""PackedSequence: PyTorch's packed layout (pack_padded_sequence, pack_sequence, pad_packed_sequence),
the layers taking and returning one, gradients through packing, and clear errors."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
)

INPUT, HIDDEN, STEPS = 3, 4, 6
LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def padded_batch(lengths, batch_first=False, trailing=(INPUT,), seed=0):
    x = np.random.default_rng(seed).standard_normal((STEPS, len(lengths), *trailing))
    for b, length in enumerate(lengths):
        x[length:, b] = 0.0
    return x.swapaxes(0, 1).copy() if batch_first else x


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(("lengths", "enforce_sorted"), [([6, 4, 4, 1], True), ([2, 6, 1, 5], False)])
@pytest.mark.parametrize("trailing", [(INPUT,), (2, 2), ()])
def test_packing_lays_data_out_as_torch_does(torch, lengths, enforce_sorted, batch_first, trailing):
    x = padded_batch(lengths, batch_first, trailing)
    ours = pack_padded_sequence(Tensor(x), lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), lengths, batch_first=batch_first, enforce_sorted=enforce_sorted
    )
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.batch_sizes.numpy(), theirs.batch_sizes.numpy())
    for mine, torchs in [
        (ours.sorted_indices, theirs.sorted_indices),
        (ours.unsorted_indices, theirs.unsorted_indices),
    ]:
        assert (mine is None) == (torchs is None)
        if mine is not None:
            np.testing.assert_array_equal(mine.numpy(), torchs.numpy())
    padded, out_lengths = pad_packed_sequence(ours, batch_first=batch_first, total_length=STEPS)
    np.testing.assert_array_equal(padded.numpy(), x)  # the round trip gives the padded batch back
    assert out_lengths.tolist() == lengths and out_lengths.dtype == np.int64


def test_pad_packed_sequence_pads_with_the_value_up_to_total_length():
    packed = pack_sequence([Tensor([1.0, 2.0]), Tensor([3.0, 4.0, 5.0])], enforce_sorted=False)
    padded, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0, total_length=4)
    assert padded.tolist() == [[1.0, 2.0, -1.0, -1.0], [3.0, 4.0, 5.0, -1.0]]
    assert lengths.tolist() == [2, 3]


def test_ties_keep_the_batch_order_and_round_trip():
    lengths = [3, 5, 3, 5]
    x = padded_batch(lengths)
    packed = pack_padded_sequence(Tensor(x), lengths, enforce_sorted=False)
    assert packed.sorted_indices.tolist() == [1, 3, 0, 2]  # longest first, ties in batch order
    np.testing.assert_array_equal(pad_packed_sequence(packed, total_length=STEPS)[0].numpy(), x)


def test_gradients_flow_through_packing_and_unpacking():
    lengths = [4, 6, 2]
    x = Tensor(padded_batch(lengths), requires_grad=True)
    weights = Tensor(np.random.default_rng(1).standard_normal((STEPS, 3, INPUT)))

    def through_packing(x):
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        return pad_packed_sequence(packed, total_length=STEPS)[0] * weights

    assert tg.gradcheck(through_packing, x)
    through_packing(x).sum().backward()
    mask = np.arange(STEPS)[:, None, None] < np.array(lengths)[None, :, None]
    np.testing.assert_array_equal(x.grad.numpy(), np.where(mask, weights.numpy(), 0.0))  # nothing past the ends


@pytest.mark.parametrize("fused", [False, True], ids=["composite", "fused"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", LAYERS)
def test_layers_take_and_return_packed_sequences_as_torch(torch, kind, batch_first, fused):
    options = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    reference = getattr(torch.nn, LAYERS[kind].__name__)(INPUT, HIDDEN, dtype=torch.float64, **options)
    ours = LAYERS[kind](INPUT, HIDDEN, dtype="float64", fused=fused, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    lengths = [3, 6, 1, 4]
    x = padded_batch(lengths, batch_first)
    ours_x, theirs_x = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    initial = np.random.default_rng(3).standard_normal((2, 4, len(lengths), HIDDEN))  # in the batch's own order
    ours_hx = (Tensor(initial[0]), Tensor(initial[1])) if kind == "lstm" else Tensor(initial[0])
    theirs_hx = tuple(torch.from_numpy(s) for s in initial) if kind == "lstm" else torch.from_numpy(initial[0])
    ours_out, ours_hidden = ours(pack_padded_sequence(ours_x, lengths, batch_first, enforce_sorted=False), ours_hx)
    theirs_out, theirs_hidden = reference(
        torch.nn.utils.rnn.pack_padded_sequence(theirs_x, lengths, batch_first, enforce_sorted=False), theirs_hx
    )
    assert isinstance(ours_out, PackedSequence)
    np.testing.assert_allclose(ours_out.data.numpy(), theirs_out.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours_out.batch_sizes.numpy(), theirs_out.batch_sizes.numpy())
    np.testing.assert_array_equal(ours_out.sorted_indices.numpy(), theirs_out.sorted_indices.numpy())
    states = (ours_hidden,) if kind != "lstm" else ours_hidden
    expected = (theirs_hidden,) if kind != "lstm" else theirs_hidden
    for mine, theirs in zip(states, expected):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(2).standard_normal(ours_out.data.shape)
    (ours_out.data * Tensor(weights)).sum().backward()
    (theirs_out.data * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, param in ours.named_parameters():
        theirs_grad = reference.get_parameter(name).grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), theirs_grad, rtol=1e-10, atol=1e-12, err_msg=name)


def test_a_packed_batch_gives_what_lengths_gives(device):
    lstm = nn.LSTM(INPUT, HIDDEN, bidirectional=True, device=device)
    lengths = [2, 6, 5]
    x = Tensor(padded_batch(lengths).astype(np.float32), device=device)
    output, (h_n, c_n) = lstm(x, lengths=lengths)
    packed_output, (packed_h_n, packed_c_n) = lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
    assert packed_output.data.device == device
    padded, _ = pad_packed_sequence(packed_output, total_length=STEPS)
    np.testing.assert_array_equal(padded.numpy(), output.numpy())
    np.testing.assert_array_equal(packed_h_n.numpy(), h_n.numpy())
    np.testing.assert_array_equal(packed_c_n.numpy(), c_n.numpy())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: pack_padded_sequence(x, [2, 6, 5]), ValueError, "not in decreasing order"),
        (lambda x: pack_padded_sequence(x, [2, 0, 5], enforce_sorted=False), ValueError, "each in 1..T=6"),
        (lambda x: pack_padded_sequence(x, [2, 6]), ValueError, "for a batch of 3"),
        (lambda x: pack_padded_sequence(x.numpy(), [6, 5, 2]), ValueError, "must be a padded Tensor"),
        (
            lambda x: pad_packed_sequence(pack_padded_sequence(x, [6, 5, 2]), total_length=4),
            ValueError,
            "total_length=4 is shorter than the longest sequence (6 steps)",
        ),
        (lambda x: pad_packed_sequence(x), TypeError, "expected a PackedSequence, got Tensor"),
        (
            lambda x: nn.GRU(INPUT, HIDDEN, dtype="float64")(pack_padded_sequence(x, [6, 5, 2]), lengths=[6, 5, 2]),
            ValueError,
            "carries its own lengths",
        ),
    ],
)
def test_packing_mistakes_are_clear_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(Tensor(padded_batch([6, 5, 2])))


def test_every_node_a_layer_records_for_a_packed_input_is_in_its_scope():
    lengths = [4, 2, 3]
    packed = pack_padded_sequence(Tensor(padded_batch(lengths), dtype="float32"), lengths, enforce_sorted=False)
    lstm = nn.LSTM(INPUT, HIDDEN, bidirectional=True)
    before = Tensor(0.0).id  # every tensor made from here on is the layer's
    with tg.scope("enc"):
        output, (h_n, c_n) = lstm(packed)
    made = [n for n in tg.walk(output.data, h_n, c_n) if n.op is not None and n.id > before]
    assert {n.op for n in made} >= {"getitem", "linear", "cat"}  # unpacking, the steps, repacking
    assert [n.scope for n in made if not n.scope.startswith("enc/lstm")] == []
