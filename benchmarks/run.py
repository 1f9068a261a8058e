"""The benchmark suite: ``python benchmarks/run.py`` prints one table.

For each program: the primal's time, srcdiff's gradient time and its ratio to the primal,
a hand-written reverse-mode gradient's time and ratio, and srcdiff / hand-written. Every
gradient is checked against the hand-written one before timing. Times are medians of
repeated batches, all variants interleaved in one run, one thread. Peers (PyTorch eager)
are timed when installed and skipped with a note otherwise. Then the cost of generating
gradients for straight-line functions of 10², 10³ and 10⁴ three-address statements.
"""

import argparse
import importlib.util
import linecache
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import srcdiff  # noqa: E402
from programs import PROGRAMS  # noqa: E402


def batch_time(function, args, target=0.02):
    """Seconds per call, from a batch sized to take about ``target`` seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            function(*args)
        elapsed = time.perf_counter() - start
        if elapsed > target / 4 or number > 10 ** 6:
            return max(1, int(number * target / max(elapsed, 1e-9)))
        number *= 4


def measure(variants, args, repeats):
    """Interleaved medians: each round times every variant once."""
    numbers = {name: batch_time(f, args) for name, f in variants.items()}
    samples = {name: [] for name in variants}
    for _ in range(repeats):
        for name, function in variants.items():
            start = time.perf_counter()
            for _ in range(numbers[name]):
                function(*args)
            samples[name].append((time.perf_counter() - start) / numbers[name])
    return {name: statistics.median(times) for name, times in samples.items()}


def torch_variant(primal, wrt):
    """The primal run on 0-d tensors with PyTorch eager, if PyTorch is installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    import inspect
    import textwrap
    import types
    import torch
    torch.set_num_threads(1)
    def lift(f):
        return lambda x: f(torch.as_tensor(x, dtype=torch.float64))
    shim = types.SimpleNamespace(sin=lift(torch.sin), cos=lift(torch.cos), exp=lift(torch.exp),
                                 log=lift(torch.log), sqrt=lift(torch.sqrt), erf=lift(torch.erf),
                                 pi=math.pi)
    namespace = {"math": shim}
    exec(textwrap.dedent(inspect.getsource(primal)), namespace)
    function = namespace[primal.__name__]

    def gradient(*args):
        tensors = [torch.tensor(float(a), dtype=torch.float64, requires_grad=i in wrt)
                   for i, a in enumerate(args)]
        out = function(*tensors)
        return torch.autograd.grad(out, [tensors[i] for i in wrt])
    return gradient


def close(a, b):
    return all(math.isclose(float(x), float(y), rel_tol=1e-8, abs_tol=1e-10) for x, y in zip(a, b))


def transformation_cost():
    rows = []
    for size in (100, 1000, 10000):
        lines = ["def chain(x):", "    v0 = x"]
        for i in range(1, size // 3 + 1):  # three three-address statements per line
            lines.append(f"    v{i} = v{i - 1} * 1.0001 + math.sin(v{i - 1})")
        lines.append(f"    return v{size // 3}")
        source = "\n".join(lines) + "\n"
        filename = f"<benchmark chain {size}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = {"math": math}
        exec(compile(source, filename, "exec"), namespace)
        start = time.perf_counter()
        srcdiff.grad(namespace["chain"])
        rows.append((size, time.perf_counter() - start))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, one thread; medians of {args.repeats} "
          "interleaved batches")
    header = f"{'program':<34} {'primal':>9} {'srcdiff':>9} {'ratio':>6} {'hand':>9} {'ratio':>6} {'srcdiff/hand':>12}"
    torch_note = "" if importlib.util.find_spec("torch") else " (PyTorch not installed: skipped)"
    print(header + f" {'torch eager':>12}" + torch_note)
    for name, primal, hand, point, wrt in PROGRAMS:
        gradient = srcdiff.grad(primal, wrt=wrt)
        assert close(gradient(*point), hand(*point)), f"{name}: srcdiff and hand disagree"
        variants = {"primal": primal, "srcdiff": gradient, "hand": hand}
        peer = torch_variant(primal, wrt)
        if peer is not None:
            assert close(peer(*point), hand(*point)), f"{name}: PyTorch disagrees"
            variants["torch"] = peer
        t = measure(variants, point, args.repeats)
        us = lambda s: f"{s * 1e6:8.1f}µ"
        line = (f"{name:<34} {us(t['primal'])} {us(t['srcdiff'])} {t['srcdiff'] / t['primal']:5.2f}x "
                f"{us(t['hand'])} {t['hand'] / t['primal']:5.2f}x {t['srcdiff'] / t['hand']:11.2f}x")
        if "torch" in t:
            line += f" {t['torch'] / t['primal']:10.0f}x"
        print(line)
    print()
    print("generating a gradient (straight-line code, first time):")
    for size, seconds in transformation_cost():
        print(f"  {size:>6} three-address statements: {seconds * 1e3:8.1f} ms "
              f"({seconds / size * 1e6:.0f} µs per statement)")


if __name__ == "__main__":
    main()
