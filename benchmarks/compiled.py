"""Compiled gradients: ``srcdiff.grad(f, compile="numba")`` against ``jax.jit(jax.grad)``,
a numba-compiled hand-written gradient, srcdiff's plain gradient and the CPython primal.

    python benchmarks/compiled.py            # after pip install -e '.[bench,numba]'

Programs (benchmarks/programs.py): the damped oscillator (100 RK2 steps), the logistic ODE
(10^4 Euler steps), Black-Scholes's five sensitivities over a batch of 1,000 options, and
(benchmarks/numpy_programs.py) logistic regression over 1,000 points of 20 features.
Run time is CPU time per call (``time.process_time``), measured as ``run.py`` does:
batches of about 20 ms, interleaved rounds (15), the process pinned to one core; ratios are
taken per round, shown as the median and the min-max over the rounds. Compile time is the
CPU time from ``srcdiff.grad(f, compile="numba")`` to the end of the first call
(generation and numba's compilation), and JAX's first call of its jitted gradient
(tracing and XLA's compilation), each waited for (``block_until_ready``). numba is warmed
up first by compiling a one-line function (its first compilation in a process loads
LLVM; printed separately). Every gradient is checked against srcdiff's plain one before
anything is timed.

How each tool gets the program: srcdiff and numba read the same source; JAX gets the
oscillator's source on ``jax.numpy`` (its Python loop unrolled by tracing, as JAX users
write it), the ODE rewritten with ``jax.lax.fori_loop`` (a traced Python loop of 10^4
steps does not compile in reasonable time), and Black-Scholes as ``jax.vmap`` of its
gradient over the batch. The batch loop of srcdiff+numba and of the numba hand-written
gradient is one ``numba.njit`` function calling the compiled gradient (a compiled
gradient's ``numba_function`` is a numba dispatcher other compiled code can call); the
primal's and the plain gradient's is a Python loop.
"""

import os
import sys

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
if hasattr(os, "sched_setaffinity") and "--all-cores" not in sys.argv:
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # before any thread starts

import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

import numpy  # noqa: E402

import srcdiff  # noqa: E402
from programs import (black_scholes, black_scholes_by_hand, logistic_growth,  # noqa: E402
                      oscillator, oscillator_by_hand)
from run import _blocking, _jax, _on_jax, clock, have, measure  # noqa: E402

REPEATS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 15
BATCH = 1000  # options priced in the Black-Scholes batch


def logistic_growth_jax(rate, capacity, y0, steps=10000, dt=0.001):
    """logistic_growth with its loop as ``jax.lax.fori_loop``."""
    import jax

    def step(_, y):
        return y + dt * rate * y * (1 - y / capacity)
    return jax.lax.fori_loop(0, steps, step, y0)


def logistic_growth_by_hand_indexed(rate, capacity, y0, steps=10000, dt=0.001):
    """programs.logistic_growth_by_hand with its backward loop over positions (numba
    has no ``reversed``); the same computation."""
    ys = []
    y = y0
    for _ in range(steps):
        ys.append(y)
        y = y + dt * rate * y * (1 - y / capacity)
    by, b_rate, b_capacity = 1.0, 0.0, 0.0
    for k in range(len(ys) - 1, -1, -1):
        y = ys[k]
        growth = 1 - y / capacity
        b_rate += by * dt * y * growth
        b_capacity += by * dt * rate * y * y / (capacity * capacity)
        by = by * (1 + dt * rate * (growth - y / capacity))
    return b_rate, b_capacity, by


def options(count=BATCH, seed=0):
    """A batch of options: spot, strike, rate, volatility, maturity (arrays)."""
    random = numpy.random.default_rng(seed)
    return (random.uniform(80, 120, count), random.uniform(80, 120, count),
            random.uniform(0.0, 0.05, count), random.uniform(0.1, 0.4, count),
            random.uniform(0.25, 2.0, count))


def timed_first_call(make, *args):
    """(function, result, CPU seconds of making it and calling it once)."""
    start = clock()
    function = make()
    result = function(*args)
    return function, result, clock() - start


def agree(a, b, rel=1e-9) -> bool:
    a, b = numpy.asarray(a, dtype=float), numpy.asarray(b, dtype=float)
    return a.shape == b.shape and bool(numpy.allclose(a, b, rtol=rel, atol=1e-12))


def scalar_program(name, primal, hand, point, wrt, jax_primal, numba):
    """Variants and compile times of a program of numbers."""
    plain = srcdiff.grad(primal, wrt=wrt)
    reference = plain(*point)
    compiled, result, srcdiff_compile = timed_first_call(
        lambda: srcdiff.grad(primal, wrt=wrt, compile="numba"), *point)
    assert agree(result, reference), f"{name}: srcdiff+numba disagrees"
    hand_jit, result, hand_compile = timed_first_call(lambda: numba.njit(hand), *point)
    assert agree(result, reference), f"{name}: numba hand-written disagrees"
    variants = {"primal": (primal, point), "srcdiff": (plain, point),
                "srcdiff+numba": (compiled, point), "numba hand": (hand_jit, point)}
    compile_times = {"srcdiff+numba": srcdiff_compile, "numba hand": hand_compile}
    if jax_primal is not None:
        jax = _jax()
        jitted, result, jax_compile = timed_first_call(
            lambda: _blocking(jax.jit(jax.grad(jax_primal, argnums=wrt))), *point)
        assert agree(result, reference), f"{name}: jax.jit disagrees"
        variants["jax.jit"] = (jitted, point)
        compile_times["jax.jit"] = jax_compile
    return variants, compile_times


def batch_program(numba):
    """Black-Scholes's five sensitivities for each option of a batch."""
    data = options()
    wrt = (0, 1, 2, 3, 4)
    plain = srcdiff.grad(black_scholes, wrt=wrt)

    def primal_loop(spot, strike, rate, vol, maturity):
        return [black_scholes(*o) for o in zip(spot, strike, rate, vol, maturity)]

    def plain_loop(spot, strike, rate, vol, maturity):
        return numpy.array([plain(*o) for o in zip(spot.tolist(), strike.tolist(),
                                                   rate.tolist(), vol.tolist(),
                                                   maturity.tolist())])
    reference = plain_loop(*data)

    def driver(gradient):
        @numba.njit
        def over_batch(spot, strike, rate, vol, maturity):
            out = numpy.empty((spot.shape[0], 5))
            for i in range(spot.shape[0]):
                g = gradient(spot[i], strike[i], rate[i], vol[i], maturity[i])
                for j in range(5):
                    out[i, j] = g[j]
            return out
        return over_batch

    compiled, result, srcdiff_compile = timed_first_call(
        lambda: driver(srcdiff.grad(black_scholes, wrt=wrt, compile="numba").numba_function),
        *data)
    assert agree(result, reference), "Black-Scholes batch: srcdiff+numba disagrees"
    hand_jit, result, hand_compile = timed_first_call(
        lambda: driver(numba.njit(black_scholes_by_hand)), *data)
    assert agree(result, reference), "Black-Scholes batch: numba hand-written disagrees"
    variants = {"primal": (primal_loop, data), "srcdiff": (plain_loop, data),
                "srcdiff+numba": (compiled, data), "numba hand": (hand_jit, data)}
    compile_times = {"srcdiff+numba": srcdiff_compile, "numba hand": hand_compile}
    if have("jax"):
        jax = _jax()
        on_jax = _on_jax(black_scholes, True)
        jnp_data = tuple(jax.numpy.asarray(a) for a in data)

        def make():
            batched = jax.jit(jax.vmap(jax.grad(on_jax, argnums=wrt)))
            return _blocking(lambda *a: jax.numpy.stack(batched(*a), axis=1))
        jitted, result, jax_compile = timed_first_call(make, *jnp_data)
        assert agree(result, reference), "Black-Scholes batch: jax.jit disagrees"
        variants["jax.jit"] = (jitted, jnp_data)
        compile_times["jax.jit"] = jax_compile
    return variants, compile_times


def numpy_program(numba):
    """Logistic regression (numpy_programs.logistic): 1,000 points of 20 features."""
    from numpy_programs import logistic, logistic_by_hand
    random = numpy.random.default_rng(0)
    point = (random.normal(size=20), random.normal(size=(1000, 20)),
             numpy.sign(random.normal(size=1000)))
    plain = srcdiff.grad(logistic)
    reference = plain(*point)
    compiled, result, srcdiff_compile = timed_first_call(
        lambda: srcdiff.grad(logistic, compile="numba"), *point)
    assert agree(result, reference), "logistic: srcdiff+numba disagrees"
    hand_jit, result, hand_compile = timed_first_call(lambda: numba.njit(logistic_by_hand),
                                                      *point)
    assert agree(result, reference), "logistic: numba hand-written disagrees"
    variants = {"primal": (logistic, point), "srcdiff": (plain, point),
                "srcdiff+numba": (compiled, point), "numba hand": (hand_jit, point)}
    compile_times = {"srcdiff+numba": srcdiff_compile, "numba hand": hand_compile}
    if have("jax"):
        jax = _jax()
        jnp_point = tuple(jax.numpy.asarray(a) for a in point)
        jitted, result, jax_compile = timed_first_call(
            lambda: _blocking(jax.jit(jax.grad(_on_jax(logistic, False)))), *jnp_point)
        assert agree(result, reference), "logistic: jax.jit disagrees"
        variants["jax.jit"] = (jitted, jnp_point)
        compile_times["jax.jit"] = jax_compile
    return variants, compile_times


COLUMNS = ("srcdiff", "srcdiff+numba", "numba hand", "jax.jit")


def per_round(samples, name, base):
    return [a / b for a, b in zip(samples[name], samples[base])
            if a is not None and b is not None]


def cell(values, width=20) -> str:
    if not values:
        return f"{'—':>{width}}"
    median = statistics.median(values)
    digits = 3 if median < 1 else 2
    return (f"{median:.{digits}f}x ({min(values):.{digits}f}–{max(values):.{digits}f})"
            .rjust(width))


def main():
    if not have("numba"):
        raise SystemExit("numba is not installed: pip install -e '.[numba]'")
    import numba
    start = clock()
    numba.njit(lambda x: x + 1.0)(1.0)
    warm_up = clock() - start
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"numba {numba.__version__}"
          + (f", jax {__import__('jax').__version__}" if have("jax") else ", jax not installed")
          + f"; numba's first compilation in this process (warm-up): {warm_up:.2f} s CPU"
          + (f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else ""))
    jax_on = have("jax")
    programs = [
        ("oscillator, 100 RK2 steps", lambda: scalar_program(
            "oscillator", oscillator, oscillator_by_hand, (2.0, 0.3, 1.0), (0, 1, 2),
            _on_jax(oscillator, True) if jax_on else None, numba)),
        ("logistic ODE, 10^4 Euler steps", lambda: scalar_program(
            "ODE", logistic_growth, logistic_growth_by_hand_indexed, (1.5, 10.0, 0.5),
            (0, 1, 2),
            logistic_growth_jax if jax_on else None, numba)),
        (f"Black-Scholes, {BATCH} options", lambda: batch_program(numba)),
        ("logistic regression (NumPy)", lambda: numpy_program(numba)),
    ]
    print()
    print("Run time: CPU time per call as a multiple of the CPython primal's, median "
          f"(min–max) of {REPEATS} rounds;")
    print("srcdiff+numba / numba hand: the same per round. Compile: CPU seconds to the end "
          "of the first call.")
    header = (f"{'program':<32} {'primal':>10} " + " ".join(f"{c:>20}" for c in COLUMNS)
              + f" {'srcdiff+numba/hand':>20}   compile: srcdiff+numba, numba hand, jax.jit")
    print(header)
    for name, make in programs:
        variants, compile_times = make()
        samples = measure(variants, REPEATS)
        primal = statistics.median(v for v in samples["primal"] if v is not None)
        line = f"{name:<32} {primal * 1e6:>8.0f}µs "
        line += " ".join(cell(per_round(samples, c, "primal") if c in samples else [])
                         for c in COLUMNS)
        line += " " + cell(per_round(samples, "srcdiff+numba", "numba hand"))
        line += "   " + ", ".join(
            f"{compile_times[c]:.2f} s" if c in compile_times else "—"
            for c in ("srcdiff+numba", "numba hand", "jax.jit"))
        print(line, flush=True)
    if load:
        after = os.getloadavg()
        print(f"load average after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")


if __name__ == "__main__":
    main()
