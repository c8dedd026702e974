"""PyTorch reference timings of the Relational Memory Core for the kernels benchmark.

The same RMC as @urgate/rmc (packages/rmc/README.md "One step"), written with torch ops the
way one writes it in PyTorch: input projections and their gate terms for all steps at once,
then per step [M; x̂], multi-head attention, the shared MLP with layer norms, and the gates
(UR-: refine gate, I = 1 - g; '-': independent sigmoids). ms per training iteration
(forward, loss = <R, outputs>, backward, clipping, Adam): the best of `iters` iterations
after a warm-up (load on a shared machine only ever slows an iteration). Thread settings come from the caller
(torch.set_num_threads via --threads, OPENBLAS_NUM_THREADS via the environment).
Prints one JSON object.
Usage: torch_rmc.py --threads N --shapes '[{"n":64,"N":4,"h":128,"H":4,"B":32,"T":50,"iters":3}]'
(with packages/bench/python on PYTHONPATH, as @urgate/bench's runTorchReference runs it)
"""
import torch
from torch import nn
from urgate_bench import print_results, reference_args, step_times_ms


class RMC(nn.Module):
    def __init__(self, n, slots, head_size, heads, blocks=1, mlp_layers=2, mechanism="UR-"):
        super().__init__()
        D = head_size * heads
        self.N, self.D, self.H, self.h, self.mechanism = slots, D, heads, head_size, mechanism
        F = heads * 3 * head_size
        self.inp = nn.Linear(n, D)
        self.qkv = nn.ModuleList(nn.Linear(D, F) for _ in range(blocks))
        self.qkv_norm = nn.ModuleList(nn.LayerNorm(F) for _ in range(blocks))
        self.att_norm = nn.ModuleList(nn.LayerNorm(D) for _ in range(blocks))
        self.mlp_norm = nn.ModuleList(nn.LayerNorm(D) for _ in range(blocks))
        self.mlp = nn.ModuleList(nn.Linear(D, D) for _ in range(mlp_layers))
        self.gate_memory = nn.Linear(D, 2 * D)
        self.gate_input = nn.Linear(D, 2 * D)

    def attend(self, m):
        B, S, D = m.shape
        for qkv, qn, an, mn in zip(self.qkv, self.qkv_norm, self.att_norm, self.mlp_norm):
            f = qn(qkv(m)).view(B, S, self.H, 3 * self.h).transpose(1, 2)
            q, k, v = f.split(self.h, dim=-1)
            w = torch.softmax((q * self.h**-0.5) @ k.transpose(-1, -2), dim=-1)
            m = an(m + (w @ v).transpose(1, 2).reshape(B, S, D))
            h = m
            for i, lin in enumerate(self.mlp):
                h = lin(torch.relu(h) if i > 0 else h)
            m = mn(m + h)
        return m

    def forward(self, xs, memory):
        xh = self.inp(xs)  # [T, B, D]
        gi = self.gate_input(xh)  # [T, B, 2D]
        outs = []
        for t in range(xs.shape[0]):
            attended = self.attend(torch.cat([memory, xh[t].unsqueeze(1)], dim=1))[:, : self.N]
            pre = self.gate_memory(torch.tanh(memory)) + gi[t].unsqueeze(1)
            a, f = pre.chunk(2, dim=-1)
            if self.mechanism == "UR-":
                f, r = torch.sigmoid(f), torch.sigmoid(a)
                forget = f * (2 * r + (1 - 2 * r) * f)
                inp = 1 - forget
            else:  # '-', Sonnet's forget_bias 1
                forget, inp = torch.sigmoid(f + 1.0), torch.sigmoid(a)
            memory = inp * torch.tanh(attended) + forget * memory
            outs.append(memory.reshape(memory.shape[0], -1))
        return torch.stack(outs)


def time_iteration(model, xs, m0, R, iters):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = (model(xs, m0) * R).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return min(step_times_ms(step, iters))


def main():
    _, shapes = reference_args()
    results = []
    for s in shapes:
        n, N, h, H, B, T = s["n"], s["N"], s["h"], s["H"], s["B"], s["T"]
        model = RMC(n, N, h, H, mechanism=s.get("mechanism", "UR-"))
        xs = torch.randn(T, B, n)
        m0 = torch.eye(N, h * H).expand(B, N, h * H).contiguous()
        R = torch.randn(T, B, N * h * H)
        ms = time_iteration(model, xs, m0, R, s.get("iters", 2))
        results.append({"shape": s, "torch_threads": torch.get_num_threads(), "ms": ms})
    print_results(results)


if __name__ == "__main__":
    main()
