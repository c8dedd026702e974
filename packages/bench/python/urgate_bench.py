"""What the benchmarks' PyTorch references share, as @urgate/bench's timeMs is for TypeScript.

runTorchReference puts this folder on PYTHONPATH for the scripts it runs.
"""
import time


def step_times_ms(step, iters):
    """Milliseconds of each of `iters` calls of step(), after one warm-up call."""
    step()  # warm-up
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times
