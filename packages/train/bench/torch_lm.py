"""PyTorch LM training throughput for lm-bench.ts, the same model as urgate's: embedding ->
dropout -> recurrent layers -> dropout -> optional layer norm -> tied softmax layer (+ bias) ->
cross-entropy -> backward -> Adam with clip 0.1, state carried (detached), training mode.
Cells: nn.LSTM (the `-` LSTM) and a step-by-step UR-LSTM with torch ops.
Usage: torch_lm.py --threads N --V 8000 --H 1024 --B 32 --T 128 --layers 1 --layernorm 0
--dropout 0.1 --iters 3. Prints JSON."""
import argparse
import json
import time

import torch


class URLSTM(torch.nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.lin = torch.nn.Linear(n + d, 4 * d)

    def forward(self, xs, state):
        h, c = state
        outs = []
        for x in xs:
            f, r, u, o = self.lin(torch.cat([x, h], dim=1)).chunk(4, dim=1)
            f, r, u, o = torch.sigmoid(f), torch.sigmoid(r), torch.tanh(u), torch.sigmoid(o)
            g = 2 * r * f + (1 - 2 * r) * f * f
            c = g * c + (1 - g) * u
            h = o * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs), (h, c)


class URStack(torch.nn.Module):
    def __init__(self, H, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(URLSTM(H, H) for _ in range(layers))

    def forward(self, xs, states):
        out = []
        for layer, state in zip(self.layers, states):
            xs, s = layer(xs, state)
            out.append(s)
        return xs, out


class LM(torch.nn.Module):
    def __init__(self, cell, V, H, layers, layernorm, dropout):
        super().__init__()
        self.emb = torch.nn.Embedding(V, H)
        self.rnn = torch.nn.LSTM(H, H, layers) if cell == "lstm" else URStack(H, layers)
        self.drop = torch.nn.Dropout(dropout)
        self.norm = torch.nn.LayerNorm(H) if layernorm else torch.nn.Identity()
        self.bias = torch.nn.Parameter(torch.zeros(V))

    def forward(self, tokens, state):
        out, state = self.rnn(self.drop(self.emb(tokens)), state)
        h = self.norm(self.drop(out)).reshape(-1, out.shape[-1])
        return h @ self.emb.weight.t() + self.bias, state


def detach(state):
    if isinstance(state, list):
        return [detach(s) for s in state]
    return tuple(s.detach() for s in state)


def tokens_per_second(cell, a):
    model = LM(cell, a.V, a.H, a.layers, a.layernorm, a.dropout)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, a.V, (a.T + 1, a.B), generator=g) for _ in range(a.iters + 1)]
    zeros = torch.zeros(a.B, a.H)
    if cell == "lstm":
        state = (torch.zeros(a.layers, a.B, a.H), torch.zeros(a.layers, a.B, a.H))
    else:
        state = [(zeros, zeros) for _ in range(a.layers)]

    def step(batch, state):
        opt.zero_grad()
        logits, state = model(batch[:-1], state)
        loss = torch.nn.functional.cross_entropy(logits, batch[1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        return detach(state)

    state = step(batches[0], state)  # warm-up
    t0 = time.perf_counter()
    for batch in batches[1:]:
        state = step(batch, state)
    return a.B * a.T * a.iters / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0)
    for k, v in (("V", 8000), ("H", 1024), ("B", 32), ("T", 128), ("iters", 3), ("layers", 1), ("layernorm", 0)):
        p.add_argument(f"--{k}", type=int, default=v)
    p.add_argument("--dropout", type=float, default=0.1)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "nn.LSTM": tokens_per_second("lstm", a),
        "step-by-step UR-LSTM": tokens_per_second("ur", a),
    }))


if __name__ == "__main__":
    main()
