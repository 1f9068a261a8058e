"""Runs one generated program through srcdiff and its oracles, and gives a verdict.

Verdicts:

- ``ok``: the gradient agrees with every oracle and every pipeline variant (or the primal
  raises and so does the gradient);
- ``refused``: srcdiff raised a :class:`srcdiff.SrcdiffError` (not an ``InternalError``);
- ``wrong``: a silently wrong answer: a mismatch with an oracle or between pipeline
  variants, a wrong shape or dtype, a value different from the primal's, a gradient
  sharing memory with an argument, a gradient returned where the primal raises;
- ``internal``: an ``InternalError``, or any other exception escaping srcdiff (while
  generating or running the gradient) where the primal runs;
- ``skipped``: no oracle can decide (a kink within a finite-difference step, a primal
  that overflows, a derivative that does not exist at the point);
- ``nonfinite``: the gradient agrees with the oracles except for elements that are nan or
  inf where the oracle is finite, and the gradient without the IEEE fallback, run with
  NumPy's floating-point errors raised, raises an arithmetic error: an intermediate value
  sits where its own derivative is infinite or undefined (``hypot(0, 0)``, ``cbrt(0)``, the
  norm of a zero vector), and the chain rule gives ``0 * inf``. JAX and PyTorch give the
  same; the README documents it. Counted and reported, not a failure.

Oracles (independent of srcdiff): forward-mode dual numbers over the same source for
scalar programs (``tests/dual.py``), central differences for every program, trusted only
where two step sizes agree and so do the slopes on either side (no kink at the point).
Translation validation: the gradient with the optimizer off,
and with each optimisation switched off alone, must equal the default one. Forward mode
(``srcdiff.jvp``) must give ``<grad, v>`` for a random tangent ``v``; ``grad(grad(f))`` must
match second central differences. Central differences hold the values
``srcdiff.stop_gradient`` returns at the point.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import linecache
import math
import numbers
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy

import srcdiff
import srcdiff.kinds
from srcdiff.stop import FrozenStops
from srcdiff.errors import InternalError, LocatedError, SrcdiffError, UnsupportedSyntaxError

from .case import Case

VERDICTS = ("ok", "refused", "skipped", "nonfinite", "wrong", "internal")

# tolerances
DUAL_RTOL, DUAL_ATOL = 1e-9, 1e-10     # reverse mode vs forward mode: both exact
VARIANT_RTOL, VARIANT_ATOL = 1e-10, 1e-12   # pipeline variants vs the default gradient
FD_RTOL, FD_ATOL = 2e-5, 2e-6           # srcdiff vs central differences (h = 1e-6)
AGREE_RTOL, AGREE_ATOL = 1e-3, 1e-4     # h = 1e-6 vs h = 1e-4, and the one-sided slopes
                                        # at h = 1e-6: else a kink is near or at the point

PRIMAL_SECONDS = 5.0
PATH_LIMIT = 200_000  # lines traced to compare the paths at the point and beside it
# Python 3.12's sum() of floats compensates rounding (gh-100425); srcdiff's does not
SUM_COMPENSATES = sys.version_info >= (3, 12)
SRCDIFF_SECONDS = 30.0


@dataclass
class Result:
    verdict: str
    reason: str = ""
    category: str = ""            # a stable key: the class of failure, for grouping
    refusal: str = ""             # "ErrorClass: message" (refused)
    located: bool | None = None   # a refusal with a file and line
    seconds: float = 0.0
    details: str = ""             # longer text: traceback, numbers
    notes: list = field(default_factory=list)

    def line(self) -> str:
        return f"{self.verdict}: {self.reason}" if self.reason else self.verdict


def branch_at_point() -> Result:
    return Result("skipped", "the point takes a branch no point beside it takes (a condition "
                  "that holds only at the point): central differences see the other branch",
                  "skipped:branch-at-point")


class Timeout(BaseException):
    """Raised by the alarm: a BaseException, so ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def deadline(seconds):
    """Interrupt the block after ``seconds`` of this process's CPU time (main thread only;
    elsewhere, no limit). CPU time, not wall time: a campaign or CI run that shares its
    cores with other work must not call a slow machine a hang."""
    if threading.current_thread() is not threading.main_thread() or not seconds:
        yield
        return

    def alarm(signum, frame):
        raise Timeout(f"timed out after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, alarm)
    # the alarm repeats every second until cleared: a Timeout raised where Python swallows
    # exceptions (a weakref callback, a __del__) must not let a hang through
    signal.setitimer(signal.ITIMER_PROF, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


STRICT = dict(divide="raise", invalid="raise", over="raise")


@contextlib.contextmanager
def quiet(strict=False):
    """No output from the programs' print calls, no NumPy warnings (``strict``: NumPy's
    division by zero, invalid operations and overflow raise ``FloatingPointError``)."""
    errors = STRICT if strict else {"all": "ignore"}
    with contextlib.redirect_stdout(io.StringIO()), numpy.errstate(**errors), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def filename_of(case: Case) -> str:
    digest = hashlib.sha1(case.source.encode()).hexdigest()[:10]
    return f"<fuzz {case.kind} {case.seed} {digest}>"


def load(case: Case):
    """Execute the module's source, registered with linecache so srcdiff (and
    ``inspect.getsource``) can read it; returns (program, namespace)."""
    filename = filename_of(case)
    source = case.source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": f"fuzz_{case.kind}_{case.seed}", "__file__": filename}
    with quiet():
        exec(compile(source, filename, "exec"), namespace)
    function = namespace[case.function]
    function.program_source = source  # the whole module, helpers included (dual oracle)
    return function, namespace


def copy_point(point):
    return [p.copy() if isinstance(p, numpy.ndarray) else p for p in point]


def kinds_of(case: Case) -> dict:
    return {name: srcdiff.kinds.array(rank) for name, rank in case.ranks.items()}


def short(error: BaseException, limit=160) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first}"[:limit]


def refusal_key(error: SrcdiffError) -> str:
    """The refusal's class and message without where it happened (for grouping)."""
    message = error.message if isinstance(error, LocatedError) else str(error).splitlines()[0]
    return f"{type(error).__name__}: {message}"


_SRCDIFF_DIRECTORY = os.path.dirname(os.path.abspath(srcdiff.__file__))


def is_refusal(error: BaseException) -> bool:
    """A SrcdiffError that refuses the program: not an internal error, nor an error
    located in srcdiff's own code or in code it generated (differentiating its own
    output again, for second derivatives: srcdiff failing on what it wrote)."""
    if not isinstance(error, SrcdiffError) or isinstance(error, InternalError):
        return False
    filename = getattr(error, "filename", None) or ""
    return not (filename.startswith("<srcdiff generated") or
                os.path.dirname(os.path.abspath(filename)) == _SRCDIFF_DIRECTORY)


def where_in_srcdiff(error: BaseException) -> str:
    """The innermost srcdiff function the exception passed through (``module.function``)."""
    place = "?"
    for frame in traceback.extract_tb(error.__traceback__):
        parts = frame.filename.replace("\\", "/").split("/")
        if "srcdiff" in parts[:-1]:
            module = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
            place = f"{module}.{frame.name}"
    return place


def as_float_array(value):
    return numpy.asarray(value, dtype=float)


def scale_of(*values) -> float:
    result = 1.0
    for value in values:
        try:
            array = numpy.abs(numpy.asarray(value, dtype=float))
            if array.size and numpy.all(numpy.isfinite(array)):
                result = max(result, float(array.max()))
        except (TypeError, ValueError):
            pass
    return result


def close(a, b, rtol, atol) -> bool:
    a, b = as_float_array(a), as_float_array(b)
    if a.shape != b.shape:
        return False
    return bool(numpy.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def describe(gradients, wrt_names) -> str:
    parts = []
    for name, g in zip(wrt_names, gradients):
        array = numpy.asarray(g, dtype=float)
        parts.append(f"{name}={array.tolist()!r}" if array.ndim else f"{name}={float(array)!r}")
    return ", ".join(parts)


class Run:
    """One case through srcdiff and the oracles."""

    def __init__(self, case: Case, passes: bool = True, timeouts: bool = True,
                 culprits: bool = True, value_and_grad: bool = True, forward: bool = True,
                 second: bool = True, structured: bool = True, checkpoints: bool = True,
                 tuples: bool = True):
        self.case = case
        self.tuples = tuples          # also the program returning a tuple: vjp and jvp
        self.checkpoints = checkpoints  # also grad(f, checkpoints=K): the same gradient
        self.structured = structured  # also the program reading a structured argument
        self.forward = forward        # also forward mode: jvp against <grad, v>
        self.second = second          # also grad(grad(f)) against differences of grad(f)
        self.passes = passes          # every optimisation off alone, not just all of them
        self.value_and_grad = value_and_grad   # also generate value_and_grad and compare
        self.timeouts = timeouts
        self.culprits = culprits      # on a wrong gradient, find the optimisation to blame
        self.notes = []
        self.singular_settings = []   # settings whose gradient is nan/inf where the default is not

    def limit(self, seconds):
        return deadline(seconds if self.timeouts else None)

    def args(self):
        """The point, copied, for one evaluation; the module's global arrays as they
        were when it was loaded (a program may change one in place through an alias,
        ``r = T; r[1] = ...``, which generated code never does: every evaluation starts
        from the same state)."""
        self.restore_globals()
        return copy_point(self.case.point)

    def restore_globals(self):
        for array, saved in getattr(self, "global_snapshots", ()):
            if array.flags.writeable:
                array[...] = saved

    # -- the steps -------------------------------------------------------------
    def run(self) -> Result:
        start = time.perf_counter()
        try:
            result = self._run()
        except Timeout as error:
            result = Result("internal", f"timeout: {error}", "internal:timeout")
        finally:
            linecache.cache.pop(filename_of(self.case), None)
        result.seconds = time.perf_counter() - start
        result.notes = self.notes
        return result

    def _run(self) -> Result:
        case = self.case
        try:
            with self.limit(PRIMAL_SECONDS):
                program, namespace = load(case)
        except Timeout:
            return Result("skipped", "module takes too long to load", "skipped:load")
        except Exception as error:  # a generator bug: it hides a program, so it fails
            return Result("internal", f"the generated module does not load (a bug of the "
                          f"generator): {short(error)}", "internal:generator-load",
                          details=traceback.format_exc())
        self.program, self.namespace = program, namespace
        self.global_arrays = [v for v in namespace.values() if isinstance(v, numpy.ndarray)]
        self.global_snapshots = [(v, v.copy()) for v in self.global_arrays]
        wrt = case.wrt

        # the primal
        try:
            with self.limit(PRIMAL_SECONDS), quiet():
                value = program(*self.args())
        except Timeout:
            return Result("skipped", "primal does not finish", "skipped:primal-timeout")
        except Exception as error:
            return self.primal_raises(program, error)
        if isinstance(value, numpy.ndarray) and value.ndim == 0:
            value = value[()]
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return Result("skipped", f"primal returns a {type(value).__name__}",
                          "skipped:primal-type")
        if not math.isfinite(value):
            return Result("skipped", f"primal returns {value!r}", "skipped:primal-nonfinite")
        self.value = value

        # srcdiff's gradient, through the public API
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                gradient = srcdiff.grad(program, wrt=wrt)
        except Timeout:
            return Result("internal", "generating the gradient does not finish",
                          "internal:generate-timeout")
        except Exception as error:
            return self.srcdiff_error(error, "generating the gradient")
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                gradients = gradient(*self.args())
        except Timeout:
            return Result("internal", "the gradient does not finish", "internal:run-timeout")
        except Exception as error:
            if is_refusal(error) or isinstance(error, InternalError):
                return self.srcdiff_error(error, "specialising the gradient")
            return self.gradient_raises(error, "the gradient")

        problem = self.check_structure(gradients)
        if problem:
            return problem
        self.gradients = gradients

        problem = self.check_value_and_grad(program) if self.value_and_grad else None
        if problem:
            return problem
        problem = self.check_memory(gradient)
        if problem:
            return problem

        # oracles
        verdict = self.check_oracles()
        if verdict.verdict in ("wrong", "internal"):
            return verdict

        # translation validation
        problem = self.check_variants()
        if problem:
            return problem
        problem = self.check_checkpoints() if self.checkpoints else None
        if problem:
            return problem
        problem = self.check_forward() if self.forward else None
        if problem:
            return problem
        problem = self.check_tuple_outputs() if self.tuples else None
        if problem:
            return problem
        problem = self.check_float32() if case.float32 and verdict.verdict == "ok" else None
        if problem:
            return problem
        problem = self.check_second() if self.second and verdict.verdict == "ok" else None
        if problem:
            return problem
        problem = self.check_structured() if self.structured else None
        if problem:
            return problem
        if self.singular_settings and verdict.verdict == "ok":
            return Result("nonfinite", "nan or inf with " + ", ".join(self.singular_settings)
                          + " where the default gradient is finite and agrees with the oracles",
                          "nonfinite:variant")
        return verdict

    def primal_raises(self, program, error) -> Result:
        """The primal raises: every gradient must raise too; where the program's own
        ``raise`` did (its message says "fuzz:"), the same exception, message and all."""
        what = short(error)
        for label, make in (("grad", srcdiff.grad), ("value_and_grad", srcdiff.value_and_grad)):
            try:
                with self.limit(SRCDIFF_SECONDS), quiet():
                    returned = make(program, wrt=self.case.wrt)(*self.args())
            except Timeout:
                return Result("internal", f"primal raises {what}; {label} does not finish",
                              "internal:run-timeout")
            except Exception as raised:
                if isinstance(raised, SrcdiffError) and not isinstance(raised, type(error)):
                    # srcdiff failed before running it: a refusal, or an internal error
                    return self.srcdiff_error(raised, label)
                if "fuzz:" in str(error) and (type(raised) is not type(error)
                                              or str(raised) != str(error)):
                    return Result("wrong", f"primal raises {what} but {label} raises "
                                  f"{short(raised)}", "wrong:other-exception")
                continue
            return Result("wrong", f"primal raises {what} but {label} returns {returned!r:.80}",
                          "wrong:returns-where-primal-raises")
        return Result("ok", f"primal raises {what}; so does the gradient")

    def srcdiff_error(self, error, when) -> Result:
        if is_refusal(error):
            located = isinstance(error, LocatedError) and bool(error.filename) and bool(error.lineno)
            return Result("refused", short(error), "refused", refusal=refusal_key(error),
                          located=located, details=str(error))
        kind = "InternalError" if isinstance(error, InternalError) else type(error).__name__
        cause = error.__cause__ if isinstance(error, InternalError) and error.__cause__ else error
        return Result("internal", f"{when}: {short(error)}",
                      f"internal:{kind}:{type(cause).__name__}@{where_in_srcdiff(cause)}",
                      details="".join(traceback.format_exception(error)))

    def gradient_raises(self, error, label) -> Result:
        """A gradient raised an ordinary exception where the primal runs: a bug, unless the
        derivative does not exist there (forward mode raises too)."""
        if self.case.kind == "scalar":
            try:
                with self.limit(PRIMAL_SECONDS), quiet():
                    import dual
                    dual.forward_gradient(self.program, list(self.case.point), self.case.wrt)
            except Timeout:
                pass
            except Exception as oracle_error:
                return Result("skipped", f"{label} raises {short(error)}; so does forward mode "
                              f"({short(oracle_error)}): no derivative here",
                              "skipped:no-derivative")
        return Result("internal", f"{label} raises {short(error)} where the primal runs",
                      f"internal:raises:{type(error).__name__}",
                      details="".join(traceback.format_exception(error)))

    def check_structure(self, gradients):
        case = self.case
        if not isinstance(gradients, tuple) or len(gradients) != len(case.wrt):
            return Result("wrong", f"grad returned {type(gradients).__name__} "
                          f"{gradients!r:.60}, not a tuple of {len(case.wrt)}", "wrong:structure")
        for name, index, g in zip(case.wrt_names, case.wrt, gradients):
            expected = numpy.shape(case.point[index])
            if numpy.shape(g) != expected:
                return Result("wrong", f"gradient of {name} has shape {numpy.shape(g)}, "
                              f"its parameter {expected}", "wrong:shape")
            dtype = numpy.asarray(g).dtype
            if dtype.kind != "f":
                return Result("wrong", f"gradient of {name} has dtype {dtype} "
                              f"({type(g).__name__} {g!r:.40})", "wrong:dtype")
        return None

    def same_value(self, value) -> bool:
        """Whether a value srcdiff's code computed is the primal's: the same number,
        except through ``sum``: srcdiff adds left to right, as Python 3.11 does, and
        Python 3.12 and later compensate the rounding of float sums (README, "sum")."""
        if value == self.value:
            return True
        return SUM_COMPENSATES and "sum(" in self.case.source and math.isclose(
            value, self.value, rel_tol=1e-9, abs_tol=1e-12)

    def check_value_and_grad(self, program):
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                value, gradients = srcdiff.value_and_grad(program, wrt=self.case.wrt)(*self.args())
        except Timeout:
            return Result("internal", "value_and_grad does not finish", "internal:run-timeout")
        except Exception as error:
            if is_refusal(error) or isinstance(error, InternalError):
                result = self.srcdiff_error(error, "value_and_grad")
                if result.verdict == "refused":
                    return Result("internal", f"value_and_grad refuses what grad accepts: "
                                  f"{short(error)}", "internal:value_and_grad-refuses")
                return result
            return self.gradient_raises(error, "value_and_grad")
        if isinstance(value, numpy.ndarray) and value.ndim == 0:
            value = value[()]
        if not self.same_value(value):
            return Result("wrong", f"value_and_grad's value {value!r} != primal {self.value!r}",
                          "wrong:value")
        scale = scale_of(*self.gradients)
        for name, a, b in zip(self.case.wrt_names, gradients, self.gradients):
            if not close(a, b, VARIANT_RTOL, VARIANT_ATOL * scale):
                return Result("wrong", f"value_and_grad's gradient of {name} differs from "
                              f"grad's: {describe([a], [name])} vs {describe([b], [name])}",
                              "wrong:value_and_grad-gradient")
        return None

    def check_memory(self, gradient):
        """No gradient may share memory with an argument, a global or another gradient;
        changing a gradient in place leaves the arguments alone."""
        args = self.args()
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                gradients = gradient(*args)
        except Timeout:
            return Result("internal", "the gradient does not finish (second call)",
                          "internal:run-timeout")
        except Exception as error:
            return Result("internal", f"the gradient raises on a second call: {short(error)}",
                          "internal:second-call")
        arrays = [(n, g) for n, g in zip(self.case.wrt_names, gradients)
                  if isinstance(g, numpy.ndarray)]
        if not arrays:
            return None
        names = self.case.names
        for name, g in arrays:
            for arg_name, arg in zip(names, args):
                if isinstance(arg, numpy.ndarray) and numpy.shares_memory(g, arg):
                    return Result("wrong", f"gradient of {name} shares memory with argument "
                                  f"{arg_name}", "wrong:shares-memory")
            for glob in self.global_arrays:
                if numpy.shares_memory(g, glob):
                    return Result("wrong", f"gradient of {name} shares memory with a "
                                  "module-level array", "wrong:shares-memory")
        for k, (n1, g1) in enumerate(arrays):
            for n2, g2 in arrays[k + 1:]:
                if numpy.shares_memory(g1, g2):
                    return Result("wrong", f"gradients of {n1} and {n2} share memory",
                                  "wrong:shares-memory")
        before = [a.copy() if isinstance(a, numpy.ndarray) else a for a in args]
        globals_before = [g.copy() for g in self.global_arrays]
        for name, g in arrays:
            try:
                g *= 2
            except ValueError as error:
                return Result("wrong", f"gradient of {name} cannot be changed in place "
                              f"({short(error)})", "wrong:read-only")
        for arg_name, a, b in zip(names, args, before):
            if isinstance(a, numpy.ndarray) and not numpy.array_equal(a, b, equal_nan=True):
                return Result("wrong", f"changing the gradient in place changed argument "
                              f"{arg_name}", "wrong:shares-memory")
        for glob, was in zip(self.global_arrays, globals_before):
            if not numpy.array_equal(glob, was, equal_nan=True):
                return Result("wrong", "changing the gradient in place changed a "
                              "module-level array", "wrong:shares-memory")
        return None

    # -- oracles ---------------------------------------------------------------------
    def primal_at(self, args):
        self.restore_globals()
        with quiet():
            value = self.program(*args)
        return float(value)

    def replayed(self, stops, args):
        """The primal at ``args`` with the values ``stop_gradient`` gave at the point."""
        with stops.replaying():
            value = self.primal_at(args)
        if stops.diverged:   # another path: its stopped values are not the point's
            raise ValueError("stop_gradient called more often than at the point")
        return value

    def central(self, h):
        """Central differences for every wrt parameter (element by element), and the
        one-sided slopes' difference ``(f(x+h) - 2 f(x) + f(x-h)) / h`` (about ``h f''``
        where f is smooth; the jump in slope at a kink *at* the point, which central
        differences at every step size average away); an element whose evaluation
        raises is nan in both."""
        result, bends = [], []
        stops = FrozenStops()   # srcdiff.stop_gradient's values at the point, replayed
        with stops.recording():
            centre = self.primal_at(self.args())
        for index in self.case.wrt:
            base = self.case.point[index]
            if isinstance(base, numpy.ndarray):
                g = numpy.full(base.shape, numpy.nan)
                bend = numpy.full(base.shape, numpy.nan)
                for element in numpy.ndindex(base.shape):
                    step = h * max(1.0, abs(float(base[element])))
                    try:
                        up = self.args()
                        up[index][element] = base[element] + step
                        down = self.args()
                        down[index][element] = base[element] - step
                        above, below = self.replayed(stops, up), self.replayed(stops, down)
                        g[element] = (above - below) / (2 * step)
                        bend[element] = (above - 2 * centre + below) / step
                    except Timeout:
                        raise
                    except Exception:
                        pass
                result.append(g)
                bends.append(bend)
            else:
                step = h * max(1.0, abs(base))
                try:
                    up, down = self.args(), self.args()
                    up[index] = base + step
                    down[index] = base - step
                    above, below = self.replayed(stops, up), self.replayed(stops, down)
                    result.append((above - below) / (2 * step))
                    bends.append((above - 2 * centre + below) / step)
                except Timeout:
                    raise
                except Exception:
                    result.append(math.nan)
                    bends.append(math.nan)
        return result, bends

    def finite_differences(self):
        """(estimate, trusted mask) per parameter: trusted where h = 1e-6 and 1e-4 agree."""
        with self.limit(PRIMAL_SECONDS * 4):
            (fine, bends), (coarse, _) = self.central(1e-6), self.central(1e-4)
        out = []
        for f, c, bend in zip(fine, coarse, bends):
            f, c, bend = as_float_array(f), as_float_array(c), as_float_array(bend)
            scale = max(1.0, float(numpy.nanmax(numpy.abs(f))) if numpy.any(numpy.isfinite(f)) else 1.0)
            trusted = numpy.isfinite(f) & numpy.isfinite(c) & \
                numpy.isclose(f, c, rtol=AGREE_RTOL, atol=AGREE_ATOL * scale) & \
                (numpy.abs(bend) <= AGREE_RTOL * numpy.abs(f) + AGREE_ATOL * scale)
            out.append((f, trusted))
        return out

    def path(self, args, opcodes: bool = False) -> tuple | None:
        """The lines of the module the program runs at ``args``, in order (with
        ``opcodes``, each instruction's offset too: a conditional expression's branches
        share a line); None if it raises or runs too long to tell."""
        filename, lines = filename_of(self.case), []

        def tracer(frame, event, arg):
            if frame.f_code.co_filename != filename:
                return None
            if opcodes:
                frame.f_trace_opcodes = True
            if event == "line" or event == "opcode":
                lines.append((frame.f_lineno, frame.f_lasti) if opcodes else frame.f_lineno)
                if len(lines) > PATH_LIMIT:
                    raise OverflowError("path too long")
            return tracer
        sys.settrace(tracer)
        try:
            with self.limit(PRIMAL_SECONDS), quiet():
                self.program(*args)
        except Timeout:
            raise
        except Exception:
            return None
        finally:
            sys.settrace(None)
        return tuple(lines)

    def branch_only_at_point(self) -> bool:
        """Whether the program takes a path at the point that it takes on neither side of
        it, along some differentiated parameter (a condition that holds only there:
        ``(a > a) >= hypot(x, 0)`` at x = 0). The derivative along the path taken, which
        srcdiff gives as every AD tool does, is then not what central differences see.
        Lines first; then instructions, for a condition inside a line (``x if t else y``)."""
        return self._branch_only_at_point(False) or self._branch_only_at_point(True)

    def _branch_only_at_point(self, opcodes: bool) -> bool:
        if opcodes:  # Python 3.12 gives no opcode events the first time a frame asks for
            self.path(self.args(), opcodes)  # them: that path is shorter, and differed
        centre = self.path(self.args(), opcodes)
        if centre is None:
            return False
        for index in self.case.wrt:
            base = self.case.point[index]
            elements = list(numpy.ndindex(base.shape))[:12] if isinstance(
                base, numpy.ndarray) else [None]
            for element in elements:
                sides = []
                for sign in (1.0, -1.0):
                    args = self.args()
                    value = float(base[element] if element is not None else base)
                    moved = value + sign * 1e-6 * max(1.0, abs(value))
                    if element is None:
                        args[index] = moved
                    else:
                        args[index][element] = moved
                    sides.append(self.path(args, opcodes))
                if None not in sides and sides[0] != centre and sides[1] != centre:
                    return True
        return False

    def check_oracles(self) -> Result:
        case = self.case
        names = case.wrt_names
        ours = self.gradients
        forward = None
        forward_error = None
        if case.kind == "scalar":
            try:
                with self.limit(PRIMAL_SECONDS), quiet():
                    import dual
                    forward = dual.forward_gradient(self.program, list(case.point), case.wrt)
                forward = [float(v) for v in forward]
            except Timeout:
                self.notes.append("forward mode timed out")
                forward = None
            except Exception as error:
                self.notes.append(f"forward mode raises {short(error)}")
                forward, forward_error = None, error
        try:
            fd = self.finite_differences()
        except Timeout:
            fd = None
            self.notes.append("finite differences timed out")
        scale = scale_of(self.value, *ours)

        if forward is not None and all(math.isfinite(v) for v in forward):
            mismatched = [n for n, a, b in zip(names, ours, forward)
                          if not close(a, b, DUAL_RTOL, DUAL_ATOL * scale)]
            if mismatched and fd is not None and all(bool(t.all()) for _, t in fd) and all(
                    close(a, f, FD_RTOL, FD_ATOL * scale) for a, (f, _) in zip(ours, fd)) and not all(
                    close(b, f, FD_RTOL, FD_ATOL * scale) for b, (f, _) in zip(forward, fd)):
                # forward mode is singular here (0 * inf taken as 0), differences settle it
                self.notes.append(f"oracles disagree: forward {describe(forward, names)}; "
                                  f"srcdiff agrees with settled differences")
                return Result("ok")
            if mismatched:
                if fd is not None and all(bool(t.all()) for _, t in fd):
                    estimate = [f for f, _ in fd]
                    if not all(close(b, f, FD_RTOL, FD_ATOL * scale) for b, f in zip(forward, estimate)):
                        if self.branch_only_at_point():
                            return branch_at_point()
                        return self.blame(
                            f"differs from central differences: srcdiff {describe(ours, names)}; "
                            f"differences {describe(estimate, names)} (forward mode, singular "
                            f"here: {describe(forward, names)})", "differences",
                            lambda g: all(close(a, f, FD_RTOL, FD_ATOL * scale)
                                          for a, f in zip(g, estimate)), fd, FD_RTOL, FD_ATOL * scale)
                return self.blame(f"differs from forward mode: srcdiff {describe(ours, names)}; "
                                  f"forward {describe(forward, names)}", "forward-mode",
                                  lambda g: all(close(a, b, DUAL_RTOL, DUAL_ATOL * scale)
                                                for a, b in zip(g, forward)),
                                  [(as_float_array(b), numpy.ones(numpy.shape(b), bool))
                                   for b in forward], DUAL_RTOL, DUAL_ATOL * scale)
            if fd is not None:  # a cross-check of the oracles themselves
                for name, a, (f, trusted) in zip(names, forward, fd):
                    if bool(trusted.all()) and not close(a, f, 1e-4, 1e-5 * scale):
                        self.notes.append(f"oracles disagree on {name}: forward {a!r}, "
                                          f"differences {float(f)!r}")
            return Result("ok")

        finite = all(numpy.all(numpy.isfinite(as_float_array(g))) for g in ours)
        if forward_error is not None and isinstance(forward_error, (ArithmeticError, ValueError)) \
                and not finite:
            return Result("skipped", f"no derivative at the point: forward mode raises "
                          f"{short(forward_error)}, srcdiff gives {describe(ours, names)}",
                          "skipped:no-derivative")
        if fd is None:
            return Result("skipped", "no oracle (finite differences time out)", "skipped:no-oracle")
        compared = 0
        mismatched = []
        for name, g, (f, trusted) in zip(names, ours, fd):
            g = as_float_array(g)
            if not trusted.any():
                continue
            compared += int(trusted.sum())
            if not numpy.allclose(g[trusted], f[trusted], rtol=FD_RTOL, atol=FD_ATOL * scale):
                mismatched.append(name)
        if mismatched:
            estimate = [f for f, _ in fd]
            if self.branch_only_at_point():
                return branch_at_point()
            return self.blame(f"differs from central differences: srcdiff {describe(ours, names)}; "
                              f"differences {describe(estimate, names)}", "differences",
                              lambda g: all(numpy.allclose(as_float_array(a)[t], f[t], rtol=FD_RTOL,
                                                           atol=FD_ATOL * scale)
                                            for a, (f, t) in zip(g, fd)),
                              fd, FD_RTOL, FD_ATOL * scale)
        total = sum(int(t.size) for _, t in fd)
        if compared == 0:
            return Result("skipped", "finite differences disagree between step sizes "
                          "(a kink or a branch switch near the point)", "skipped:kink")
        if compared < total:
            self.notes.append(f"{total - compared} of {total} elements not compared (kink)")
        return Result("ok")

    def singular(self, reference, rtol, atol) -> Result | None:
        """The ``nonfinite`` verdict, or None: every element where srcdiff's gradient is
        finite agrees with the oracle (where the oracle is trusted), some element is nan
        or inf where the oracle is finite, and the derivative really is singular at the
        point: the unoptimized gradient, without the IEEE fallback and with NumPy's
        floating-point errors raised, raises an arithmetic error while the primal, run
        the same way, does not."""
        singular = 0
        for g, (f, trusted) in zip(self.gradients, reference):
            g = as_float_array(g)
            if g.shape != f.shape:
                return None
            bad = ~numpy.isfinite(g) & numpy.isfinite(f)
            good = numpy.isfinite(g) & trusted
            if not numpy.allclose(g[good], f[good], rtol=rtol, atol=atol):
                return None
            singular += int(bad.sum())
        if not singular:
            return None
        try:
            with self.limit(PRIMAL_SECONDS), quiet(strict=True):
                self.program(*self.args())
        except Timeout:
            raise
        except Exception:
            return None   # the primal itself meets nan or inf: no evidence either way
        try:
            self.variant(optimize=False, strict=True)
        except (ArithmeticError, ValueError) as error:
            if is_refusal(error):
                return None
            return Result("nonfinite", f"{singular} element(s) nan or inf where the oracle is "
                          f"finite; the derivative of an intermediate is singular here "
                          f"({short(error)})", "nonfinite")
        return None

    def blame(self, reason, oracle, agrees, reference=None, rtol=0.0, atol=0.0) -> Result:
        """A wrong gradient: is the optimizer to blame (the unoptimized gradient agrees
        with the oracle), and which pass? A gradient with nan or inf where the oracle
        is finite is ``nonfinite`` when the derivative of an intermediate is singular at
        the point (:meth:`singular`), else its own class of ``wrong``."""
        if reference is not None:
            verdict = self.singular(reference, rtol, atol)
            if verdict is not None:
                return verdict
        category = f"wrong:{oracle}"
        if not all(numpy.all(numpy.isfinite(as_float_array(g))) for g in self.gradients):
            category += "-nonfinite"
        try:
            plain = self.variant(optimize=False)
            if agrees(plain):
                culprits = []
                for name in (self.optimizations() if self.culprits else ()):
                    try:
                        if agrees(self.variant(disable=(name,))):
                            culprits.append(name)
                    except Timeout:
                        raise
                    except Exception:
                        pass
                category = f"wrong:{oracle}:optimizer" + (f":{'+'.join(culprits)}" if culprits else "")
                reason += (f" (right with the optimizer off; with {', '.join(culprits)} off)"
                           if culprits else " (right with the optimizer off)")
        except Timeout:
            raise
        except Exception:
            pass
        return Result("wrong", reason, category)

    # -- forward mode ----------------------------------------------------------------
    def check_forward(self):
        """Forward mode against reverse mode (the dot-product test): for a tangent ``v``
        drawn from the seed, ``jvp`` gives the primal's value and ``<grad, v>``. A
        refusal forward mode documents (recursion, a loop over active values) is a
        note, not a failure."""
        if not all(numpy.all(numpy.isfinite(as_float_array(g))) for g in self.gradients):
            return None
        rng = numpy.random.default_rng(self.case.seed)
        tangents = [rng.normal(size=numpy.shape(self.case.point[i])) if
                    isinstance(self.case.point[i], numpy.ndarray) else float(rng.normal())
                    for i in self.case.wrt]
        expected = sum(float(numpy.sum(as_float_array(g) * t))
                       for g, t in zip(self.gradients, tangents))
        scale = max(1.0, sum(float(numpy.sum(numpy.abs(as_float_array(g) * t)))
                             for g, t in zip(self.gradients, tangents)))
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                value, derivative = srcdiff.jvp(self.program, wrt=self.case.wrt)(
                    *self.args(), *tangents)
        except Timeout:
            return Result("internal", "forward mode does not finish", "internal:forward:timeout")
        except Exception as error:
            if is_refusal(error):
                self.notes.append(f"forward mode refuses: {short(error)}")
                return None
            return Result("internal", f"forward mode raises {short(error)} where reverse "
                          "mode works", f"internal:forward:{type(error).__name__}",
                          details="".join(traceback.format_exception(error)))
        if isinstance(value, numpy.ndarray) and value.ndim == 0:
            value = value[()]
        if not self.same_value(value):
            return Result("wrong", f"jvp's value {value!r} != primal {self.value!r}",
                          "wrong:forward-value")
        if type(derivative) is not float:
            return Result("wrong", f"jvp's derivative is a {type(derivative).__name__}",
                          "wrong:forward-dtype")
        if not math.isfinite(derivative):
            singular = self.forward_singular(tangents)
            if singular is not None:
                return singular
        if not math.isclose(derivative, expected, rel_tol=1e-9, abs_tol=1e-10 * scale):
            return Result("wrong", f"forward mode gives {derivative!r}, reverse mode "
                          f"<grad, v> = {expected!r}", "wrong:forward-vs-reverse")
        return None

    def check_tuple_outputs(self):
        """The program returning a tuple (``fuzz.tuples``): its value and another output
        (itself again, a constant, a parameter, twice one). ``vjp``'s pull-back of a
        random tuple of cotangents must be the matching combination of the gradient,
        ``jvp``'s tangents ``<grad, v>`` and the other output's. A refusal is a note."""
        from . import tuples
        if not all(numpy.all(numpy.isfinite(as_float_array(g))) for g in self.gradients):
            return None
        variant = tuples.make(self.case)
        if variant is None:
            return None
        filename = f"<fuzz tuples {self.case.kind} {self.case.seed}>"
        linecache.cache[filename] = (len(variant.source), None,
                                     variant.source.splitlines(True), filename)
        try:
            return self.tuple_outputs_against_gradient(variant, filename)
        finally:
            linecache.cache.pop(filename, None)

    def tuple_outputs_against_gradient(self, variant, filename):
        from .tuples import CONSTANT
        namespace = {"__name__": f"fuzz_tuples_{self.case.seed}", "__file__": filename}
        with quiet():
            exec(compile(variant.source, filename, "exec"), namespace)
        program = namespace[variant.function]
        wrt, point = self.case.wrt, self.case.point
        rng = numpy.random.default_rng((self.case.seed, 31))  # a stream of its own
        at = variant.parameter  # the parameter returned, or None
        factor = {"parameter": 1.0, "scaled": 2.0}.get(variant.other, 0.0)
        again = variant.other == "again"
        other = self.value if again else CONSTANT if at is None else factor * point[at]
        c_value = float(rng.normal())
        c_other = rng.normal(size=numpy.shape(other)) if numpy.ndim(other) \
            else float(rng.normal())
        tangents = [rng.normal(size=numpy.shape(point[i])) if isinstance(point[i], numpy.ndarray)
                    else float(rng.normal()) for i in wrt]
        gradients = [as_float_array(g) for g in self.gradients]
        expected = [(c_value + (c_other if again else 0.0)) * g
                    + (factor * c_other if i == at else 0.0)
                    for i, g in zip(wrt, gradients)]
        pushed_value = sum(float(numpy.sum(g * t)) for g, t in zip(gradients, tangents))
        pushed_other = pushed_value if again else factor * tangents[wrt.index(at)] \
            if at is not None else 0.0
        # the size of the terms added (the tolerance is relative to it)
        scale = max(1.0, sum(float(numpy.sum(numpy.abs(g * t)))
                             for g, t in zip(gradients, tangents))) * scale_of(
            *gradients, *tangents, c_value, c_other, 2.0 * numpy.abs(c_other))
        order = (lambda a, b: (a, b)) if variant.first else (lambda a, b: (b, a))
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                value, pullback = srcdiff.vjp(program, wrt=wrt)(*self.args())
                pulled = pullback(order(c_value, c_other))
                value_, pushed = srcdiff.jvp(program, wrt=wrt)(*self.args(), *tangents)
        except Timeout:
            return Result("internal", "vjp or jvp of the program returning a tuple does not "
                          "finish", "internal:tuples:timeout")
        except Exception as error:
            if is_refusal(error):
                self.notes.append(f"the tuple variant is refused: {short(error)}")
                return None
            if isinstance(error, (ArithmeticError, ValueError)):
                return None  # singular derivatives are judged by the other checks
            return Result("internal", f"vjp or jvp of the program returning a tuple raises "
                          f"{short(error)} (grad works)", f"internal:tuples:"
                          f"{type(error).__name__}", details="".join(
                              traceback.format_exception(error)))
        mine, theirs = order(0, 1)
        for got in (value, value_):
            if type(got) is not tuple or len(got) != 2 or not self.same_value(
                    got[mine][()] if isinstance(got[mine], numpy.ndarray) else got[mine]):
                return Result("wrong", f"the tuple variant's value is {got!r}, not the "
                              f"program's {self.value!r} with {other!r}", "wrong:tuples-value")
        for k, (got, want) in enumerate(zip(pulled, expected)):
            if not close(got, want, VARIANT_RTOL, VARIANT_ATOL * scale) and not \
                    agree_where_finite(got, want, VARIANT_RTOL, VARIANT_ATOL * scale):
                return Result("wrong", f"vjp of the program returning ({variant.other}) pulls "
                              f"back {describe([got], [self.case.wrt_names[k]])}, not "
                              f"{describe([want], [self.case.wrt_names[k]])}",
                              "wrong:tuples-vjp")
        for got, want in zip(order(*pushed), (pushed_value, pushed_other)):
            if numpy.shape(got) == numpy.shape(want) and not numpy.all(numpy.isfinite(got)):
                # the flat program's forward mode along the same tangents: singular there
                # too? (seeds 780007, 780125)
                singular = self.forward_singular(tangents)
                if singular is not None:
                    return singular
            if numpy.shape(got) != numpy.shape(want) or not close(
                    got, want, VARIANT_RTOL, VARIANT_ATOL * scale):
                return Result("wrong", f"jvp of the program returning ({variant.other}) "
                              f"gives {got!r}, not {want!r}", "wrong:tuples-jvp")
        return None

    def check_checkpoints(self):
        """``grad(f, checkpoints=K)`` for K = 2 and 3, with stretches of one iteration
        (``checkpoint.LEAF = 1``: the most states kept and iterations run again): the same
        numbers as without checkpoints, to the last bit (the same statements run on the
        same values). Stretches of one iteration with two states cost a long loop its
        length squared: where that does not finish in a third of the time allowed, the
        default stretches are checked instead (a note)."""
        from srcdiff import checkpoint
        leaf = checkpoint.LEAF

        def gradient(slots, stretch, seconds):
            checkpoint.LEAF = stretch
            try:
                with self.limit(seconds), quiet():
                    return srcdiff.grad(self.program, wrt=self.case.wrt,
                                        checkpoints=slots)(*self.args())
            finally:
                checkpoint.LEAF = leaf

        for slots in (2, 3):
            try:
                try:
                    got = gradient(slots, 1, SRCDIFF_SECONDS / 3)
                except Timeout:
                    self.notes.append(f"checkpoints={slots}: stretches of one iteration too "
                                      "slow here, default stretches checked")
                    got = gradient(slots, leaf, SRCDIFF_SECONDS)
            except Timeout:
                return Result("internal", f"the gradient with checkpoints={slots} does not "
                              "finish", "internal:checkpoints:timeout")
            except Exception as error:
                if isinstance(error, UnsupportedSyntaxError) and \
                        str(error.message).startswith("checkpoints="):
                    self.notes.append(f"checkpoints refused: {short(error)}")
                    return None
                return Result("internal", f"the gradient with checkpoints={slots} raises "
                              f"{short(error)} where the gradient without does not",
                              f"internal:checkpoints:{type(error).__name__}",
                              details="".join(traceback.format_exception(error)))
            if not same_bits(got, self.gradients):
                return Result("wrong", f"with checkpoints={slots} the gradient is {got!r}, "
                              f"not {self.gradients!r} as without", "wrong:checkpoints")
        return None

    def check_float32(self):
        """The program at the point with its arrays in float32 (numbers stay Python
        floats): each gradient has its argument's dtype (float32 arrays, Python floats),
        and jvp's derivative has the value's (a NumPy float32 for a float32 number, else a
        float); both agree with the float64 ones at the same point (the float32 point in
        float64) to float32's precision, where the float32 primal agrees with the float64
        one (else the program loses float32's digits itself: a note)."""
        case = self.case
        as32 = lambda values: [v.astype(numpy.float32) if isinstance(v, numpy.ndarray) else v
                               for v in values]
        as64 = lambda values: [v.astype(numpy.float64) if isinstance(v, numpy.ndarray) else v
                               for v in values]
        rng = numpy.random.default_rng(case.seed)
        tangents = as32([rng.normal(size=numpy.shape(case.point[i])) if
                         isinstance(case.point[i], numpy.ndarray) else float(rng.normal())
                         for i in case.wrt])
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                value32, gradients32 = srcdiff.value_and_grad(self.program, wrt=case.wrt)(
                    *as32(self.args()))
                value64, gradients64 = srcdiff.value_and_grad(self.program, wrt=case.wrt)(
                    *as64(as32(self.args())))
                jvp = srcdiff.jvp(self.program, wrt=case.wrt)
                _, derivative32 = jvp(*as32(self.args()), *tangents)
                _, derivative64 = jvp(*as64(as32(self.args())), *as64(tangents))
        except Timeout:
            return Result("internal", "float32 does not finish", "internal:float32:timeout")
        except Exception as error:
            if is_refusal(error) or isinstance(error, ArithmeticError):
                self.notes.append(f"float32: {short(error)}")
                return None
            return Result("internal", f"float32 arguments raise {short(error)}",
                          f"internal:float32:{type(error).__name__}",
                          details="".join(traceback.format_exception(error)))
        for name, index, g in zip(case.wrt_names, case.wrt, gradients32):
            argument = case.point[index]
            if isinstance(argument, numpy.ndarray):
                if type(g) is not numpy.ndarray or g.dtype != numpy.float32:
                    return Result("wrong", f"float32 {name}'s gradient is a {type(g).__name__} "
                                  f"of {getattr(g, 'dtype', None)}", "wrong:float32-dtype")
            elif type(g) is not float:
                return Result("wrong", f"float32 program: the number {name}'s gradient is a "
                              f"{type(g).__name__}", "wrong:float32-dtype")
        value_type = type(numpy.asarray(value32)[()])
        want = value_type if value_type in (numpy.float32, numpy.float16) else float
        if type(derivative32) is not want:
            return Result("wrong", f"float32 program: jvp's derivative is a "
                          f"{type(derivative32).__name__}, its value a {value_type.__name__}",
                          "wrong:float32-dtype")
        if not math.isfinite(float(value64)) or not math.isclose(
                float(value32), float(value64), rel_tol=1e-4, abs_tol=1e-4):
            self.notes.append(f"float32: primal {float(value32)!r} vs {float(value64)!r}")
            return None
        scale = scale_of(*gradients64)
        for name, a, b in zip(case.wrt_names, gradients32, gradients64):
            if not close(a, b, 2e-2, 2e-3 * scale):
                if not numpy.all(numpy.isfinite(a)) and numpy.all(numpy.isfinite(b)) and \
                        self.singular_in_float32(as32(self.args())):
                    return Result("nonfinite", f"float32 gradient of {name} nan or inf where "
                                  "float64's is finite: rounded to float32, the point is where "
                                  "an intermediate's derivative is singular",
                                  "nonfinite:float32")
                return Result("wrong", f"float32 gradient of {name} {describe([a], [name])} vs "
                              f"float64 {describe([b], [name])}", "wrong:float32-gradient")
        if not close(derivative32, derivative64, 2e-2, 2e-3 * max(1.0, abs(float(derivative64)))):
            return Result("wrong", f"float32 jvp {derivative32!r} vs float64 {derivative64!r}",
                          "wrong:float32-forward")
        return None

    def singular_in_float32(self, args) -> bool:
        """Whether the unoptimized gradient at the float32 arguments ``args``, with NumPy's
        floating-point errors raised, raises an arithmetic error while the primal, run
        the same way, does not (as :meth:`singular` proves it at the point)."""
        from srcdiff.pipeline import generate
        return self.strict_raises(
            [a.copy() if isinstance(a, numpy.ndarray) else a for a in args],
            lambda: generate(self.program, self.case.wrt_names, name="g", as_tuple=True,
                             kinds=kinds_of(self.case), optimize=False).function(*args)
        ) is not None

    def strict_raises(self, primal_args, differentiate):
        """The arithmetic error (or ValueError) ``differentiate()`` raises with NumPy's
        floating-point errors raised, where the primal at ``primal_args``, run the same
        way, raises nothing; else None."""
        try:
            with self.limit(PRIMAL_SECONDS), quiet(strict=True):
                self.program(*primal_args)
        except Timeout:
            raise
        except Exception:
            return None
        try:
            with self.limit(SRCDIFF_SECONDS), quiet(strict=True):
                differentiate()
        except (ArithmeticError, ValueError) as error:
            return None if is_refusal(error) else error
        return None

    def check_second(self):
        """``grad(grad(f, wrt=i), wrt=i)`` for the first number among the ``wrt``
        parameters, against second central differences of f, ``(f(x+h) - 2 f(x) +
        f(x-h)) / h**2``, trusted where two step sizes agree. A refusal (forward mode's:
        recursion) is a note, and so is an arithmetic error or a nan where the second
        derivative is singular."""
        case = self.case
        positions = [i for i in case.wrt if not isinstance(case.point[i], numpy.ndarray)]
        if not positions:
            return None
        i = positions[0]
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                first = srcdiff.grad(self.program, wrt=i)
                got = srcdiff.grad(first, wrt=i)(*self.args())
        except Timeout:
            return Result("internal", "grad(grad(f)) does not finish", "internal:second:timeout")
        except Exception as error:
            if is_refusal(error) or isinstance(error, ArithmeticError):
                self.notes.append(f"grad(grad(f)): {short(error)}")
                return None
            if isinstance(error, SrcdiffError) and not isinstance(error, InternalError):
                # a refusal of the gradient's own code, which second derivatives
                # differentiate again: srcdiff failing on what it wrote
                return Result("internal", f"grad(grad(f)) refuses srcdiff's own code: "
                              f"{short(error)}", "internal:second:generated-code",
                              details="".join(traceback.format_exception(error)))
            return Result("internal", f"grad(grad(f)) raises {short(error)}",
                          f"internal:second:{type(error).__name__}",
                          details="".join(traceback.format_exception(error)))
        if type(got) is not float:
            return Result("wrong", f"grad(grad(f)) is a {type(got).__name__}", "wrong:second-type")
        if not math.isfinite(got):
            self.notes.append(f"grad(grad(f)) is {got!r}")
            return None

        def value_at(x):
            args = self.args()
            args[i] = x
            return self.replayed(stops, args)
        base = float(case.point[i])
        stops = FrozenStops()
        estimates = []
        try:
            with self.limit(PRIMAL_SECONDS * 4):
                with stops.recording():
                    centre = self.primal_at(self.args())
                sides = []
                for h in (1e-4, 1e-3):
                    step = h * max(1.0, abs(base))
                    after, before = value_at(base + step), value_at(base - step)
                    estimates.append((after - 2 * centre + before) / (step * step))
                    if h == 1e-4:  # one-sided second differences, each side of the point
                        sides = [(value_at(base + 2 * step) - 2 * after + centre) / (step * step),
                                 (centre - 2 * before + value_at(base - 2 * step)) / (step * step)]
        except Timeout:
            raise
        except Exception:
            return None   # the function raises near the point: no estimate
        fine, coarse = estimates
        scale = max(1.0, abs(centre), abs(fine))
        close = lambda a, b, rtol=AGREE_RTOL: math.isfinite(a) and math.isfinite(b) and \
            math.isclose(a, b, rel_tol=rtol, abs_tol=1e-5 * scale)
        if not close(fine, coarse):
            return None   # a kink near the point
        if not (math.isfinite(sides[0]) and math.isfinite(sides[1])) or abs(
                sides[0] - sides[1]) > 1e-2 * max(scale, abs(sides[0]), abs(sides[1])):
            # the second derivative jumps at the point (a branch switches there: f' has a
            # kink), where the central difference averages the two sides
            self.notes.append("grad(grad(f)): second derivative jumps at the point")
            return None
        if not math.isclose(got, fine, rel_tol=1e-4, abs_tol=1e-6 * scale):
            def estimate(x):
                step = 1e-4 * max(1.0, abs(x))
                return (value_at(x + step) - 2 * value_at(x) + value_at(x - step)) / (step * step)
            if self.right_around(first, i, base, estimate, scale):
                # right on either side, and f'' is continuous: at the point itself a
                # non-smooth primitive sits exactly at its kink, where its derivative is
                # taken by convention (abs'(0) = sign(0) = 0, as JAX and PyTorch do)
                self.notes.append("grad(grad(f)): a primitive exactly at its kink")
                return None
            return Result("wrong", f"grad(grad(f)) wrt {case.names[i]} is {got!r}; second "
                          f"differences of f give {fine!r}", "wrong:second")
        return None

    def right_around(self, first, i, base, estimate, scale) -> bool:
        """Whether ``grad(first)`` agrees with the second differences ``estimate(x)`` a
        little way to either side of ``base`` (the same code, other points), as closely
        as the check at the point asks."""
        step = 1e-3 * max(1.0, abs(base))
        try:
            with self.limit(SRCDIFF_SECONDS + PRIMAL_SECONDS * 4), quiet():
                for x in (base - step, base + step):
                    args = self.args()
                    args[i] = x
                    got, expected = srcdiff.grad(first, wrt=i)(*args), estimate(x)
                    if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6 * scale):
                        return False
        except Timeout:
            raise
        except Exception:
            return False
        return True

    def forward_singular(self, tangents):
        """``nonfinite`` when forward mode's nan or inf comes from a singular derivative
        of an intermediate (``std`` of equal values: 0 / 0), as :meth:`singular` proves it
        for reverse mode: its code, without the IEEE fallback and with NumPy's errors
        raised, raises an arithmetic error while the primal does not."""
        from srcdiff.pipeline import generate
        error = self.strict_raises(self.args(), lambda: generate(
            self.program, self.case.wrt_names, name="j", kinds=kinds_of(self.case),
            mode="forward", with_value=True).function(*self.args(), *tangents))
        if error is None:
            return None
        return Result("nonfinite", "forward mode gives nan or inf where reverse mode is "
                      f"finite; an intermediate's derivative is singular ({short(error)})",
                      "nonfinite:forward")

    def check_structured(self):
        """The program with some parameters read from one structured argument
        (``fuzz.structured``): the same gradient, in the argument's structure."""
        from . import structured
        variant = structured.make(self.case, copy_point)
        if variant is None:
            return None
        filename = f"<fuzz structured {self.case.kind} {self.case.seed}>"
        linecache.cache[filename] = (len(variant.source), None,
                                     variant.source.splitlines(True), filename)
        try:
            namespace = {"__name__": f"fuzz_structured_{self.case.seed}", "__file__": filename}
            with quiet():
                exec(compile(variant.source, filename, "exec"), namespace)
            program = namespace[variant.function]
            self.restore_globals()
            args = structured.arguments(variant, namespace)
            try:
                with self.limit(SRCDIFF_SECONDS), quiet():
                    gradients = srcdiff.grad(program, wrt=variant.wrt)(*args)
            except Timeout:
                return Result("internal", "the structured variant's gradient does not finish",
                              "internal:structured:timeout")
            except Exception as error:
                what = "refuses" if is_refusal(error) else "raises"
                return Result("internal", f"the program reading a {variant.form} {what} "
                              f"{short(error)} (the program itself works)",
                              f"internal:structured:{type(error).__name__}",
                              details="".join(traceback.format_exception(error)))
        finally:
            linecache.cache.pop(filename, None)
        structure_at = variant.at
        given = structured.given(variant, args)
        theirs = gradients[structure_at]
        if type(theirs) is not type(given):
            return Result("wrong", f"the gradient of a {type(given).__name__} is a "
                          f"{type(theirs).__name__}", "wrong:structured-type")
        scale = scale_of(*self.gradients)
        rest = iter(g for i, g in enumerate(gradients) if i != structure_at)
        for name, mine in zip(self.case.wrt_names, self.gradients):
            if name in variant.reads:
                other = structured.read(theirs, variant.reads[name])
            else:
                other = next(rest)
            if not close(other, mine, VARIANT_RTOL, VARIANT_ATOL * scale) and not \
                    agree_where_finite(other, mine, VARIANT_RTOL, VARIANT_ATOL * scale):
                return Result("wrong", f"reading {name} from a {variant.form}, its gradient "
                              f"is {describe([other], [name])}, not "
                              f"{describe([mine], [name])}", "wrong:structured")
        return self.check_structured_jvp(variant, program, namespace, gradients)

    def check_structured_jvp(self, variant, program, namespace, gradients):
        """Forward mode on the structured variant, along its own gradient (a tangent of
        the argument's structure): the directional derivative is the gradient's squared
        norm, from the flat program's gradient."""
        from . import structured
        expected = sum(float(numpy.sum(as_float_array(g) ** 2)) for g in self.gradients)
        if not math.isfinite(expected):
            return None
        tangents = gradients if isinstance(gradients, tuple) else (gradients,)
        filename = f"<fuzz structured {self.case.kind} {self.case.seed}>"  # srcdiff reads it
        linecache.cache[filename] = (len(variant.source), None,
                                     variant.source.splitlines(True), filename)
        try:
            with self.limit(SRCDIFF_SECONDS), quiet():
                _, derivative = srcdiff.jvp(program, wrt=variant.wrt)(
                    *structured.arguments(variant, namespace), *tangents)
        except Timeout:
            return Result("internal", "jvp of the structured variant does not finish",
                          "internal:structured-jvp:timeout")
        except Exception as error:
            if isinstance(error, (ArithmeticError, ValueError)):
                return None  # forward mode's own singularities are judged elsewhere
            what = "refuses" if is_refusal(error) else "raises"
            return Result("internal", f"jvp of the program reading a {variant.form} {what} "
                          f"{short(error)} (grad works)", f"internal:structured-jvp:"
                          f"{type(error).__name__}", details="".join(
                              traceback.format_exception(error)))
        finally:
            linecache.cache.pop(filename, None)
        if not numpy.all(numpy.isfinite(derivative)):
            # the flat program's forward mode along the same tangent: singular there too?
            singular = self.forward_singular([as_float_array(g) if isinstance(g, numpy.ndarray)
                                              else float(g) for g in self.gradients])
            if singular is not None:
                return singular
        if not close(derivative, expected, VARIANT_RTOL, VARIANT_ATOL * max(1.0, expected)):
            return Result("wrong", f"jvp of the program reading a {variant.form} along its "
                          f"gradient is {derivative!r}, not the gradient's squared norm "
                          f"{expected!r}", "wrong:structured-jvp")
        return None

    # -- translation validation ----------------------------------------------------
    @staticmethod
    def optimizations():
        from srcdiff.pipeline import OPTIMIZATIONS
        return tuple(OPTIMIZATIONS)

    def variant(self, strict=False, **options):
        """The gradient generated with ``options`` (``srcdiff.pipeline.generate``), at the
        point (``strict``: NumPy's floating-point errors raise)."""
        from srcdiff.pipeline import generate
        with self.limit(SRCDIFF_SECONDS), quiet(strict):
            generated = generate(self.program, self.case.wrt_names, name="g", as_tuple=True,
                                 kinds=kinds_of(self.case), **options)
            return generated.function(*self.args())

    def check_variants(self):
        """Each setting's gradient equals the default one. Like the public API, a setting
        whose gradient raises an arithmetic error is rerun as its IEEE variant. Elements
        where one side is nan or inf and the other finite are a singular derivative that
        one setting's algebra avoided (``0 * inf`` folded to 0): recorded in
        ``self.singular_settings``, not a failure."""
        settings = [("optimizer off", {"optimize": False})]
        if self.passes:
            settings += [(f"{name} off", {"disable": (name,)}) for name in self.optimizations()]
        scale = scale_of(*self.gradients)
        names = self.case.wrt_names
        for label, options in settings:
            key = label.replace(" ", "-")
            try:
                try:
                    theirs = self.variant(**options)
                except (ArithmeticError, ValueError) as error:
                    if is_refusal(error):
                        raise
                    theirs = self.variant(ieee=True, **options)
            except Timeout:
                return Result("internal", f"gradient with {label} does not finish",
                              f"internal:variant:{key}:timeout")
            except Exception as error:
                what = "refuses" if is_refusal(error) else "raises"
                return Result("internal", f"gradient with {label} {what} {short(error)} "
                              "(the default one works)",
                              f"internal:variant:{key}:{type(error).__name__}",
                              details="".join(traceback.format_exception(error)))
            if not isinstance(theirs, tuple) or len(theirs) != len(self.gradients):
                return Result("wrong", f"gradient with {label} returns {theirs!r:.80}",
                              f"wrong:variant:{key}")
            if all(close(a, b, VARIANT_RTOL, VARIANT_ATOL * scale)
                   for a, b in zip(theirs, self.gradients)):
                continue
            if all(agree_where_finite(a, b, VARIANT_RTOL, VARIANT_ATOL * scale)
                   for a, b in zip(theirs, self.gradients)):
                self.singular_settings.append(label)
                continue
            return Result("wrong", f"gradient with {label} differs: {describe(theirs, names)}"
                          f" vs default {describe(self.gradients, names)}",
                          f"wrong:variant:{key}")
        return None


def same_bits(a, b) -> bool:
    """The same numbers, nan where nan: gradients (a number, an array, or a tuple)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and \
            all(same_bits(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    x, y = as_float_array(a), as_float_array(b)
    return x.shape == y.shape and x.dtype == y.dtype and bool(
        numpy.array_equal(x, y, equal_nan=True))


def agree_where_finite(a, b, rtol, atol) -> bool:
    """Same shape, equal where both are finite, and wherever they differ one of them is
    nan or inf."""
    a, b = as_float_array(a), as_float_array(b)
    if a.shape != b.shape:
        return False
    both = numpy.isfinite(a) & numpy.isfinite(b)
    return bool(numpy.allclose(a[both], b[both], rtol=rtol, atol=atol))


def run_case(case: Case, passes: bool = True, timeouts: bool = True,
             value_and_grad: bool = True, forward: bool = True, second: bool = True,
             structured: bool = True, checkpoints: bool = True, tuples: bool = True) -> Result:
    return Run(case, passes=passes, timeouts=timeouts, value_and_grad=value_and_grad,
               forward=forward, second=second, structured=structured,
               checkpoints=checkpoints, tuples=tuples).run()
