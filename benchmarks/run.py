"""The benchmark suite: ``python benchmarks/run.py`` prints one table.

For each program: the primal's time; srcdiff's gradient, a hand-written reverse-mode
gradient and, when installed, autograd, PyTorch eager, ``jax.grad`` eager and
``jax.jit(jax.grad)``, each as a multiple of the primal's time; and srcdiff / hand-written.
Every tool's gradient is checked against the hand-written one before timing. Times are
medians of repeated batches, all variants interleaved in one run, one thread; JAX's
compilation is timed separately. Then the cost of generating gradients for straight-line
functions of 10², 10³ and 10⁴ three-address statements. With matplotlib installed, the
ratios are also drawn (``--plot``, default ``benchmarks/ratios.png``).
"""

import argparse
import importlib.util
import inspect
import linecache
import math
import os
import platform
import statistics
import sys
import textwrap
import time
import types
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
sys.path.insert(0, str(Path(__file__).parent))

import numpy  # noqa: E402

import srcdiff  # noqa: E402
from numpy_programs import numpy_programs  # noqa: E402
from programs import PROGRAMS  # noqa: E402

SLOW = 0.5  # seconds per call above which a variant is timed with fewer calls


def batch_size(function, args, target=0.02):
    """Calls per batch, so that a batch takes about ``target`` seconds."""
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
    """Interleaved medians: each round times every variant once. A variant slower than
    ``SLOW`` per call is timed in 3 rounds only."""
    numbers = {name: batch_size(f, args) for name, f in variants.items()}
    samples = {name: [] for name in variants}
    for round_ in range(repeats):
        for name, function in variants.items():
            if round_ >= 3 and samples[name] and samples[name][0] > SLOW:
                continue
            start = time.perf_counter()
            for _ in range(numbers[name]):
                function(*args)
            samples[name].append((time.perf_counter() - start) / numbers[name])
    return {name: statistics.median(times) for name, times in samples.items()}


# -- peers: the same source, with math / numpy swapped for each tool's ----------------------
def _rebuilt(primal, namespace):
    """``primal`` re-executed from its source with ``namespace`` as its globals."""
    source = textwrap.dedent(inspect.getsource(primal))
    exec(compile(source, inspect.getsourcefile(primal), "exec"), namespace)
    return namespace[primal.__name__]


def _math_shim(module, lift=lambda f: f):
    names = ("sin", "cos", "exp", "log", "sqrt", "erf")
    shim = types.SimpleNamespace(**{n: lift(getattr(module, n)) for n in names if hasattr(module, n)})
    shim.pi = math.pi
    if not hasattr(shim, "erf"):  # autograd.numpy has no erf: scipy's
        import autograd.scipy.special as special
        shim.erf = special.erf
    return shim


class TorchNumpy:
    """The NumPy functions the benchmark objectives call, on PyTorch tensors."""

    def __init__(self, torch):
        self.torch = torch
        self.pi = math.pi
        tensor = lambda x: torch.as_tensor(x, dtype=torch.float64)  # floats too
        for name in ("exp", "log", "tanh", "sqrt", "cos", "sin"):
            setattr(self, name, (lambda f: lambda x: f(tensor(x)))(getattr(torch, name)))
        self.logaddexp = lambda a, b: torch.logaddexp(tensor(a), tensor(b))

    def sum(self, x, axis=None, keepdims=False):
        return self.torch.sum(x) if axis is None else self.torch.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x):
        return self.torch.mean(x)

    def max(self, x, axis=None, keepdims=False):
        return self.torch.max(x) if axis is None else self.torch.amax(x, dim=axis, keepdim=keepdims)

    def cross(self, a, b):
        return self.torch.linalg.cross(a, b, dim=-1)


def peers(primal, wrt, scalar: bool):
    """name -> (gradient function or None, note); ``jit`` also gives its compile time."""
    found = {}
    if importlib.util.find_spec("autograd") is not None:
        import autograd
        import autograd.numpy as anp
        namespace = {"math": _math_shim(anp)} if scalar else {"np": anp}
        found["autograd"] = (autograd.grad(_rebuilt(primal, namespace), list(wrt)), "")
    else:
        found["autograd"] = (None, "not installed")
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(1)
        if scalar:
            lift = lambda f: (lambda x: f(torch.as_tensor(x, dtype=torch.float64)))
            on_tensors = _rebuilt(primal, {"math": _math_shim(torch, lift)})
        else:
            on_tensors = _rebuilt(primal, {"np": TorchNumpy(torch)})

        def tensor(i, a):
            if isinstance(a, float) or (isinstance(a, numpy.ndarray) and a.dtype.kind == "f"):
                return torch.tensor(a, dtype=torch.float64, requires_grad=i in wrt)
            return torch.as_tensor(a) if isinstance(a, numpy.ndarray) else a

        def torch_gradient(*args):
            tensors = [tensor(i, a) for i, a in enumerate(args)]
            return torch.autograd.grad(on_tensors(*tensors), [tensors[i] for i in wrt])
        found["torch"] = (torch_gradient, "")
    else:
        found["torch"] = (None, "not installed")
    if importlib.util.find_spec("jax") is not None:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        namespace = {"math": _math_shim(jnp)} if scalar else {"np": jnp}
        if scalar:
            import jax.scipy.special
            namespace["math"].erf = jax.scipy.special.erf
        on_jax = _rebuilt(primal, namespace)
        found["jax"] = (jax.grad(on_jax, argnums=tuple(wrt)), "")
        found["jax.jit"] = (jax.jit(jax.grad(on_jax, argnums=tuple(wrt))), "")
    else:
        found["jax"] = found["jax.jit"] = (None, "not installed")
    return found


def _arrays(values):
    if isinstance(values, (tuple, list)):
        return [numpy.asarray(v, dtype=float) for v in values]
    return [numpy.asarray(values, dtype=float)]


def agree(mine, reference) -> bool:
    return all(numpy.allclose(a, b, rtol=1e-7, atol=1e-9) for a, b in
               zip(_arrays(mine), _arrays(reference)))


def _as_peer_args(name, args):
    if name.startswith("jax"):
        import jax.numpy as jnp
        return tuple(jnp.asarray(a) if isinstance(a, numpy.ndarray) else a for a in args)
    return args


# -- the table ---------------------------------------------------------------------------
PEERS = ("autograd", "torch", "jax", "jax.jit")


def run_program(name, primal, hand, point, wrt, scalar, repeats, loop_steps):
    start = time.perf_counter()
    gradient = srcdiff.grad(primal, wrt=wrt)
    gradient(*point)  # array code is generated at the first call
    generation = time.perf_counter() - start
    reference = hand(*point)
    assert agree(gradient(*point), reference), f"{name}: srcdiff and hand-written disagree"
    variants = {"primal": primal, "srcdiff": gradient, "hand": hand}
    notes, compile_time = {}, None
    for peer, (function, note) in peers(primal, wrt, scalar).items():
        if function is None:
            notes[peer] = note
            continue
        if peer == "jax.jit" and loop_steps > 1000:
            notes[peer] = "not timed: tracing unrolls the Python loop"
            continue
        args = _as_peer_args(peer, point)
        start = time.perf_counter()
        result = function(*args)
        if peer == "jax.jit":
            compile_time = time.perf_counter() - start
        assert agree(result, reference), f"{name}: {peer} disagrees"
        variants[peer] = (lambda f, a: (lambda *_: f(*a)))(function, args)
    times = measure(variants, point, repeats)
    return times, notes, compile_time, generation


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


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tools = ["srcdiff", "hand"] + list(PEERS)
    figure, axes = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(tools)
    for i, tool in enumerate(tools):
        ratios = [times[tool] / times["primal"] if tool in times else float("nan")
                  for _, times in results]
        axes.bar([x + i * width for x in range(len(results))], ratios, width, label=tool)
    axes.set_yscale("log")
    axes.set_ylabel("gradient time / function time")
    axes.set_xticks([x + 0.4 - width / 2 for x in range(len(results))])
    axes.set_xticklabels([name.split(",")[0].split(" (")[0] for name, _ in results],
                         rotation=15, fontsize=8)
    axes.legend(fontsize=8, ncol=3)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generation-only", action="store_true",
                        help=argparse.SUPPRESS)  # print the generation times as JSON
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--plot", default=str(Path(__file__).parent / "ratios.png"))
    parser.add_argument("--only", help="run the programs whose name contains this")
    args = parser.parse_args()
    if args.generation_only:
        import json
        print(json.dumps(transformation_cost()))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {numpy.__version__}, one thread; "
          f"medians of {args.repeats} interleaved batches")
    header = (f"{'program':<40} {'primal':>9} {'srcdiff':>8} {'hand':>8} {'srcdiff/hand':>12} "
              + " ".join(f"{p:>9}" for p in PEERS) + f" {'generate':>9}")
    print(header)
    print("(srcdiff, hand and peers: gradient time as a multiple of the primal's; generate: "
          "srcdiff's first generation)")
    results, notes_seen = [], {}
    programs = [(*p, True, 10000 if "10^4" in p[0] else 100) for p in PROGRAMS] + \
        [(*p, False, 0) for p in numpy_programs()]
    for name, primal, hand, point, wrt, scalar, steps in programs:
        if args.only and args.only not in name:
            continue
        times, notes, compile_time, generation = run_program(
            name, primal, hand, point, wrt, scalar, args.repeats, steps)
        ratio = lambda tool, width=9: (f"{times[tool] / times['primal']:{width - 1}.2f}x"
                                       if tool in times else f"{'—':>{width}}")
        line = (f"{name:<40} {times['primal'] * 1e6:8.1f}µ {ratio('srcdiff', 8)} "
                f"{ratio('hand', 8)} {times['srcdiff'] / times['hand']:11.2f}x "
                + " ".join(ratio(p) for p in PEERS) + f" {generation * 1e3:7.1f}ms")
        if compile_time is not None:
            line += f"  (jit compile {compile_time:.2f} s)"
        print(line, flush=True)
        for peer, note in notes.items():
            notes_seen.setdefault(f"{peer}: {note}", []).append(name.split(",")[0])
        results.append((name, times))
    for note, where in notes_seen.items():
        print(f"  — {note} ({', '.join(where)})")
    print()
    print("generating a gradient (straight-line code, first time, in a fresh interpreter):")
    import json
    import subprocess
    measured = subprocess.run([sys.executable, __file__, "--generation-only"],
                              capture_output=True, text=True, check=True).stdout
    for size, seconds in json.loads(measured):
        print(f"  {size:>6} three-address statements: {seconds * 1e3:8.1f} ms "
              f"({seconds / size * 1e6:.0f} µs per statement)")
    if importlib.util.find_spec("matplotlib") is not None and args.plot:
        plot(results, args.plot)
        print(f"\nplot: {args.plot}")
    else:
        print("\n(matplotlib not installed: no plot)")


if __name__ == "__main__":
    main()
