# %% [markdown]
# # Lesson 9 — Backward, step by step
#
# **What this lesson teaches.** What `loss.backward()` does, one op at a time, on a 3-step RNN:
# `viz.backward_frames` writes one picture per backward step (the op that just ran outlined, the
# gradients accumulating in the tensors as they arrive). Here they are a filmstrip to step through
# in class: with a slider when the notebook runs live and `ipywidgets` is installed, as plain frames
# otherwise (as on the static site). First a hand-built RNN from `Tensor` ops, then `nn.RNN`.

# %%
import tempfile
from pathlib import Path

from IPython.display import HTML, display

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import backward_frames

tg.manual_seed(0)
W_xh = tg.randn(2, 2, requires_grad=True, name="W_xh")
W_hh = tg.randn(2, 2, requires_grad=True, name="W_hh")
x = tg.randn(3, 1, 2)
h = tg.zeros(1, 2, name="h0")
for t in range(3):
    with tg.scope(f"t={t}"):
        h = (x[t] @ W_xh + h @ W_hh).tanh()  # h_t = tanh(x_t W_xh + h_{t-1} W_hh)
loss = h.sum()

frames = backward_frames(loss, Path(tempfile.mkdtemp()) / "frames", format="svg")
ops = [node for node in tg.walk(loss) if node.op is not None and node.requires_grad]
print(f"{len(frames)} frames for {len(ops)} ops: frame 0 before backward, then one per op")
assert len(frames) == len(ops) + 1
assert all(Path(f).read_text().lstrip().startswith(("<?xml", "<svg")) for f in frames)
assert W_hh.grad is None  # backward_frames ran its own backward: our .grad is untouched


# %%
def filmstrip(frames: list[str]) -> None:
    """A slider over the frames if ipywidgets is available, else every frame in a row."""
    svgs = [Path(f).read_text() for f in frames]
    try:
        import ipywidgets

        slider = ipywidgets.IntSlider(0, 0, len(svgs) - 1, description="backward step")
        picture = ipywidgets.HTML(svgs[0])
        slider.observe(lambda change: setattr(picture, "value", svgs[change["new"]]), names="value")
        display(ipywidgets.VBox([slider, picture]))
    except ImportError:
        pass
    cells = "".join(
        f'<figure style="display:inline-block;margin:0 1em;vertical-align:top"><figcaption>step {k}</figcaption>{svg}</figure>'
        for k, svg in enumerate(svgs)
    )
    display(HTML(f'<div style="overflow-x:auto;white-space:nowrap">{cells}</div>'))


filmstrip(frames)

# %% [markdown]
# Read the frames left to right: backward starts at the loss, visits step 2's ops, then step 1's,
# then step 0's, and `W_hh` receives one `+=` per step. The last frame holds the full gradients:

# %%
loss.backward()
print("dL/dW_hh =", W_hh.grad.numpy().round(4))
assert W_hh.grad.shape == (2, 2)

# %% [markdown]
# ## The same for `nn.RNN`, one box per step
#
# With `detail="step"` a frame shows a whole time step as one box (the op that just ran is inside
# the outlined box); there is still one frame per op that backward runs.

# %%
rnn = nn.RNN(2, 2)
output, _ = rnn(x)
loss_nn = output[-1].sum()
frames_nn = backward_frames(loss_nn, Path(tempfile.mkdtemp()) / "frames", params=rnn, detail="step", format="svg")
print(len(frames_nn), "frames")
assert len(frames_nn) == 1 + sum(node.op is not None and node.requires_grad for node in tg.walk(loss_nn))
filmstrip(frames_nn)

# %% [markdown]
# ## Exercises
#
# 1. How many frames does a `T`-step version of the hand-built RNN give? Write
#    `frames_for(T)` as a formula (count the ops per step) and check it with `backward_frames`.
# 2. Write `order_of_steps(T)`: the list of time steps in the order backward first reaches them
#    (use `tg.walk`'s topological order: backward visits it in reverse).


# %% tags=["solution"]
def frames_for(T: int) -> int:
    # BEGIN SOLUTION
    return 4 * T + 1 + 1  # matmul, matmul, add, tanh per step; the sum; frame 0
    # END SOLUTION


# %% tags=["check"]
def build(T: int) -> tg.Tensor:
    h = tg.zeros(1, 2)
    for t in range(T):
        with tg.scope(f"t={t}"):
            h = (tg.randn(1, 2) @ W_xh + h @ W_hh).tanh()
    return h.sum()


for T in (1, 2, 4):
    assert frames_for(T) == len(backward_frames(build(T), Path(tempfile.mkdtemp()), format="svg")), T


# %% tags=["solution"]
def order_of_steps(T: int) -> list[int]:
    # BEGIN SOLUTION
    seen = []
    for node in reversed(list(tg.walk(build(T)))):
        step = tg.bptt.scope_key(node.scope or "", "t")
        if step is not None and step not in seen:
            seen.append(step)
    return seen
    # END SOLUTION


# %% tags=["check"]
assert order_of_steps(3) == [2, 1, 0]
