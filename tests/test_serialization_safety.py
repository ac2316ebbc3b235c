"""Hostile and unlucky checkpoints: size limits, zip bombs, killed saves, modes, links, key clashes,
and the safetensors format (round trips with PyTorch)."""

import io
import os
import stat
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.serialization import DEFAULT_MAX_BYTES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_header(shape, dtype="<f8"):
    """A .npy header (version 1.0) claiming ``shape`` of ``dtype``, with no data after it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _zip_with(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _patch_claimed_size(path, claimed):
    """Rewrite the uncompressed size in the local and central headers: a member that claims ``claimed`` bytes."""
    data = bytearray(path.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 22 : local + 26] = struct.pack("<I", claimed)
    data[central + 24 : central + 28] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))


# --- save: nothing is dropped, nothing is left behind ------------------------------------------


def test_save_refuses_two_entries_that_flatten_to_one_key_and_writes_nothing(tmp_path):
    path = tmp_path / "clash.npz"
    with pytest.raises(ValueError, match="'a.b'"):
        tg.save({"a.b": tg.zeros(2), "a": {"b": tg.ones(2)}}, path)
    assert os.listdir(tmp_path) == []


def test_save_to_a_directory_and_load_of_a_non_path_are_clear_errors(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        tg.save({"w": tg.zeros(2)}, tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        tg.load(tmp_path)
    with pytest.raises(TypeError, match="path must be a file name.*int 12345"):
        tg.load(12345)
    with pytest.raises(TypeError, match="path must be a file name"):
        tg.save({"w": tg.zeros(2)}, None)
    with pytest.raises(TypeError, match="max_bytes"):
        tg.load(tmp_path / "x.npz", max_bytes="big")


def test_replacing_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "secret.npz"
    tg.save({"w": tg.zeros(2)}, path)
    os.chmod(path, 0o600)
    tg.save({"w": tg.ones(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tg.load(path)["w"].tolist() == [1.0, 1.0]


def test_saving_to_a_symlink_replaces_the_file_it_points_to_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "model-7.npz"
    tg.save({"w": tg.zeros(2)}, real)
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    tg.save({"w": tg.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert tg.load(real)["w"].tolist() == [1.0, 1.0]
    assert sorted(os.listdir(tmp_path / "runs")) == ["model-7.npz"]  # the temporary file went beside the real one


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    """A subprocess is killed (SIGKILL) between writing its temporary file and renaming it."""
    target = tmp_path / "ckpt.npz"
    tg.save({"w": tg.zeros(3)}, target)
    child = textwrap.dedent(
        f"""
        import os, signal
        import tinygrad_rnn as tg
        os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)   # dies just before the rename
        tg.save({{"w": tg.ones(1000)}}, {str(target)!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", child], env={**os.environ, "PYTHONPATH": ROOT}, timeout=60)
    assert result.returncode == -9
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.npz.")
    assert tg.load(target)["w"].tolist() == [0.0, 0.0, 0.0]  # the old checkpoint is intact
    tg.save({"w": tg.ones(2)}, target)
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_a_save_in_progress_elsewhere_keeps_its_temporary_file(tmp_path):
    """The temporary file of a running process (here: this test's parent, pid 1's stand-in) is not touched."""
    busy = tmp_path / f".ckpt.npz.{os.getppid()}.0123456789ab.tmp"
    busy.write_bytes(b"being written")
    tg.save({"w": tg.ones(2)}, tmp_path / "ckpt.npz")
    assert busy.exists()


# --- load: limits checked before reading -------------------------------------------------------


def test_a_member_claiming_a_huge_shape_is_refused_before_any_allocation(tmp_path):
    path = tmp_path / "huge-shape.npz"
    _zip_with(path, {"w.npy": _npy_header((10**6, 10**6)) + b"\0" * 64})  # claims 8 TB, holds 64 bytes
    with pytest.raises(ValueError, match=r"not a valid checkpoint.*claims shape \(1000000, 1000000\)"):
        tg.load(path)


def test_a_zip_bomb_is_refused_by_max_bytes_and_loads_when_allowed(tmp_path):
    zeros = np.zeros(4 * 2**20 // 8)  # 4 MiB of zeros deflate to a few KB
    path = tmp_path / "bomb.npz"
    _zip_with(path, {"w.npy": _npy_bytes(zeros)}, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"more than max_bytes=1,048,576.*max_bytes=None"):
        tg.load(path, max_bytes=2**20)
    assert tg.load(path, max_bytes=None)["w"].shape == zeros.shape  # trusted: streamed in, bit for bit
    assert DEFAULT_MAX_BYTES == 2**30


def test_a_3_gb_claim_is_refused_under_a_memory_limit_without_memory_error(tmp_path):
    """The tester's bomb: a small file claiming 3 GB. Under a 1.5 GB address-space limit the old
    loader died with MemoryError; now the claim is refused before anything is allocated."""
    resource = pytest.importorskip("resource")
    del resource
    path = tmp_path / "claims-3gb.npz"
    claimed = 3 * 10**9
    header = _npy_header((claimed // 8,))
    _zip_with(path, {"w.npy": header + zlib.compress(b"")}, compression=zipfile.ZIP_DEFLATED)
    _patch_claimed_size(path, len(header) + claimed)
    child = textwrap.dedent(
        f"""
        import resource
        import tinygrad_rnn as tg
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        try:
            tg.load({str(path)!r})
        except ValueError as error:
            print("refused:", error)
        """
    )
    env = {**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "max_bytes" in result.stdout


def _hostile_files(tmp_path):
    good = _npy_bytes(np.arange(6.0))
    files = {}

    def member_file(name, members, compression=zipfile.ZIP_STORED):
        files[name] = tmp_path / f"{name}.npz"
        _zip_with(files[name], members, compression)

    member_file("bzip2", {"w.npy": good}, zipfile.ZIP_BZIP2)
    member_file("lzma", {"w.npy": good}, zipfile.ZIP_LZMA)
    member_file("short-data", {"w.npy": _npy_header((100,)) + b"\0" * 80})
    member_file("long-data", {"w.npy": good + b"\0" * 8})
    member_file("object-dtype", {"w.npy": _npy_header((2,), "|O")})
    member_file("bad-header", {"w.npy": b"\x93NUMPY\x01\x00\x10\x00{not a dict}    \n"})
    member_file("npy-version-9", {"w.npy": b"\x93NUMPY\x09\x00" + good[8:]})
    member_file("directory", {"w.npy/": b""})
    files["duplicate"] = tmp_path / "duplicate.npz"
    with zipfile.ZipFile(files["duplicate"], "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("w.npy", good)
        archive.writestr("w.npy", good)
    files["encrypted"] = tmp_path / "encrypted.npz"
    _zip_with(files["encrypted"], {"w.npy": good})
    data = bytearray(files["encrypted"].read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit
        at = data.index(signature)
        data[at + offset] |= 0x1
    files["encrypted"].write_bytes(bytes(data))
    files["safetensors-garbage"] = tmp_path / "garbage.safetensors"
    files["safetensors-garbage"].write_bytes(struct.pack("<Q", 12) + b'{"w": 1234}' + b"\0" * 5)
    files["safetensors-long-header"] = tmp_path / "long.safetensors"
    files["safetensors-long-header"].write_bytes(struct.pack("<Q", 10**9) + b"{}")
    return files


def test_every_hostile_file_is_a_value_error_naming_the_file(tmp_path):
    for name, path in _hostile_files(tmp_path).items():
        with pytest.raises(ValueError, match="not a valid checkpoint") as error:
            tg.load(path)
        assert str(path) in str(error.value), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1), length=st.integers(1, 16), value=st.integers(0, 255))
def test_a_damaged_checkpoint_is_always_a_value_error_or_loads_exactly(tmp_path, position, length, value):
    """Any byte run of a good file overwritten: load either refuses with ValueError or returns the arrays
    the CRCs vouch for; never another exception type."""
    path = tmp_path / "good.npz"
    state = {"w": tg.Tensor(np.arange(12.0).reshape(3, 4)), "step": 3}
    tg.save(state, path)
    data = bytearray(path.read_bytes())
    start = int(position * (len(data) - 1))
    data[start : start + length] = bytes([value]) * len(data[start : start + length])
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    try:
        loaded = tg.load(damaged)
    except ValueError as error:
        assert "not a valid checkpoint" in str(error)
    else:
        assert loaded["w"].tolist() == np.arange(12.0).reshape(3, 4).tolist()


# --- devices -----------------------------------------------------------------------------------


def test_a_checkpoint_saved_on_a_device_loads_on_cpu_and_back(tmp_path, device):
    lstm = nn.LSTM(3, 4).to(device)
    tg.save(lstm.state_dict(), tmp_path / "lstm.npz")
    on_cpu = nn.LSTM(3, 4)
    on_cpu.load_state_dict(tg.load(tmp_path / "lstm.npz"))
    back = nn.LSTM(3, 4).to(device)
    back.load_state_dict(tg.load(tmp_path / "lstm.npz", device=device))
    for (name, p), q, r in zip(lstm.named_parameters(), on_cpu.parameters(), back.parameters()):
        assert q.device == "cpu" and r.device == device, name
        assert p.numpy().tobytes() == q.numpy().tobytes() == r.numpy().tobytes(), name


# --- safetensors -------------------------------------------------------------------------------


def test_safetensors_round_trip_keeps_bits_order_and_dtypes(tmp_path):
    pytest.importorskip("safetensors")
    rng = np.random.default_rng(0)
    state = {
        "z.weight": tg.Tensor(rng.standard_normal((3, 2)).astype(np.float32)),
        "a.bias": tg.Tensor(np.array([np.nan, -0.0, np.inf])),
        "step": tg.Tensor(np.array(7, dtype=np.int64)),
        "mask": tg.Tensor(np.array([True, False])),
    }
    path = tmp_path / "model.safetensors"
    tg.save(state, path)
    assert path.read_bytes()[8:9] == b"{"  # really the safetensors format, not an npz named so
    loaded = tg.load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert loaded[key].numpy().dtype == value.numpy().dtype and loaded[key].shape == value.shape
        assert loaded[key].numpy().tobytes() == value.numpy().tobytes(), key


def test_safetensors_refuses_complex_and_respects_max_bytes(tmp_path):
    pytest.importorskip("safetensors")
    with pytest.raises(TypeError, match="complex128.*save to a .npz"):
        tg.save({"w": np.zeros(2, dtype=complex)}, tmp_path / "c.safetensors")
    assert os.listdir(tmp_path) == []
    tg.save({"w": tg.zeros(1000)}, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="more than max_bytes=100"):
        tg.load(tmp_path / "w.safetensors", max_bytes=100)


def test_our_lstm_loads_in_pytorch_through_safetensors_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file

    tg.manual_seed(0)
    ours = nn.LSTM(3, 5, num_layers=2)
    tg.save(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs = torch.nn.LSTM(3, 5, num_layers=2)
    theirs.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    x = np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32)
    expected = theirs(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(ours(tg.Tensor(x))[0].numpy(), expected, rtol=1e-5, atol=1e-6)

    torch.manual_seed(1)
    trained_in_torch = torch.nn.LSTM(3, 5, num_layers=2)
    save_file(trained_in_torch.state_dict(), str(tmp_path / "theirs.safetensors"))
    back = nn.LSTM(3, 5, num_layers=2)
    back.load_state_dict(tg.load(tmp_path / "theirs.safetensors"))
    expected = trained_in_torch(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(back(tg.Tensor(x))[0].numpy(), expected, rtol=1e-5, atol=1e-6)
