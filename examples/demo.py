"""Demo: a 3-step recurrent graph, backpropagated; the shared weight's gradient is a sum over time.

    h_t = tanh(x_t * w_x + h_{t-1} * w_h),   L = h_3

Run: python examples/demo.py   (prints the graph and gradients, draws out/demo_graph.svg)
"""

from pathlib import Path

import numpy as np

import tinygrad_rnn as tg

w_x = tg.Tensor(np.array(0.5), requires_grad=True, name="w_x")
w_h = tg.Tensor(np.array(0.8), requires_grad=True, name="w_h")
xs = [1.0, -0.5, 2.0]

h = tg.Tensor(np.array(0.0), name="h0")
hiddens = []
for t, x in enumerate(xs, start=1):
    with tg.scope(f"t={t}"):
        h = (w_x * x + w_h * h).tanh()
    h.retain_grad()
    hiddens.append(h)
loss = h
loss.backward()

print("recorded graph:")
for node in tg.walk(loss):
    inputs = ", ".join(f"#{p.id}" for p in node.inputs)
    print(f"  #{node.id:<3} {node.op or node.name or 'const':<6} scope={node.scope or '-':<5} inputs=[{inputs}]")
print(f"\nL = h_3 = {loss.item():.6f}")
print(f"dL/dw_x = {w_x.grad.item():.6f}")
print(f"dL/dw_h = {w_h.grad.item():.6f}")

# The same gradient by the hand-expanded chain rule: one path per time step.
hs = [0.0] + [h.item() for h in hiddens]
dh = 1.0  # dL/dh_3
terms = []
for t in range(3, 0, -1):
    dz = dh * (1 - hs[t] ** 2)  # through tanh
    terms.append(dz * hs[t - 1])  # dL/dw_h |_(t)
    dh = dz * w_h.item()  # to h_{t-1}
print("dL/dw_h by hand = " + " + ".join(f"{v:.6f}" for v in reversed(terms)) + f" = {sum(terms):.6f}")

# The picture of the same graph: the shared weights drawn once, fanning out into every step.
picture = tg.viz.draw_graph(loss, params={"w_x": w_x, "w_h": w_h})
out = Path("out")
out.mkdir(exist_ok=True)
(out / "demo_graph.dot").write_text(picture.source)
try:
    print(f"\ngraph picture: {picture.render(out / 'demo_graph.svg')}")
except tg.viz.DotNotFoundError as error:
    print(f"\ngraph DOT text: {out / 'demo_graph.dot'} ({error.args[0].splitlines()[0]})")
