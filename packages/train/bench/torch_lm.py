"""PyTorch LM training throughput for lm-bench.ts: embedding (tied) -> one recurrent layer ->
softmax layer -> cross-entropy -> backward -> Adam with clip 0.1, state carried (detached).
Cells: nn.LSTM (the `-` LSTM) and a step-by-step UR-LSTM with torch ops.
Usage: torch_lm.py --threads N --V 8000 --H 1024 --B 32 --T 128 --iters 3. Prints JSON."""
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


class LM(torch.nn.Module):
    def __init__(self, cell, V, H):
        super().__init__()
        self.emb = torch.nn.Embedding(V, H)
        self.rnn = torch.nn.LSTM(H, H) if cell == "lstm" else URLSTM(H, H)
        self.bias = torch.nn.Parameter(torch.zeros(V))

    def forward(self, tokens, state):
        out, state = self.rnn(self.emb(tokens), state)
        return out.reshape(-1, out.shape[-1]) @ self.emb.weight.t() + self.bias, state


def tokens_per_second(cell, V, H, B, T, iters):
    model = LM(cell, V, H)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, V, (T + 1, B), generator=g) for _ in range(iters + 1)]
    zeros = torch.zeros(B, H)
    state = (zeros[None], zeros[None]) if cell == "lstm" else (zeros, zeros)

    def step(batch, state):
        opt.zero_grad()
        logits, state = model(batch[:-1], state)
        loss = torch.nn.functional.cross_entropy(logits, batch[1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        return tuple(s.detach() for s in state)

    state = step(batches[0], state)  # warm-up
    t0 = time.perf_counter()
    for batch in batches[1:]:
        state = step(batch, state)
    return B * T * iters / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0)
    for k, v in (("V", 8000), ("H", 1024), ("B", 32), ("T", 128), ("iters", 3)):
        p.add_argument(f"--{k}", type=int, default=v)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "nn.LSTM": tokens_per_second("lstm", a.V, a.H, a.B, a.T, a.iters),
        "step-by-step UR-LSTM": tokens_per_second("ur", a.V, a.H, a.B, a.T, a.iters),
    }))


if __name__ == "__main__":
    main()
