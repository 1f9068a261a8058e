"""The benchmark suite: ``python benchmarks/run.py`` prints two tables, then the cost of
generating gradients, the memory of a long loop's gradient and the cost of a call.

Table 1, gradients: for each program, the primal's time; srcdiff's gradient, a hand-written
reverse-mode gradient and, when installed, autograd, PyTorch eager, ``jax.grad`` eager and
``jax.jit(jax.grad)``, each as a multiple of the primal's time; and srcdiff / hand-written.
Every tool's gradient is checked against the hand-written one before timing.

Table 2, forward mode and second order: for each program, as multiples of the primal's time,
``srcdiff.jvp`` (one fixed random tangent per differentiated parameter), the code srcdiff.jvp
generates called directly (without its per-call argument checks), a hand-written forward
mode (``programs.JVP_BY_HAND``, scalar programs only: what a careful human writes, so the
column says what is within reach of CPython at all), ``jax.jvp`` eager,
``jax.jit`` of the same ``jax.jvp`` closure, ``jax.jit(jax.jacfwd)`` (the whole gradient in
forward mode; only where the differentiated parameters hold at most 16 numbers),
``srcdiff.hvp`` (reverse over forward), a hand-written one (``programs.HVP_BY_HAND``,
the oscillator and the logistic ODE) and JAX's Hessian-vector product
``jax.jit(jax.jvp(jax.grad(f)))`` (forward over reverse), with the same vectors. Before
timing: srcdiff.jvp's and the hand-written jvp's values must be the primal's and their
tangents the hand-written gradient's dot product with the tangent; srcdiff.hvp must agree
with central differences of the hand-written gradient, and the hand-written hvp with
srcdiff.hvp; JAX's jvp and Hessian-vector product
must agree with srcdiff's, and jacfwd with the hand-written gradient.

How it is timed. Each variant is called in batches of about 20 ms; a round times one batch of
every variant, interleaved (the order rotates from round to round), so that a slow spell of
the machine touches every variant alike. A batch is timed in CPU time
(``time.process_time``: all the process's threads, not the time the scheduler gives to other
processes), divided by its number of calls. One thread: OMP/OpenBLAS/MKL and XLA are set to
one thread, ``torch.set_num_threads(1)``, and the process is pinned to one core
(``--all-cores`` not to): XLA still runs jitted code on threads of its own, which with a free
core burn CPU time concurrently (spinning, hand-offs; jax.jit's CPU time was 1.25-4x its
pinned CPU time on this project's 2-core machine). JAX dispatches asynchronously: every timed
JAX call, eager or jitted, ends with ``jax.block_until_ready`` on its result, inside the
timed region, and a jit compile time is the CPU time of the first call (trace, compile, run) up to
``block_until_ready``. An entry is the median over rounds of the round's ratio variant /
primal, then ``±`` half the interquartile range of those ratios, relative to the median (so
``2.00x±5%`` means the middle half of the rounds fell within about 1.90x-2.10x); the
primal's entry is its median per-call time with the same relative spread, and srcdiff/hand
the per-round ratio of those two. A variant slower than 0.5 s per call is timed in 3 rounds
only. ``jax.jit`` is not applied to the program of 10⁴ loop steps: tracing unrolls the
Python loop. The last line gives the CPU time over the wall-clock time of every timed batch:
below 1, other processes had the core part of the time (CPU time does not count it, but they
share the caches: such figures are not final); above 1, more than one thread was busy.

Then the CPU time srcdiff takes to generate the gradients of functions of 10² to 10⁴
three-address statements, straight-line and as the body of a loop, each in a fresh
interpreter; and memory: the oscillator over 10⁶ steps, its gradient taping every step, the
same gradient with ``checkpoints=64`` (``srcdiff.checkpoint``) and the hand-written one, in
CPU time (as above) and in the peak of memory allocated during one call (``tracemalloc``,
in calls apart from the timed ones); and the cost of a call: the gradient of
``x * x + 3 * x`` as users call it, its generated code called directly, and the
hand-written ``2 * x + 3``; and a loop over an array's rows (``rows_loss``, 10³ to
1.6·10⁴ rows), its gradient with each row's adjoint added in place and without that pass;
and a loop filling an array item by item (``fill_loss``), its gradient with the array
changed in place and with a copy at each assignment.
With matplotlib installed,
table 1's ratios are drawn (``--plot``, default ``benchmarks/ratios.png``; ``--plot ''`` for
none). ``--table gradient``, ``--table forward``, ``--table generation``, ``--table
memory``, ``--table calls``, ``--table rows`` or ``--table items`` runs one part;
``--only TEXT`` the programs whose name contains TEXT; ``--save FILE`` writes every
per-round sample as JSON.
"""

import argparse
import importlib.metadata
import importlib.util
import inspect
import json
import linecache
import math
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import NamedTuple

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def _pin():
    """Pin this process to one core before NumPy, PyTorch or JAX start threads (threads
    inherit it): XLA runs a jitted function on threads of its own despite XLA_FLAGS, and
    with a free core those threads burn CPU time concurrently (1.25-4x the pinned CPU time
    of jax.jit, measured here). The core, or None (``--all-cores``, or no affinity
    support)."""
    if "--all-cores" in sys.argv or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        core = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return core
    except OSError:
        return None


PINNED = _pin() if __name__ == "__main__" else None
sys.path.insert(0, str(Path(__file__).parent))

import numpy  # noqa: E402

import srcdiff  # noqa: E402
from numpy_programs import numpy_programs  # noqa: E402
from programs import HVP_BY_HAND, JVP_BY_HAND, PROGRAMS  # noqa: E402

SLOW = 0.5  # seconds per call above which a variant is timed in 3 rounds only
FEW = 16  # jacfwd is timed when the differentiated parameters hold at most this many numbers
clock = time.process_time  # CPU time of this process (all its threads)


# -- timing -------------------------------------------------------------------------------
def batch_size(function, args, target=0.02):
    """Calls per batch, so that a batch takes about ``target`` seconds of CPU time."""
    number = 1
    while True:
        start = clock()
        for _ in range(number):
            function(*args)
        elapsed = clock() - start
        if elapsed > target / 4 or number > 10 ** 6:
            return max(1, int(number * target / max(elapsed, 1e-9)))
        number *= 4


TOTALS = {"cpu": 0.0, "wall": 0.0}  # over every timed batch: how much of the time we had the CPU


def measure(variants, repeats):
    """``variants``: name -> (function, arguments). Interleaved rounds: each round times one
    batch of every variant, in an order rotated by one each round. Returns name -> the CPU
    time per call in each round (None where a variant slower than ``SLOW`` per call was not
    timed: such a variant is timed in the first 3 rounds only)."""
    names = list(variants)
    numbers = {name: batch_size(*variants[name]) for name in names}
    samples = {name: [None] * repeats for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            function, args = variants[name]
            first = samples[name][0]
            if round_ >= 3 and first is not None and first > SLOW:
                continue
            number = numbers[name]
            wall = time.perf_counter()
            start = clock()
            for _ in range(number):
                function(*args)
            cpu = clock() - start
            TOTALS["wall"] += time.perf_counter() - wall
            TOTALS["cpu"] += cpu
            samples[name][round_] = cpu / number
    return samples


class Spread(NamedTuple):
    """The median and quartiles of a set of per-round values."""
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile
    rounds: int

    @property
    def relative(self) -> float:
        """Half the interquartile range, relative to the median."""
        return (self.high - self.low) / 2 / self.median if self.median else 0.0


def spread(values) -> Spread:
    values = [v for v in values if v is not None]
    median = statistics.median(values)
    if len(values) < 2:
        return Spread(median, median, median, len(values))
    low, _, high = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(median, low, high, len(values))


def ratio(samples, name, base="primal") -> Spread:
    """The per-round ratio ``name`` / ``base`` (rounds where both were timed)."""
    return spread([a / b for a, b in zip(samples[name], samples[base])
                   if a is not None and b is not None])


def format_ratio(value: Spread | None, width: int) -> str:
    if value is None:
        return f"{'—':>{width}}"
    digits = 2 if value.median < 10 else 1 if value.median < 100 else 0
    return f"{value.median:.{digits}f}x±{value.relative * 100:.0f}%".rjust(width)


def format_time(value: Spread, width: int) -> str:
    text = (f"{value.median * 1e6:.2f}µs" if value.median < 1e-5
            else f"{value.median * 1e6:.1f}µs" if value.median < 0.01
            else f"{value.median * 1e3:.1f}ms")
    return f"{text}±{value.relative * 100:.0f}%".rjust(width)


def first_call(function, *args):
    """(result, CPU seconds) of one call."""
    start = clock()
    result = function(*args)
    return result, clock() - start


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


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def _on_jax(primal, scalar: bool):
    """``primal`` on jax.numpy."""
    import jax.numpy as jnp
    if not scalar:
        return _rebuilt(primal, {"np": jnp})
    import jax.scipy.special
    shim = _math_shim(jnp)
    shim.erf = jax.scipy.special.erf
    return _rebuilt(primal, {"math": shim})


def _blocking(function):
    """``function``, waiting for its result: JAX returns before it has computed it."""
    import jax
    return lambda *args: jax.block_until_ready(function(*args))


def peers(primal, wrt, scalar: bool):
    """name -> (gradient function or None, note)."""
    found = {}
    if have("autograd"):
        import autograd
        import autograd.numpy as anp
        namespace = {"math": _math_shim(anp)} if scalar else {"np": anp}
        found["autograd"] = (autograd.grad(_rebuilt(primal, namespace), list(wrt)), "")
    else:
        found["autograd"] = (None, "not installed")
    if have("torch"):
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
    if have("jax"):
        jax = _jax()
        on_jax = _on_jax(primal, scalar)
        found["jax"] = (_blocking(jax.grad(on_jax, argnums=tuple(wrt))), "")
        found["jax.jit"] = (_blocking(jax.jit(jax.grad(on_jax, argnums=tuple(wrt)))), "")
    else:
        found["jax"] = found["jax.jit"] = (None, "not installed")
    return found


def jax_forward(primal, point, wrt, scalar: bool):
    """JAX's forward-mode and second-order functions of ``primal`` for table 2, each taking
    the program's arguments (then the tangents, for jvp and hvp) and waiting for its result:
    name -> function. The non-differentiated arguments are arguments too (traced by jit, as
    in table 1)."""
    jax = _jax()
    on_jax = _on_jax(primal, scalar)
    count, wrt, positions = len(point), tuple(wrt), tuple(range(len(wrt)))

    def restricted(args):
        """``on_jax`` as a function of the ``wrt`` arguments only, and their values."""
        def function(*chosen):
            full = list(args)
            for i, value in zip(wrt, chosen):
                full[i] = value
            return on_jax(*full)
        return function, tuple(args[i] for i in wrt)

    def jvp(*args_and_tangents):
        function, primals = restricted(args_and_tangents[:count])
        return jax.jvp(function, primals, tuple(args_and_tangents[count:]))

    def jacfwd(*args):
        function, primals = restricted(args)
        return jax.jacfwd(function, argnums=positions)(*primals)

    def hvp(*args_and_vectors):  # forward over reverse
        function, primals = restricted(args_and_vectors[:count])
        return jax.jvp(jax.grad(function, argnums=positions), primals,
                       tuple(args_and_vectors[count:]))[1]

    return {"jax.jvp": _blocking(jvp), "jit(jax.jvp)": _blocking(jax.jit(jvp)),
            "jit(jacfwd)": _blocking(jax.jit(jacfwd)), "jit(jvp∘grad)": _blocking(jax.jit(hvp))}


def _arrays(values):
    if isinstance(values, (tuple, list)):
        return [numpy.asarray(v, dtype=float) for v in values]
    return [numpy.asarray(values, dtype=float)]


def agree(mine, reference, rtol=1e-7, atol=1e-9) -> bool:
    mine, reference = _arrays(mine), _arrays(reference)
    return len(mine) == len(reference) and all(
        numpy.shape(a) == numpy.shape(b) and numpy.allclose(a, b, rtol=rtol, atol=atol)
        for a, b in zip(mine, reference))


def _scale(values) -> float:
    return max([float(numpy.max(numpy.abs(v))) for v in _arrays(values) if numpy.size(v)]
               + [1e-300])


def _as_peer_args(name, args):
    if name.startswith("jax") or name.startswith("jit("):
        jnp = _jax().numpy  # float64 (x64 on) before any array is made
        return tuple(jnp.asarray(a) if isinstance(a, numpy.ndarray) else a for a in args)
    return args


# -- table 1: gradients -------------------------------------------------------------------
PEERS = ("autograd", "torch", "jax", "jax.jit")


def run_program(name, primal, hand, point, wrt, scalar, repeats, loop_steps):
    start = clock()
    gradient = srcdiff.grad(primal, wrt=wrt)
    gradient(*point)  # array code is generated at the first call
    generation = clock() - start
    reference = hand(*point)
    assert agree(gradient(*point), reference), f"{name}: srcdiff and hand-written disagree"
    variants = {"primal": (primal, point), "srcdiff": (gradient, point), "hand": (hand, point)}
    notes, compile_time = {}, None
    for peer, (function, note) in peers(primal, wrt, scalar).items():
        if function is None:
            notes[peer] = note
            continue
        if peer == "jax.jit" and loop_steps > 1000:
            notes[peer] = "not timed: tracing unrolls the Python loop"
            continue
        args = _as_peer_args(peer, point)
        result, seconds = first_call(function, *args)
        if peer == "jax.jit":
            compile_time = seconds
        assert agree(result, reference), f"{name}: {peer} disagrees"
        variants[peer] = (function, args)
    samples = measure(variants, repeats)
    return samples, notes, compile_time, generation


def gradient_table(programs, repeats):
    header = (f"{'program':<40} {'primal':>13} {'srcdiff':>11} {'hand':>11} {'srcdiff/hand':>12} "
              + " ".join(f"{p:>11}" for p in PEERS) + f" {'generate':>9}")
    print(header)
    print("(srcdiff, hand and peers: gradient time as a multiple of the primal's; generate: "
          "CPU time of srcdiff's first generation)")
    results, notes_seen, saved = [], {}, {}
    for name, primal, hand, point, wrt, scalar, steps in programs:
        samples, notes, compile_time, generation = run_program(
            name, primal, hand, point, wrt, scalar, repeats, steps)
        ratios = {tool: ratio(samples, tool) for tool in samples if tool != "primal"}
        cell = lambda tool, width=11: format_ratio(ratios.get(tool), width)
        line = (f"{name:<40} {format_time(spread(samples['primal']), 13)} {cell('srcdiff')} "
                f"{cell('hand')} {format_ratio(ratio(samples, 'srcdiff', 'hand'), 12)} "
                + " ".join(cell(p) for p in PEERS) + f" {generation * 1e3:7.1f}ms")
        if compile_time is not None:
            line += f"  (jit compile {compile_time:.2f} s)"
        print(line, flush=True)
        for peer, note in notes.items():
            notes_seen.setdefault(f"{peer}: {note}", []).append(name.split(",")[0].split(" (")[0])
        results.append((name, ratios))
        saved[name] = {"samples": samples, "compile": compile_time, "generation": generation}
    for note, where in notes_seen.items():
        print(f"  — {note} ({', '.join(where)})")
    return results, saved


# -- table 2: forward mode and second order -----------------------------------------------
FORWARD = ("srcdiff.jvp", "(jvp code)", "hand jvp", "jax.jvp", "jit(jax.jvp)", "jit(jacfwd)",
           "srcdiff.hvp", "hand hvp", "jit(jvp∘grad)")
JIT = ("jit(jax.jvp)", "jit(jacfwd)", "jit(jvp∘grad)")


def tangents_for(point, wrt, seed=0):
    """A fixed random tangent for each differentiated parameter, of its shape."""
    rng = numpy.random.default_rng(seed)
    return tuple(rng.normal(size=numpy.shape(point[i])) if numpy.ndim(point[i])
                 else float(rng.normal()) for i in wrt)


def _moved(point, wrt, vectors, step):
    args = list(point)
    for i, vector in zip(wrt, vectors):
        args[i] = point[i] + step * vector
    return tuple(args)


def central_difference_hvp(hand, point, wrt, vectors, step=1e-5):
    """H·v by central differences of the hand-written gradient (a check only)."""
    ahead, behind = (_arrays(hand(*_moved(point, wrt, vectors, s))) for s in (step, -step))
    return [(a - b) / (2 * step) for a, b in zip(ahead, behind)]


def run_forward(name, primal, hand, point, wrt, scalar, repeats, loop_steps):
    wrt = tuple(wrt)
    tangents = tangents_for(point, wrt)
    tangent_args = tuple(point) + tangents
    start = clock()
    jvp = srcdiff.jvp(primal, wrt=wrt)  # scalar code is generated here, array code when called
    value, tangent = jvp(*tangent_args)
    jvp_generation = clock() - start
    start = clock()
    hvp = srcdiff.hvp(primal, wrt=wrt)
    product = hvp(*tangent_args)
    hvp_generation = clock() - start
    # the generated jvp code itself, without the entry point's per-call argument checks:
    # every parameter by position (defaults applied), then the tangents
    bound = inspect.signature(primal).bind(*point)
    bound.apply_defaults()
    code = getattr(getattr(jvp, "__srcdiff__", None), "function", None)
    code_args = (*bound.arguments.values(), *tangents)
    # checks against the hand-written gradient
    reference = _arrays(hand(*point))
    terms = [numpy.sum(g * t) for g, t in zip(reference, _arrays(tangents))]
    size = sum(float(numpy.sum(numpy.abs(g * t))) for g, t in zip(reference, _arrays(tangents)))
    by_hand = JVP_BY_HAND.get(primal)
    for who, (value_, tangent_) in [("srcdiff.jvp", (value, tangent))] + (
            [("the hand-written jvp", by_hand(*tangent_args))] if by_hand else []):
        assert agree(value_, primal(*point)), f"{name}: {who}'s value is not the primal's"
        assert numpy.isclose(tangent_, sum(terms), rtol=1e-8, atol=1e-12 * size), \
            f"{name}: {who}'s tangent {tangent_!r} is not ∇f·t = {sum(terms)!r}"
    differences = central_difference_hvp(hand, point, wrt, tangents)
    assert agree(product, differences, rtol=1e-4, atol=1e-5 * _scale(differences)), \
        f"{name}: srcdiff.hvp disagrees with central differences of the hand-written gradient"
    variants = {"primal": (primal, point), "srcdiff.jvp": (jvp, tangent_args),
                "(jvp code)": (code, code_args), "srcdiff.hvp": (hvp, tangent_args)}
    if by_hand is not None:
        variants["hand jvp"] = (by_hand, tangent_args)
    hvp_by_hand = HVP_BY_HAND.get(primal)
    if hvp_by_hand is not None:
        assert agree(hvp_by_hand(*tangent_args), product, rtol=1e-8,
                     atol=1e-12 * _scale(product)), \
            f"{name}: the hand-written hvp disagrees with srcdiff.hvp"
        variants["hand hvp"] = (hvp_by_hand, tangent_args)
    notes, compile_times = {}, {}
    try:  # srcdiff.jvp(...).__srcdiff__ is srcdiff's, not a public promise
        assert agree(code(*code_args), (value, tangent), rtol=0, atol=0)
    except Exception:
        del variants["(jvp code)"]
        notes["(jvp code)"] = "not timed: srcdiff.jvp(...).__srcdiff__.function is not its code"
    if not have("jax"):
        notes["jax.jvp, jit(jax.jvp), jit(jacfwd), jit(jvp∘grad)"] = "JAX not installed"
    else:
        numbers = sum(int(numpy.size(point[i])) for i in wrt)
        jax_args = _as_peer_args("jax", point)
        for peer, function in jax_forward(primal, point, wrt, scalar).items():
            if peer in JIT and loop_steps > 1000:
                notes[", ".join(JIT)] = "not timed: tracing unrolls the Python loop"
                continue
            if peer == "jit(jacfwd)" and numbers > FEW:
                notes[peer] = f"not timed: more than {FEW} differentiated numbers"
                continue
            args = jax_args if peer == "jit(jacfwd)" else jax_args + tangents
            result, seconds = first_call(function, *args)
            if peer in JIT:
                compile_times[peer] = seconds
            if peer == "jit(jacfwd)":
                assert agree(result, reference), \
                    f"{name}: {peer} disagrees with the hand-written gradient"
            elif peer == "jit(jvp∘grad)":
                assert agree(result, product, rtol=1e-6, atol=1e-9 * _scale(product)), \
                    f"{name}: {peer} disagrees with srcdiff.hvp"
            else:
                assert agree(result[0], value) and agree(
                    result[1], tangent, rtol=1e-7, atol=1e-12 * size), \
                    f"{name}: {peer} disagrees with srcdiff.jvp"
            variants[peer] = (function, args)
    samples = measure(variants, repeats)
    return samples, notes, compile_times, (jvp_generation, hvp_generation)


def forward_table(programs, repeats):
    print(f"{'program':<40} {'primal':>13} " + " ".join(f"{p:>13}" for p in FORWARD)
          + f" {'generate jvp/hvp':>17}")
    print("(each as a multiple of the primal's time; jvp: value and directional derivative "
          "along a fixed random tangent; (jvp code): srcdiff's generated jvp code called "
          "directly, without srcdiff.jvp's per-call argument checks; hand jvp: forward mode "
          "written by hand (scalar programs); hand hvp: the Hessian-vector product written by hand "
          "(reverse over forward: the oscillator and the logistic ODE); jit(jacfwd): the gradient "
          "in forward mode; srcdiff.hvp and jit(jvp∘grad): Hessian-vector product; generate: "
          "CPU time of srcdiff.jvp / srcdiff.hvp and their first call)")
    notes_seen, saved, targets = {}, {}, []
    for name, primal, hand, point, wrt, scalar, steps in programs:
        samples, notes, compile_times, generation = run_forward(
            name, primal, hand, point, wrt, scalar, repeats, steps)
        cells = " ".join(format_ratio(ratio(samples, tool) if tool in samples else None, 13)
                         for tool in FORWARD)
        line = (f"{name:<40} {format_time(spread(samples['primal']), 13)} {cells} "
                f"{generation[0] * 1e3:7.1f}/{generation[1] * 1e3:.1f}ms")
        if compile_times:
            line += "  (jit compile " + ", ".join(f"{peer} {seconds:.2f} s" for peer, seconds
                                                  in compile_times.items()) + ")"
        print(line, flush=True)
        for peer, note in notes.items():
            notes_seen.setdefault(f"{peer}: {note}", []).append(name.split(",")[0].split(" (")[0])
        if scalar:
            targets.append((name.split(",")[0], ratio(samples, "srcdiff.jvp"),
                            ratio(samples, "srcdiff.hvp"),
                            ratio(samples, "(jvp code)") if "(jvp code)" in samples else None,
                            ratio(samples, "hand jvp") if "hand jvp" in samples else None,
                            ratio(samples, "hand hvp") if "hand hvp" in samples else None))
        saved[name] = {"samples": samples, "compile": compile_times, "generation": generation}
    for note, where in notes_seen.items():
        print(f"  — {note} ({', '.join(where)})")
    if targets:
        print("targets on the scalar programs (reported, not asserted): srcdiff.jvp ≤ 2x the "
              "primal, srcdiff.hvp ≤ 5x; median [25th–75th percentile] of the per-round ratios")
        for label, jvp, hvp, code, hand, hand_hvp in targets:
            verdict = lambda value, limit: (
                f"{value.median:.2f}x [{value.low:.2f}–{value.high:.2f}] "
                f"{'met' if value.median <= limit else 'missed'}")
            print(f"  {label:<32} jvp {verdict(jvp, 2):<28} hvp {verdict(hvp, 5):<28} "
                  + (f"{f'(jvp code {verdict(code, 2)})':<42} " if code else "")
                  + (f"{f'(hand jvp {verdict(hand, 2)})':<42} " if hand else "")
                  + (f"(hand hvp {verdict(hand_hvp, 5)})" if hand_hvp else ""))
    return saved


# -- generation ------------------------------------------------------------------------------
GENERATION_SIZES = (100, 300, 1000, 3000, 10000)  # three-address statements
GENERATION_SHAPES = ("straight", "loop")


def chain(size: int, shape: str):
    """A chain of ``size`` three-address statements (three per line), straight-line or as
    the body of a loop (``for k in range(3):``, which carries ``v0`` around)."""
    lines = ["def chain(x):", "    v0 = x"]
    indent = "    "
    if shape == "loop":
        lines.append("    for k in range(3):")
        indent = "        "
    for i in range(1, size // 3 + 1):  # three three-address statements per line
        lines.append(f"{indent}v{i} = v{i - 1} * 1.0001 + math.sin(v{i - 1})")
    if shape == "loop":
        lines.append(f"{indent}v0 = v{size // 3}")
    lines.append(f"    return v{size // 3}")
    source = "\n".join(lines) + "\n"
    filename = f"<benchmark chain {size} {shape}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"math": math}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["chain"]


def drag(speed, coefficient):
    return coefficient * speed * abs(speed)


def thirty_lines(angle, speed, coefficient, target=30.0, steps=200, dt=0.01):
    """A function of 30 lines as people write them (the first gradient of which issue 15
    wants within 20 ms): a projectile with quadratic drag that bounces, its miss distance."""
    vx = speed * math.cos(angle)
    vy = speed * math.sin(angle)
    x, y = 0.0, 0.0
    bounces = 0
    for _ in range(steps):
        v = math.sqrt(vx * vx + vy * vy)
        ax = -drag(v, coefficient) * vx / v
        ay = -9.81 - drag(v, coefficient) * vy / v
        vx = vx + dt * ax
        vy = vy + dt * ay
        x = x + dt * vx
        y = y + dt * vy
        if y < 0.0:
            y = -0.5 * y
            vy = -0.7 * vy
            bounces += 1
        if bounces > 3:
            break
    miss = x - target
    spin = math.atan2(vy, vx)
    energy = 0.5 * (vx * vx + vy * vy)
    penalty = 0.0
    if energy > 100.0:
        penalty = (energy - 100.0) ** 2
    loss = miss * miss + 0.1 * spin * spin
    loss = loss + 1e-3 * penalty
    return loss


def transformation_cost(size: int, shape: str) -> float:
    """The CPU time of srcdiff.grad on a chain (the first gradient of this interpreter),
    or on ``thirty_lines`` (shape ``"thirty"``)."""
    function = thirty_lines if shape == "thirty" else chain(size, shape)
    start = clock()
    if shape == "thirty":
        srcdiff.grad(function, wrt=(0, 1, 2))
    else:
        srcdiff.grad(function)
    return clock() - start


def generation_only(size, shape):
    """The CPU time of one first generation, in a fresh interpreter that reads srcdiff's
    and NumPy's modules from their bytecode caches as an installed package does (where
    ``PYTHONDONTWRITEBYTECODE`` is set, as on this project's VMs, every import compiled
    its module from source inside the measured time: 40 ms of srcdiff.array_rules)."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return float(subprocess.run(
        [sys.executable, __file__, "--generation-only", str(size), shape],
        capture_output=True, text=True, check=True, env=environment).stdout)


def generation_table():
    generation_only(0, "thirty")  # writes the bytecode caches, where they are missing
    print("generating a gradient (the chain v = v * 1.0001 + math.sin(v), three three-address "
          "statements a line, straight-line and as a loop's body; first gradient, each in a "
          "fresh interpreter, modules read from their bytecode caches; CPU time, and per "
          "statement):")
    print(f"  {'statements':>10}  {'straight-line':>26}  {'in a loop body':>26}")
    for size in GENERATION_SIZES:
        cells = []
        for shape in GENERATION_SHAPES:
            seconds = generation_only(size, shape)
            cells.append(f"{seconds * 1e3:9.1f} ms ({seconds / size * 1e6:4.0f} µs each)")
        print(f"  {size:>10}  " + "  ".join(f"{c:>26}" for c in cells))
    seconds = generation_only(0, "thirty")
    print(f"  the first gradient of a function of 30 lines (run.thirty_lines: a loop, branches, "
          f"a helper; fresh interpreter): {seconds * 1e3:.1f} ms")


CHECKPOINT_STEPS = 10 ** 6
CHECKPOINT_STATES = 64


def checkpoint_table(repeats):
    """The oscillator over 10^6 steps: the gradient taping every step, the same gradient
    with checkpoints=64 (srcdiff.checkpoint), and the hand-written one (lists of states):
    CPU time side by side, and the peak memory of one call (tracemalloc, measured apart:
    it slows the calls it watches)."""
    import tracemalloc
    from programs import oscillator, oscillator_by_hand
    point = (1.3, 0.4, 0.9, CHECKPOINT_STEPS)
    variants = {"primal": (oscillator, point),
                "srcdiff": (srcdiff.grad(oscillator, wrt=(0, 1, 2)), point),
                f"checkpoints={CHECKPOINT_STATES}": (srcdiff.grad(
                    oscillator, wrt=(0, 1, 2), checkpoints=CHECKPOINT_STATES), point),
                "hand": (oscillator_by_hand, point)}
    taped = variants["srcdiff"][0](*point)
    checked = variants[f"checkpoints={CHECKPOINT_STATES}"][0](*point)
    if taped != checked:
        raise SystemExit(f"checkpointed gradient {checked} differs from {taped}")
    print(f"memory: the oscillator over {CHECKPOINT_STEPS:,} steps, gradient with respect to "
          f"k, c, x0 (the same to the last bit with checkpoints={CHECKPOINT_STATES}); CPU "
          "time, and the peak of memory allocated during one call (tracemalloc):")
    samples = measure(variants, repeats)
    print(f"  {'':<16}{'time':>16}{'/ primal':>14}{'peak memory':>16}")
    for name, (function, args) in variants.items():
        tracemalloc.start()
        try:
            function(*args)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        timing = spread(samples[name])
        relative = ratio(samples, name) if name != "primal" else None
        print(f"  {name:<16}{format_time(timing, 16)}{format_ratio(relative, 14)}"
              f"{peak / 1e6:13.2f} MB")
    return {name: samples[name] for name in variants}


def two_operations(x):
    return x * x + 3 * x


def two_operations_by_hand(x):
    return 2 * x + 3


def calls_table(repeats):
    """The cost of a call: the gradient of a function of two operations, ``x * x + 3 * x``,
    as users call it (``srcdiff.grad``'s wrapper, which runs the generated code inlined
    where it can), the generated function called directly, and the hand-written
    ``2 * x + 3``, each called in a loop as every variant here is (the loop's call costs
    all of them alike)."""
    gradient = srcdiff.grad(two_operations)
    point = (1.5,)
    variants = {"primal": (two_operations, point), "srcdiff": (gradient, point),
                "generated code": (gradient.__wrapped__, point),
                "hand": (two_operations_by_hand, point)}
    for name in ("srcdiff", "generated code"):
        if variants[name][0](*point) != two_operations_by_hand(*point):
            raise SystemExit(f"{name} gives {variants[name][0](*point)}")
    print("calls: the gradient of x * x + 3 * x against its hand-written 2 * x + 3 (CPU time "
          "per call, each called in the same loop):")
    samples = measure(variants, repeats)
    print(f"  {'':<16}{'time':>16}{'/ hand':>14}")
    for name in variants:
        relative = ratio(samples, name, base="hand") if name != "hand" else None
        print(f"  {name:<16}{format_time(spread(samples[name]), 16)}"
              f"{format_ratio(relative, 14)}")
    return {name: samples[name] for name in variants}


def rows_loss(X, w):
    """A loop over an array's rows, as people write one: its gradient with respect to
    ``X`` adds each row's adjoint into ``X``'s."""
    s = 0.0
    for row in X:
        s = s + numpy.tanh(row @ w)
    return s


ROWS = (1000, 4000, 16000)


def rows_table(repeats):
    """The gradient of ``rows_loss`` with respect to ``X`` (n × 10) and ``w``, for n rows:
    srcdiff's, and the same code with each row's adjoint added into a new array of
    ``X``'s size instead of in place (``disable=("accumulate",)``, as before the pass):
    CPU time per call, as a multiple of the primal's."""
    from srcdiff.pipeline import generate
    kinds = {"X": srcdiff.kinds.array(2), "w": srcdiff.kinds.array(1)}
    in_place = generate(rows_loss, ("X", "w"), name="g", kinds=kinds).function
    new_arrays = generate(rows_loss, ("X", "w"), name="g", kinds=kinds,
                          disable=("accumulate",)).function
    print("a loop over the rows of X (n × 10), gradient with respect to X and w: each "
          "row's adjoint added in place (srcdiff) or into a new array of X's size "
          "(without accumulate); CPU time per call:")
    print(f"  {'rows':>6}{'primal':>16}{'srcdiff':>16}{'/ primal':>12}"
          f"{'without':>16}{'/ primal':>12}")
    results = {}
    for n in ROWS:
        rng = numpy.random.default_rng(0)
        point = (rng.normal(size=(n, 10)), rng.normal(size=10) * 0.1)
        got, reference = in_place(*point), new_arrays(*point)
        for a, b in zip(got, reference):
            numpy.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        variants = {"primal": (rows_loss, point), "srcdiff": (in_place, point),
                    "without": (new_arrays, point)}
        samples = measure(variants, repeats)
        print(f"  {n:>6}{format_time(spread(samples['primal']), 16)}"
              f"{format_time(spread(samples['srcdiff']), 16)}"
              f"{format_ratio(ratio(samples, 'srcdiff'), 12)}"
              f"{format_time(spread(samples['without']), 16)}"
              f"{format_ratio(ratio(samples, 'without'), 12)}")
        results[n] = samples
    return results


def fill_loss(x, w):
    """A loop filling an array the function made, item by item, as people write one."""
    out = numpy.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = numpy.tanh(x[i] * w)
    return numpy.sum(out ** 2)


ITEMS = (1000, 4000, 16000)
COPIES_UP_TO = 4000  # the copies without in_place: 8n² bytes (2 GB at 16,000 items)


def items_table(repeats):
    """The gradient of ``fill_loss`` with respect to ``x`` (n items) and ``w``: srcdiff's,
    which changes ``out`` in place, tapes each overwritten item and zeroes the overwritten
    item of the adjoint in the adjoint's own array; the same code zeroing it in a copy of
    the adjoint (``runtime.zero_item_into`` replaced by ``zero_item`` while generating, as
    before that change); and the code copying ``out`` at each assignment and taping the
    copy (``disable=("in_place",)``, as before that optimisation; up to ``COPIES_UP_TO``
    items): CPU time per call as a multiple of the primal's, and the peak memory of one
    call (tracemalloc, in calls apart from the timed ones)."""
    import tracemalloc
    from srcdiff import runtime
    from srcdiff.pipeline import generate
    kinds = {"x": srcdiff.kinds.array(1)}
    in_place = generate(fill_loss, ("x", "w"), name="g", kinds=kinds).function
    into = runtime.zero_item_into
    runtime.zero_item_into = lambda gradient, like, index, taken: runtime.zero_item(
        gradient, like, index)
    try:
        zero_copies = generate(fill_loss, ("x", "w"), name="g", kinds=kinds).function
    finally:
        runtime.zero_item_into = into
    copies = generate(fill_loss, ("x", "w"), name="g", kinds=kinds,
                      disable=("in_place",)).function
    print("a loop filling an array of n items (out[i] = tanh(x[i] * w)), gradient with "
          "respect to x and w: out changed in place, each overwritten item taped, the "
          "adjoint's item zeroed in place (srcdiff); the same zeroing a copy of the adjoint "
          "each pass (zero copies); out copied at each assignment and the copy taped "
          "(without in_place); CPU time per call, and the peak of memory allocated during "
          "one call (tracemalloc):")
    print(f"  {'items':>6}{'primal':>14}{'srcdiff':>14}{'/ primal':>11}{'peak':>11}"
          f"{'zero copies':>14}{'/ primal':>11}{'without':>14}{'/ primal':>11}{'peak':>11}")
    results = {}
    for n in ITEMS:
        point = (numpy.random.default_rng(0).normal(size=n), 0.7)
        variants = {"primal": (fill_loss, point), "srcdiff": (in_place, point),
                    "zero copies": (zero_copies, point)}
        if n <= COPIES_UP_TO:
            variants["without"] = (copies, point)
        for label in list(variants)[2:]:
            for a, b in zip(in_place(*point), variants[label][0](*point)):
                numpy.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        samples = measure(variants, repeats)
        peaks = {}
        for label in ("srcdiff", "without"):
            if label not in variants:
                continue
            function, arguments = variants[label]
            tracemalloc.start()
            function(*arguments)
            peaks[label] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        line = (f"  {n:>6}{format_time(spread(samples['primal']), 14)}"
                f"{format_time(spread(samples['srcdiff']), 14)}"
                f"{format_ratio(ratio(samples, 'srcdiff'), 11)}{peaks['srcdiff']:>8.2f} MB"
                f"{format_time(spread(samples['zero copies']), 14)}"
                f"{format_ratio(ratio(samples, 'zero copies'), 11)}")
        if "without" in variants:
            line += (f"{format_time(spread(samples['without']), 14)}"
                     f"{format_ratio(ratio(samples, 'without'), 11)}{peaks['without']:>8.1f} MB")
        else:
            line += f"{'-':>14}{'-':>11}{'-':>11}"
        print(line)
        results[n] = {"samples": samples, "peaks": peaks}
    return results


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tools = ["srcdiff", "hand"] + list(PEERS)
    figure, axes = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(tools)
    for i, tool in enumerate(tools):
        values = [ratios.get(tool) for _, ratios in results]
        medians = [v.median if v else float("nan") for v in values]
        errors = [[v.median - v.low if v else 0 for v in values],
                  [v.high - v.median if v else 0 for v in values]]
        axes.bar([x + i * width for x in range(len(results))], medians, width, label=tool,
                 yerr=errors, capsize=2, error_kw={"elinewidth": 0.8})
    axes.set_yscale("log")
    axes.set_ylabel("gradient time / function time (CPU)")
    axes.set_xticks([x + 0.4 - width / 2 for x in range(len(results))])
    axes.set_xticklabels([name.split(",")[0].split(" (")[0] for name, _ in results],
                         rotation=15, fontsize=8)
    axes.legend(fontsize=8, ncol=3)
    axes.grid(axis="y", alpha=0.3)
    axes.set_title("median over rounds; bars: interquartile range", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--generation-only", nargs=2, metavar=("SIZE", "SHAPE"),
                        help=argparse.SUPPRESS)  # print one generation time, in seconds
    parser.add_argument("--repeats", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--plot", default=str(Path(__file__).parent / "ratios.png"),
                        help="where to draw table 1 ('' for no plot)")
    parser.add_argument("--only", help="run the programs whose name contains this")
    parser.add_argument("--table", choices=("all", "gradient", "forward", "generation",
                                            "memory", "calls", "rows", "items"),
                        default="all", help="run one part only (default: all)")
    parser.add_argument("--save", help="write every per-round sample to this JSON file")
    parser.add_argument("--all-cores", action="store_true",
                        help="do not pin the process to one core")
    args = parser.parse_args()
    if args.generation_only:
        size, shape = args.generation_only
        print(transformation_cost(int(size), shape))
        return
    peers_found = ", ".join(f"{m} {importlib.metadata.version(m)}"
                            for m in ("autograd", "torch", "jax") if have(m))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {numpy.__version__}"
          f"{', ' + peers_found if peers_found else ''}; one thread, "
          f"{f'pinned to core {PINNED}' if PINNED is not None else 'not pinned'}; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    print(f"CPU time per call (time.process_time), {args.repeats} interleaved rounds; "
          "x: median of the per-round ratios to the primal, ±: half their interquartile "
          "range relative to the median")
    programs = [(*p, True, 10000 if "10^4" in p[0] else 100) for p in PROGRAMS] + \
        [(*p, False, 0) for p in numpy_programs()]
    programs = [p for p in programs if not args.only or args.only in p[0]]
    saved = {"repeats": args.repeats}
    results = []
    if args.table in ("all", "gradient"):
        print()
        results, saved["gradient"] = gradient_table(programs, args.repeats)
    if args.table in ("all", "forward"):
        print()
        print("forward mode and second order:")
        saved["forward"] = forward_table(programs, args.repeats)
    if args.table in ("all", "generation"):
        print()
        generation_table()
    if args.table in ("all", "memory"):
        print()
        saved["memory"] = checkpoint_table(args.repeats)
    if args.table in ("all", "calls"):
        print()
        saved["calls"] = calls_table(args.repeats)
    if args.table in ("all", "rows"):
        print()
        saved["rows"] = {str(n): v for n, v in rows_table(args.repeats).items()}
    if args.table in ("all", "items"):
        print()
        saved["items"] = {str(n): v for n, v in items_table(args.repeats).items()}
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end", end="")
    if TOTALS["wall"]:
        print(f"; CPU time / wall-clock time over all timed batches: "
              f"{TOTALS['cpu'] / TOTALS['wall']:.2f} (below 1: other processes had the core "
              "part of the time; above 1: more than one busy thread)", end="")
    print()
    if args.save:
        Path(args.save).write_text(json.dumps(saved, indent=1))
        print(f"samples: {args.save}")
    if results and args.plot:
        if have("matplotlib"):
            plot(results, args.plot)
            print(f"plot: {args.plot}")
        else:
            print("(matplotlib not installed: no plot)")


if __name__ == "__main__":
    main()
