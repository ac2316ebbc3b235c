"""What the Array API standard lacks, done per backend (backend.py): scatter-add, random numbers and
transfers. Each runs on every device of the ``device`` fixture, CuPy included where a GPU is usable
(``benchmarks/gpu_check.sh``), against NumPy's answer."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.backend import get_backend


def _on(device, array):
    return get_backend(device).from_numpy(np.asarray(array))


def _back(device, array):
    return get_backend(device).to_numpy(array)


@pytest.mark.parametrize(
    "shape, index",
    [
        ((5, 3), (np.array([0, 2, 2, 4, 0]), Ellipsis)),  # an embedding's rows, repeated indices add up
        ((2, 6, 3), (slice(None), np.array([5, 1, 1]), Ellipsis)),  # one integer array among slices
        ((4, 3), (Ellipsis, np.array([2, 2]))),  # counted from the end
        ((4, 5), (np.array([0, 1, 1, 3]), np.array([4, 0, 0, 2]))),  # logits[rows, targets]
    ],
)  # complete indices (a trailing ... where axes are left), the forms the engine forwards on every device
def test_scatter_add_sums_repeated_indices_like_numpy(device, shape, index):
    rng = np.random.default_rng(0)
    target = rng.standard_normal(shape)
    values = rng.standard_normal(target[index].shape)
    expected = target.copy()
    np.add.at(expected, index, values)
    on_device = _on(device, target)
    device_index = tuple(_on(device, k) if isinstance(k, np.ndarray) else k for k in index)
    get_backend(device).scatter_add(on_device, device_index, _on(device, values))
    np.testing.assert_allclose(_back(device, on_device), expected, rtol=1e-12)


def test_embedding_gradient_on_device_equals_numpy(device):
    tokens = np.array([[1, 3, 1], [0, 1, 4]])

    def grad_of(dev):
        tg.manual_seed(0)
        embedding = tg.nn.Embedding(5, 4).to(dev)
        (embedding(tg.Tensor(tokens, device=dev)) ** 2).sum().backward()
        return embedding.weight.grad.numpy()

    np.testing.assert_allclose(grad_of(device), grad_of("cpu"), rtol=1e-6)


@pytest.mark.parametrize("draw", [tg.randn, tg.rand])
def test_the_same_seed_gives_the_same_numbers_on_every_device(device, draw):
    tg.manual_seed(123)
    on_device = draw(3, 4, device=device)
    tg.manual_seed(123)
    on_cpu = draw(3, 4)
    assert on_device.device == device
    assert on_device.numpy().tobytes() == on_cpu.numpy().tobytes()


def test_dropout_masks_match_across_devices(device):
    x = np.ones((200,), dtype=np.float32)
    tg.manual_seed(5)
    on_device = tg.nn.functional.dropout(tg.Tensor(x, device=device), p=0.3, training=True).numpy()
    tg.manual_seed(5)
    on_cpu = tg.nn.functional.dropout(tg.Tensor(x), p=0.3, training=True).numpy()
    np.testing.assert_array_equal(on_device, on_cpu)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_transfers_are_bit_exact_and_numpy_always_gives_a_host_copy(device, dtype):
    data = (np.random.default_rng(0).standard_normal((3, 2)) * 10).astype(dtype)
    x = tg.Tensor(data, device=device)
    assert x.device == device and tg.backend.dtype_name(x.dtype) == dtype
    host = x.numpy()  # on a GPU this copies to the host: .numpy() never hands back a device array
    assert type(host) is np.ndarray and host.tobytes() == data.tobytes()
    back = x.to("cpu").to(device).to("cpu")
    assert back.device == "cpu" and back.numpy().tobytes() == data.tobytes()


def test_tensors_on_two_devices_meeting_is_a_clear_device_error(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    a, b = tg.ones(2, device=device), tg.ones(2)
    with pytest.raises(tg.DeviceError, match=rf"add: tensors on different devices: '{device}' and 'cpu'.*\.to\("):
        a + b
    with pytest.raises(tg.DeviceError, match="different devices"):
        tg.cat([a, b])


def test_cuda_without_cupy_or_gpu_is_a_clear_device_error():
    try:
        get_backend("cuda")
    except tg.DeviceError as error:
        assert "cuda" in str(error) and ("pip install" in str(error) or "no GPU" in str(error))
    else:
        pytest.skip("a GPU is usable here: nothing to refuse")


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 2)),
        ((1, 8), (8, 8)),
        ((4,), (4, 2)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 5)),
        ((5, 4), (2, 4, 3)),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_numpy_namespace_matmul_is_numpys_matmul(shape_a, shape_b, dtype):
    """The engine's matmul takes np.dot for two matrices (cheaper to call): the same numbers,
    dtype and shape as np.matmul in every case, transposed (non-contiguous) operands included."""
    from tinygrad_rnn.backend import numpy_namespace

    xp, rng = numpy_namespace(), np.random.default_rng(0)
    a = rng.integers(-3, 4, shape_a).astype(dtype)
    b = rng.integers(-3, 4, shape_b[::-1]).astype(dtype).T  # a transposed view: not C-contiguous
    got, want = xp.matmul(a, b), np.matmul(a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_scratch_concat_reuses_one_buffer_per_slot_and_shape_and_never_mixes_slots():
    """WeightTerms stacks its factors with scratch_concat: equal to np.concatenate; the next stack of
    the same slot and shape lands in the same memory (no fresh pages at every training step); two
    slots of one shape (the left and right factors of an RNN weight) never share a buffer."""
    backend = get_backend("cpu")
    rng = np.random.default_rng(0)
    lefts = [rng.standard_normal((4, 3)) for _ in range(5)]
    rights = [rng.standard_normal((4, 3)) for _ in range(5)]
    left, right = backend.scratch_concat(lefts, 0), backend.scratch_concat(rights, 1)
    np.testing.assert_array_equal(left, np.concatenate(lefts))
    np.testing.assert_array_equal(right, np.concatenate(rights))  # slot 1 did not overwrite slot 0
    assert not np.shares_memory(left, right)
    again = backend.scratch_concat(rights, 0)
    assert np.shares_memory(again, left) and np.array_equal(again, np.concatenate(rights))
    mixed = [np.ones((2, 3), np.float32), np.ones((1, 3), np.float64)]
    assert backend.scratch_concat(mixed, 0).dtype == np.concatenate(mixed).dtype  # not cast into a buffer


def test_scratch_concat_keeps_at_most_its_byte_budget_and_one_store_per_thread(monkeypatch):
    import threading

    backend = get_backend("cpu")
    monkeypatch.setattr(type(backend), "SCRATCH_BYTES", 1000)
    big = [np.ones((10, 10)), np.ones((10, 10))]  # 1600 bytes: over the budget, made afresh each time
    assert not np.shares_memory(backend.scratch_concat(big, 0), backend.scratch_concat(big, 0))
    small = [np.ones((5, 10))]  # 400 bytes each: the third shape would pass 1000, so the store restarts
    for rows in (5, 6, 7):
        backend.scratch_concat([np.ones((rows, 10))] + small, 0)
    assert sum(b.nbytes for b in backend._scratch.buffers.values()) <= 1000
    seen = []
    worker = threading.Thread(target=lambda: seen.append(backend.scratch_concat(small, 0)))
    worker.start()
    worker.join()
    assert not np.shares_memory(seen[0], backend.scratch_concat(small, 0))  # each thread its own buffers
