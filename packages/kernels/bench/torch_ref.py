"""PyTorch reference timings for the kernels benchmark (bench.ts runs this).

For each shape: ms per training iteration (forward, loss = <R, outputs>,
backward, Adam step) of torch.nn.LSTM, torch.nn.GRU and a step-by-step
UR-LSTM written with torch ops (the way one writes a custom cell in PyTorch).
Thread settings come from the caller (torch.set_num_threads via --threads,
OPENBLAS_NUM_THREADS via the environment). Prints one JSON object.
Usage: torch_ref.py --threads N --shapes '[{"B":64,"n":8,"H":256,"T":100}]' --iters 3
(with packages/bench/python on PYTHONPATH, as @urgate/bench's runTorchReference runs it)
"""
import argparse

import torch
from urgate_bench import print_results, reference_args, step_times_ms


class URLSTM(torch.nn.Module):
    """UR-LSTM (LAYOUT.md): blocks f r u o of one linear map of [x, h]."""

    def __init__(self, n, d):
        super().__init__()
        self.d = d
        self.lin = torch.nn.Linear(n + d, 4 * d)

    def forward(self, xs, h, c):
        outs = []
        for x in xs:
            a = self.lin(torch.cat([x, h], dim=1))
            f, r, u, o = a.chunk(4, dim=1)
            f, r, u, o = torch.sigmoid(f), torch.sigmoid(r), torch.tanh(u), torch.sigmoid(o)
            g = 2 * r * f + (1 - 2 * r) * f * f
            c = g * c + (1 - g) * u
            h = o * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs)


def time_iteration(model, run, R, iters):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = (run() * R).sum()
        loss.backward()
        opt.step()

    times = sorted(step_times_ms(step, iters))
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iters", type=int, default=3)
    a, shapes = reference_args(p)
    results = []
    for s in shapes:
        B, n, H, T = s["B"], s["n"], s["H"], s["T"]
        xs = torch.randn(T, B, n)
        R = torch.randn(T, B, H)
        h0 = torch.zeros(1, B, H)
        iters = s.get("iters", a.iters)
        lstm = torch.nn.LSTM(n, H)
        gru = torch.nn.GRU(n, H)
        ur = URLSTM(n, H)
        row = {"shape": s, "torch_threads": torch.get_num_threads()}
        row["nn.LSTM"] = time_iteration(lstm, lambda: lstm(xs, (h0, h0))[0], R, iters)
        row["nn.GRU"] = time_iteration(gru, lambda: gru(xs, h0)[0], R, iters)
        row["UR-LSTM step-by-step"] = time_iteration(ur, lambda: ur(xs, h0[0], h0[0]), R, iters)
        results.append(row)
    print_results(results)


if __name__ == "__main__":
    main()
