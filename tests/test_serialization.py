"""Checkpoints: bit-exact round trips, devices, atomic writes, and clear errors for bad files."""

import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn


def _state():
    """Keys with dots, in an order that is not sorted; values that test every bit (nan, inf, -0.0)."""
    rng = np.random.default_rng(0)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    return OrderedDict(
        [
            ("rnn.weight_ih_l0", Tensor(rng.standard_normal((4, 3)).astype(np.float32))),
            ("rnn.bias_hh_l1_reverse", Tensor(np.concatenate([rng.standard_normal(6), special]))),
            ("embedding.weight", rng.standard_normal((2, 5)).astype(np.float32)),  # a plain array
            ("a.b.c.step", Tensor(np.array(7, dtype=np.int64))),
            ("mask", Tensor(np.array([True, False]))),
        ]
    )


def _bits(value):
    return (value.numpy() if isinstance(value, Tensor) else value).tobytes()


@pytest.mark.parametrize("target", ["cpu", "array_api_strict"])
def test_round_trip_is_bit_exact_keeps_order_and_moves_devices(tmp_path, target):
    if target == "array_api_strict":
        pytest.importorskip("array_api_strict")
    state = _state()
    tg.save(state, tmp_path / "model.npz")
    loaded = tg.load(tmp_path / "model.npz", device=target)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert isinstance(loaded[key], Tensor) and loaded[key].device == target
        original = value.numpy() if isinstance(value, Tensor) else value
        assert loaded[key].numpy().dtype == original.dtype and loaded[key].shape == original.shape
        assert _bits(loaded[key]) == _bits(value), key


def test_saved_on_another_device_and_read_by_plain_numpy(tmp_path):
    pytest.importorskip("array_api_strict")
    w = tg.randn(3, 2, device="array_api_strict")
    tg.save({"w": w, "raw": w.data}, str(tmp_path / "w.npz"))  # a Tensor and a raw array of that device
    with np.load(tmp_path / "w.npz", allow_pickle=False) as archive:
        assert archive.files == ["w", "raw"]
        np.testing.assert_array_equal(archive["w"], w.numpy())
        np.testing.assert_array_equal(archive["raw"], w.numpy())


class _Tiny(nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.weight = nn.Parameter(tg.randn(3, 2, dtype=dtype))
        self.bias = nn.Parameter(tg.randn(3, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_state_dict_round_trip(tmp_path, dtype, device):
    model, other = _Tiny(dtype), _Tiny(dtype).to(device)
    tg.save(model.state_dict(), tmp_path / "ckpt.npz")
    other.load_state_dict(tg.load(tmp_path / "ckpt.npz", device=device))
    for (name, p), (_, q) in zip(model.named_parameters(), other.named_parameters()):
        assert q.device == device and _bits(p) == _bits(q), name


def test_save_replaces_an_existing_checkpoint_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save({"x": tg.zeros(2)}, path)
    tg.save({"y": tg.ones(3)}, path)
    assert list(tg.load(path)) == ["y"]
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_save_writes_a_synced_temporary_file_in_the_same_directory_then_renames(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", a, b)), real_replace(a, b))[1])
    path = tmp_path / "ckpt.npz"
    tg.save({"x": tg.zeros(2)}, path)
    replace = next(e for e in events if e[0] == "replace")
    assert events.index("fsync") < events.index(replace)  # data on disk before the rename
    assert os.path.dirname(replace[1]) == str(tmp_path) and replace[2] == str(path)


def test_a_crash_while_writing_keeps_the_old_checkpoint_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"x": tg.Tensor([1.0, 2.0])}, path)
    old_bytes = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half of a zip")  # some bytes reach the temporary file, then it dies
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"x": tg.Tensor([3.0, 4.0])}, path)
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    monkeypatch.undo()
    assert tg.load(path)["x"].tolist() == [1.0, 2.0]


def _write_bad_files(tmp_path):
    """name -> path of a file that is not a usable checkpoint."""
    good = tmp_path / "good.npz"
    tg.save(_state(), good)
    data = good.read_bytes()
    bad = {
        "text": b"hello, I am not a checkpoint\n",
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "truncated-end": data[:-10],
        "corrupt": data[:100] + bytes(b ^ 0xFF for b in data[100:140]) + data[140:],
    }
    paths = {}
    for name, content in bad.items():
        paths[name] = tmp_path / f"{name}.npz"
        paths[name].write_bytes(content)
    paths["npy"] = tmp_path / "single.npy"
    np.save(paths["npy"], np.zeros(3))
    paths["pickled"] = tmp_path / "pickled.npz"
    np.savez(paths["pickled"], obj=np.array([{"a": 1}], dtype=object))
    paths["text-array"] = tmp_path / "text-array.npz"
    np.savez(paths["text-array"], **{"weight": np.array(["a", "b"])})  # a .npy member, but of strings
    paths["records"] = tmp_path / "records.npz"
    np.savez(paths["records"], **{"weight": np.zeros(2, dtype=[("x", "f4"), ("y", "i4")])})
    paths["zip-of-text"] = tmp_path / "zip.npz"
    with zipfile.ZipFile(paths["zip-of-text"], "w") as archive:
        archive.writestr("readme.txt", "not an array")
    return paths


def test_bad_files_raise_a_clear_error_and_change_nothing(tmp_path):
    model = _Tiny("float32")
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    for name, path in _write_bad_files(tmp_path).items():
        content = path.read_bytes()
        with pytest.raises(ValueError, match="not a valid checkpoint") as error:
            model.load_state_dict(tg.load(path))
        assert str(path) in str(error.value), name
        assert path.read_bytes() == content, name  # the file is left as it was
    for param_name, p in model.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[param_name])


def test_missing_file_raises_file_not_found_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file at .*nowhere.npz"):
        tg.load(tmp_path / "nowhere.npz")


def test_save_rejects_what_it_cannot_store_and_writes_nothing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="'name'.*only numeric"):
        tg.save({"w": tg.zeros(2), "name": "lstm"}, path)
    with pytest.raises(ValueError, match="reserve"):
        tg.save({"file": tg.zeros(2)}, path)
    with pytest.raises(TypeError, match="state dict"):
        tg.save([tg.zeros(2)], path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save({"w": tg.zeros(2)}, tmp_path / "missing_dir" / "x.npz")
    assert os.listdir(tmp_path) == []


def test_optimizer_state_dict_is_flattened_into_dotted_keys(tmp_path):
    w = tg.zeros(2, requires_grad=True)
    opt = tg.optim.Adam([w], lr=0.01, betas=(0.8, 0.9), amsgrad=True)
    w.grad = tg.ones(2)
    opt.step()
    tg.save(opt.state_dict(), tmp_path / "opt.npz")
    loaded = tg.load(tmp_path / "opt.npz")
    assert list(loaded) == [
        "state.0.step",
        "state.0.exp_avg",
        "state.0.exp_avg_sq",
        "state.0.max_exp_avg_sq",
        "param_groups.0.lr",
        "param_groups.0.betas",
        "param_groups.0.eps",
        "param_groups.0.weight_decay",
        "param_groups.0.amsgrad",
        "param_groups.0.params",
    ]
    fresh = tg.optim.Adam([tg.zeros(2, requires_grad=True)])
    fresh.load_state_dict(loaded)
    group = fresh.param_groups[0]
    assert (group["lr"], group["betas"], group["amsgrad"]) == (0.01, (0.8, 0.9), True)
