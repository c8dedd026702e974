# PyTorch's nn.AdaptiveLogSoftmaxWithLoss as the reference of the adaptive softmax
# kernel (adaptive-softmax.test.ts): reads cases as JSON on stdin, with urgate's
# weights (x W convention), and writes per case the loss, the per-row log p(target),
# the gradients (urgate's layout again) and, when asked, the full log_prob.
# Computed in float64 from the same float32 values.
import json
import sys

import torch

torch.set_grad_enabled(True)


def run(case):
    V, d, cutoffs, div = case["vocabSize"], case["inputSize"], case["cutoffs"], case["tailDiv"]
    m = torch.nn.AdaptiveLogSoftmaxWithLoss(d, V, cutoffs, div_value=div, head_bias=True).double()
    p = case["params"]
    c0, n = cutoffs[0], len(cutoffs)

    def mat(values, rows, cols):
        return torch.tensor(values, dtype=torch.float64).reshape(rows, cols)

    with torch.no_grad():
        shortlist = mat(p["shortlist"], c0, d) if case["tied"] else mat(p["shortlist"], d, c0).t()
        m.head.weight.copy_(torch.cat([shortlist, mat(p["clusters"], d, n).t()], 0))
        m.head.bias.copy_(torch.tensor(p["headB"], dtype=torch.float64))
        for i in range(n):
            proj, out = m.tail[i][0].weight, m.tail[i][1].weight  # [h, d], [size, h]
            h, size = proj.shape[0], out.shape[0]
            proj.copy_(mat(p["proj"][i], d, h).t())
            out.copy_(mat(p["out"][i], h, size).t())
    x = torch.tensor(case["x"], dtype=torch.float64).reshape(-1, d).requires_grad_(True)
    targets = torch.tensor(case["targets"], dtype=torch.long)
    logp, loss = m(x, targets)
    loss.backward()
    gw = m.head.weight.grad

    def grad(w):  # a tail no target falls in is never run: its gradient is zero
        return (w.grad if w.grad is not None else torch.zeros_like(w)).t().reshape(-1).tolist()

    grads = {
        "shortlist": (gw[:c0] if case["tied"] else gw[:c0].t()).reshape(-1).tolist(),
        "clusters": gw[c0:].t().reshape(-1).tolist(),
        "headB": m.head.bias.grad.tolist(),
        "proj": [grad(m.tail[i][0].weight) for i in range(n)],
        "out": [grad(m.tail[i][1].weight) for i in range(n)],
    }
    result = {
        "loss": loss.item(),
        "logp": logp.tolist(),
        "dx": x.grad.reshape(-1).tolist(),
        "grads": grads,
        "tailHidden": [m.tail[i][0].weight.shape[0] for i in range(n)],
    }
    if case.get("logProb"):
        with torch.no_grad():
            result["logProb"] = m.log_prob(x).reshape(-1).tolist()
    return result


print(json.dumps([run(c) for c in json.load(sys.stdin)]))
