"""The pipeline, on one screen: parse, fence, normalize, lower, (hoist, cse), analyse,
reverse (or tangent, in forward mode), optimize, finish, hygiene, emit, compile. Each stage is a module with one contract (see its docstring);
``generate`` runs them in order and keeps every stage's output, so any of them can be
printed as Python source.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterator, cast

from .analyse import analyse, check_grown_lists, check_indexed_numbers, check_sharing, infer_kinds
from .compile import compile_function
from .emit import emit
from .errors import InternalError, LocatedError, SrcdiffError
from .fence import fence
from .hygiene import bind_runtime_names, with_fsum, without_stops
from .ir import Function
from .kinds import Kind
from .lower import lower
from .iterate import index_loops
from .normalize import normalize
from .optimize import eliminate_common_subexpressions, hoist, optimize as optimize_function
from .optimize.accumulate import accumulate
from .optimize.fuse import fuse, fuse_arrays
from .dependencies import DependencyCheck, checker
from .ieee import ieee as ieee_arithmetic
from .parse import parse, recording
from .checkpoint import checkpoint
from .reverse import finish, reverse
from .tangent import finish_tangent, tangent

STAGES = ("normalize", "lower", "reverse", "optimize")  # the ones printable as source
# (in forward mode, "tangent" instead of "reverse")
# Every optimisation, by name; each can be switched off alone (``disable=``), and the
# tests compare every setting with every other (translation validation).
OPTIMIZATIONS = ("hoist", "cse", "reuse", "rematerialize", "propagate", "simplify",
                 "broadcasts", "dead_code", "coalesce", "fuse", "accumulate", "in_place",
                 "shape_only")


@dataclass
class Generated:
    """A generated gradient: its source, its function object and every stage's output."""

    name: str
    source: str
    function: types.FunctionType
    stages: dict[str, Function] = field(default_factory=dict)
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # injected name -> where it comes from
    # Names resolved outside the function while generating (``parse.recording``), and a
    # test that they still mean what they meant (``dependencies.checker``; None: none).
    dependencies: list[tuple[str, Any, str, Any]] = field(default_factory=list)
    check: DependencyCheck | None = None
    # with structured arguments: the parameter each leaf read became, and what the code
    # assumed about the arguments (``ir.Function.leaves``, ``facts``)
    leaves: list[tuple[str, str, tuple[Any, ...]]] = field(default_factory=list)
    facts: list[tuple[str, tuple[Any, ...], Any]] = field(default_factory=list)
    # changes in place of arrays that may come from outside the function (globals,
    # closures): what srcdiff.vjp refuses (``analyse.check_sharing``)
    changes_outside: list[LocatedError] = field(default_factory=list)


def generate(func: Callable[..., Any], wrt: tuple[str, ...], *, name: str,
             with_value: bool = False, as_tuple: bool | None = None,
             optimize: bool = True, vjp: bool = False, kinds: dict[str, Kind] | None = None,
             disable: Collection[str] = (), ieee: bool = False, mode: str = "reverse",
             structures: dict[str, Any] | None = None, typed: bool = False,
             checkpoints: int | None = None, several: bool = False) -> Generated:
    """Differentiate ``func`` with respect to the parameters named in ``wrt``; the
    gradient is a tuple when ``as_tuple`` (default: when ``wrt`` names several).
    ``kinds`` gives parameters' kinds (``srcdiff.kinds``) when they are not numbers.
    ``optimize=False`` switches every optimisation off; ``disable`` names some of
    ``OPTIMIZATIONS`` to switch off alone. ``ieee``: the variant whose arithmetic
    returns inf and nan where Python's raises (``srcdiff.ieee``). ``mode="forward"``: the
    Jacobian-vector product instead (``srcdiff.tangent``): the parameters, then one tangent
    per ``wrt`` parameter; returns the value and its tangent with ``with_value``, else the
    tangent alone (``as_tuple`` and ``vjp`` do not apply). ``structures``: parameters
    whose arguments are structured, with an example argument each (``srcdiff.structures``):
    the code takes each leaf it reads as a parameter after its structure's, every
    parameter by position, and its gradient is the tuple of the ``wrt`` parameters'
    leaves' gradients (a plain ``wrt`` parameter's, as it is), in ``leaves`` order.
    ``typed``: code a compiler can type (``srcdiff.jit``): typed tapes, numbers for
    placeholders, constructs numba does not take rewritten or refused. ``checkpoints``:
    loops outside loops keep at most that many states for their backward sweep
    (``srcdiff.checkpoint``). ``several``: ``func`` may return a tuple (with ``vjp``, or
    in forward mode with ``with_value``): the vector-Jacobian code then takes one
    cotangent per element, the Jacobian-vector code returns the tuple of values and the
    tuple of their tangents."""
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode is 'reverse' or 'forward', not {mode!r}")
    from .rules import RULES
    with LOCK, _collector_paused(), recording() as dependencies:
        # a rule registered (or removed) later changes what this code should be
        dependencies.append(("version", RULES, "user_version", RULES.user_version))
        generated = _generate(func, wrt, name=name, with_value=with_value,
                              as_tuple=as_tuple, optimize=optimize, vjp=vjp, kinds=kinds, mode=mode,
                              disable=disable, ieee=ieee, structures=structures, typed=typed,
                              checkpoints=checkpoints, several=several)
    generated.dependencies = dependencies
    generated.check = checker(dependencies)
    return generated


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while generating (as ``timeit`` does while
    timing): the passes make and drop AST nodes by the hundred thousand, which
    reference counting frees, and each full collection the churn triggers walks every
    node of the function being differentiated: on 3000 statements in a loop body, 40 %
    of the time, and more than linearly in the size. What the passes leave in cycles is
    collected once the collector runs again; nested generation (a recursive callee)
    leaves it to the outermost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(func: Callable[..., Any], wrt: tuple[str, ...], *, name: str, with_value: bool,
              as_tuple: bool | None, optimize: bool, vjp: bool, kinds: dict[str, Kind] | None,
              disable: Collection[str], ieee: bool,
              mode: str = "reverse", structures: dict[str, Any] | None = None,
              typed: bool = False, checkpoints: int | None = None,
              several: bool = False) -> Generated:
    forward = mode == "forward"
    as_tuple = len(wrt) > 1 if as_tuple is None else as_tuple
    unknown = set(disable) - set(OPTIMIZATIONS)
    if unknown:
        raise ValueError(f"no optimisation named {', '.join(sorted(unknown))}")
    enabled = frozenset(OPTIMIZATIONS if optimize else ()) - frozenset(disable)
    from .analyse import _RECURSIVE_KINDS
    _RECURSIVE_KINDS.clear()
    try:
        parsed = fence(parse(func))
        several = several and (vjp or (forward and with_value))
        stages = {"normalize": normalize(parsed, structures, wrt, several)}
        if structures:
            wrt, kinds, as_tuple = _leaf_parameters(stages["normalize"], wrt, kinds,
                                                    structures)
        stages["lower"] = lower(stages["normalize"])
        lowered = stages["lower"]
        # before any optimisation, so that every setting accepts the same programs
        known = infer_kinds(lowered, kinds or {})
        while True:  # for v in X: by position, X an array (the rows of rows, in turn)
            indexed = index_loops(lowered, known)
            if indexed is lowered:
                break
            stages["lower"] = lowered = indexed
            known = infer_kinds(lowered, kinds or {})
        check_indexed_numbers(lowered, known, wrt)
        check_grown_lists(lowered)
        changes_outside = check_sharing(lowered, known)
        if "hoist" in enabled:
            lowered = hoist(lowered, known)
        if "cse" in enabled:
            lowered = eliminate_common_subexpressions(lowered)
        analysed = analyse(lowered, wrt, kinds, array_output=vjp or forward)
        if forward:
            stages["tangent"] = differentiated = tangent(analysed, name, with_value)
        else:
            stages["reverse"] = differentiated = reverse(
                analysed, name, with_value, as_tuple, vjp, reuse="reuse" in enabled,
                rematerialize="rematerialize" in enabled, typed=typed,
                in_place="in_place" in enabled and not vjp and checkpoints is None,
                shape_only="shape_only" in enabled and checkpoints is None)
        final = optimize_function(differentiated, enabled)
        stages["optimize"] = final
        final = finish_tangent(final) if forward else finish(final)
        if not forward and "fuse" in enabled:  # the sweeps' temporaries read once
            final = fuse(final, keep=set(final.namer.adjoints.values()))
        if checkpoints is not None and not forward:
            final = checkpoint(final, checkpoints)
        if forward and "fuse" in enabled:  # temporaries read once, into their reader
            final = fuse(final)
        elif "fuse" in enabled:  # temporary arrays read by the next statement, into it
            final = fuse_arrays(final)
        if not forward and "accumulate" in enabled:  # adjoints of x[i] added in place
            final = accumulate(final)
        if not forward:  # tangent code keeps the call: hvp differentiates it again
            final = without_stops(final)
        final = with_fsum(final)
        if ieee:
            final = ieee_arithmetic(final)
        if typed:
            from .jit import nopython_form
            final = nopython_form(final)
        final = bind_runtime_names(final)
        what = (("Jacobian-vector product (value and tangent)" if with_value else
                 "Jacobian-vector product") if forward else
                "Vector-Jacobian product (for recursive calls)" if vjp else
                "Value and gradient" if with_value else "Gradient")
        docstring = (f"{what} of {func.__name__} with respect to {', '.join(wrt)}; "
                     f"generated by srcdiff from {os.path.basename(parsed.filename)}:"
                     f"{parsed.firstlineno}.")
        text = emit(final, docstring)
        function = compile_function(text, cast(types.FunctionType, func),  # parse took it
                                    f"{name} of {func.__qualname__}", parsed.injected,
                                    defaults=not (vjp or forward or structures))
    except SrcdiffError:
        raise
    except RecursionError:
        raise SrcdiffError(f"{func.__qualname__} is too deeply nested to differentiate") \
            from None
    except Exception as error:  # a bug in srcdiff: say so instead of a bare traceback
        raise InternalError(f"srcdiff failed on {func.__qualname__} "
                            f"({type(error).__name__}: {error}); this is a bug in srcdiff, "
                            "please report it with the function's source") from error
    normalized = stages["normalize"]
    return Generated(name, text, function, stages, dict(parsed.origins),
                     leaves=list(normalized.leaves), facts=list(normalized.facts),
                     changes_outside=changes_outside)


def _leaf_parameters(function: Function, wrt: tuple[str, ...], kinds: dict[str, Kind] | None,
                     structures: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Kind], bool]:
    """With structured arguments: the parameters to differentiate with respect to (a
    structured one's leaves in its place), the kinds of array parameters (leaves' from
    the example arguments), and ``as_tuple`` (always: the caller rebuilds structures)."""
    from .kinds import Kind, data_kind
    from .structures import follow
    expanded = []
    for name in wrt:
        if name in structures:
            expanded += [leaf for leaf, param, _ in function.leaves if param == name]
        else:
            expanded.append(name)
    kinds = dict(kinds or {})
    for leaf, param, path in function.leaves:
        kind = data_kind(follow(structures[param], path))
        if cast(Kind, kind).is_array:  # a leaf: a number or an array
            kinds[leaf] = cast(Kind, kind)
    return tuple(expanded), kinds, True


_VJP_CELLS = "__srcdiff_vjps__"  # on the function, as api's cache of gradients# Generation is serialised: a recursive function's VJP is published (its cell) before it
# is filled, and another thread must not call it in between.
LOCK = threading.RLock()


def vjp_cell(func: types.FunctionType, wrt: tuple[str, ...], kinds: dict[str, Kind] | None = None,
             ieee: bool = False, mode: str = "reverse") -> types.CellType:
    """A cell holding ``func``'s vector-Jacobian function for ``wrt`` (and the kinds of
    its array parameters; ``ieee``: its IEEE variant); with ``mode="forward"``, its
    Jacobian-vector function instead (``<name>_jvp``: the parameters, then the tangents
    of ``wrt``, returning the value and its tangent). The cell exists before the
    function does, so a recursive function's VJP (JVP) can call itself."""
    kinds = dict(kinds or {})
    key = (wrt, tuple(sorted(kinds.items())), ieee) + (("forward",) if mode == "forward" else ())
    with LOCK:
        cells: dict[Any, types.CellType] = func.__dict__.setdefault(_VJP_CELLS, {})
        if key not in cells:
            cell = cells[key] = types.CellType()
            try:
                if mode == "forward":
                    generated = generate(func, wrt, name=f"{func.__name__}_jvp", mode=mode,
                                         with_value=True, kinds=kinds, ieee=ieee)
                else:
                    generated = generate(func, wrt, name=f"{func.__name__}_vjp", vjp=True,
                                         kinds=kinds, ieee=ieee)
                # attributes FunctionType does not declare
                setattr(generated.function, "__srcdiff__", generated)
                setattr(generated.function, "__srcdiff_recursive__", func)  # not to differentiate again
                cell.cell_contents = generated.function
            except BaseException:
                del cells[key]
                raise
        return cells[key]
