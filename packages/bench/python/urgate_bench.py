"""What the benchmarks' PyTorch references share, as @urgate/bench's timeMs is for TypeScript.

runTorchReference puts this folder on PYTHONPATH for the scripts it runs, with --threads (the
thread setting it measures under) and the script's own arguments.
"""
import argparse
import json
import time

import torch


def reference_args(parser=None):
    """The parsed arguments, --threads (applied: torch.set_num_threads, 0 leaves the default) and
    --shapes (a JSON list) among them, and the shapes; torch seeded with 0."""
    p = parser or argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    p.add_argument("--shapes", required=True, help="JSON list of shapes")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a, json.loads(a.shapes)


def print_results(results):
    """The one JSON object runTorchReference reads: the torch version and a result per shape."""
    print(json.dumps({"torch": torch.__version__, "results": results}))


def step_times_ms(step, iters):
    """Milliseconds of each of `iters` calls of step(), after one warm-up call."""
    step()  # warm-up
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times
