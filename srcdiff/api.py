"""The public entry points: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``jacobian``
and ``source``."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import math
import numbers
import textwrap
import types
from dataclasses import dataclass
from typing import (Any, Callable, ClassVar, Literal, ParamSpec, Protocol, TypeGuard, cast,
                    overload)

from .errors import ArgumentKindError, KindError, SrcdiffError
from .kinds import ANY_ARRAY, SCALAR, Kind, data_kind, is_complex, kind_of_value, ragged
from .pickling import canonical
from .pipeline import Generated, generate
from .structures import follow, is_container, is_object, rebuild, treedef

# a parameter's position or name, or a tuple of them (a list works too)
Wrt = int | str | tuple[int | str, ...] | list[int | str]
# the compiler of compile= (srcdiff.jit): None, the plain gradient, or "numba"
Compiler = Literal["numba"] | None
# the parameters of the function transformed, which a gradient keeps (its result's type
# depends on the arguments: a number, an array, a structure of them, a tuple of those)
_P = ParamSpec("_P")
# Gradients are cached on the function itself (a weak-keyed table would keep every
# function alive: its gradients refer to it), so they go when it goes.
_CACHE = "__srcdiff_gradients__"
# Argument types known to be real numbers; anything else takes the careful path once.
_REAL_TYPES = {float, int, bool}


@overload
def grad(func: Callable[_P, Any], wrt: Wrt = 0, compile: Compiler = None,
         checkpoints: int | None = None) -> Callable[_P, Any]:
    ...


@overload
def grad(func: None = None, wrt: Wrt = 0, compile: Compiler = None,
         checkpoints: int | None = None) -> Callable[[Callable[_P, Any]], Callable[_P, Any]]:
    ...


def grad(func: Callable[..., Any] | None = None, wrt: Wrt = 0, compile: Compiler = None,
         checkpoints: int | None = None) -> Any:
    """The gradient of ``func``: a function taking the same arguments.

    ``wrt`` is a parameter's position or name, or a tuple of them; one gives one
    gradient, a tuple gives a tuple of gradients. Usable as ``@srcdiff.grad`` and
    ``@srcdiff.grad(wrt=...)``. The gradient is generated once, when ``grad`` is called,
    and cached: ``grad(f) is grad(f)``. ``compile="numba"``: the gradient compiled by
    numba (for numbers; ``srcdiff.jit``). ``checkpoints=K``: each loop outside loops
    keeps at most ``K`` of its states (and at most ``srcdiff.checkpoint.LEAF``
    iterations' values) for the backward sweep, and runs stretches of itself again
    from them (binomial checkpointing, as revolve does): the same gradient, in bounded
    memory (``srcdiff.checkpoint``).
    """
    if func is None:
        return lambda f: grad(f, wrt, compile, checkpoints)
    if checkpoints is not None:
        return _checkpointed(grad, func, wrt, compile, checkpoints, with_value=False)
    if compile is not None:
        return _compiled(grad, func, wrt, compile, with_value=False)
    return _through_binding(grad, func, wrt) or _gradient(func, wrt, with_value=False)


@overload
def value_and_grad(func: Callable[_P, Any], wrt: Wrt = 0, compile: Compiler = None,
                   checkpoints: int | None = None) -> Callable[_P, tuple[Any, Any]]:
    ...


@overload
def value_and_grad(func: None = None, wrt: Wrt = 0, compile: Compiler = None,
                   checkpoints: int | None = None
                   ) -> Callable[[Callable[_P, Any]], Callable[_P, tuple[Any, Any]]]:
    ...


def value_and_grad(func: Callable[..., Any] | None = None, wrt: Wrt = 0,
                   compile: Compiler = None, checkpoints: int | None = None) -> Any:
    """Like :func:`grad`, but the function returns ``(func(...), gradient)``."""
    if func is None:
        return lambda f: value_and_grad(f, wrt, compile, checkpoints)
    if checkpoints is not None:
        return _checkpointed(value_and_grad, func, wrt, compile, checkpoints, with_value=True)
    if compile is not None:
        return _compiled(value_and_grad, func, wrt, compile, with_value=True)
    return _through_binding(value_and_grad, func, wrt) or _gradient(func, wrt, with_value=True)


# jvp and hvp take the function's arguments, then tangents (vectors): no ParamSpec says so
@overload
def jvp(func: Callable[..., Any], wrt: Wrt = 0, compile: Compiler = None
        ) -> Callable[..., tuple[Any, Any]]:
    ...


@overload
def jvp(func: None = None, wrt: Wrt = 0, compile: Compiler = None
        ) -> Callable[[Callable[..., Any]], Callable[..., tuple[Any, Any]]]:
    ...


def jvp(func: Callable[..., Any] | None = None, wrt: Wrt = 0, compile: Compiler = None) -> Any:
    """The Jacobian-vector product of ``func`` (forward mode): a function taking
    ``func``'s arguments followed by one tangent per ``wrt`` parameter (a number, or an
    array of that argument's shape), returning ``(func(...), directional derivative)``:
    ``jvp(f, wrt=(0, 1))(x, y, dx, dy)`` is ``(f(x, y), ∂f/∂x·dx + ∂f/∂y·dy)``. ``func``
    may return an array; the derivative then has its shape. Keyword arguments go to
    ``func``. Usable as a decorator, like :func:`grad`."""
    if func is None:
        return lambda f: jvp(f, wrt, compile)
    if compile is not None:
        return _compiled(jvp, func, wrt, compile, with_value=True, mode="forward")
    return _through_binding(jvp, func, wrt) or _gradient(func, wrt, with_value=True,
                                                         mode="forward")


def vjp(func: Callable[_P, Any], wrt: Wrt = 0
        ) -> Callable[_P, tuple[Any, Callable[[Any], Any]]]:
    """The vector-Jacobian product of ``func`` (reverse mode, for any output): a function
    taking ``func``'s arguments and returning ``(func(...), pullback)``; ``pullback(ct)``,
    for a cotangent ``ct`` of the value's shape, gives ``ct``'s pull-back to the ``wrt``
    parameters (one, or a tuple for a tuple ``wrt``), as ``jax.vjp``'s function does.
    ``grad(f)(x)`` is ``vjp(f)(x)[1](1.0)`` for a function returning a number. For a
    function returning a tuple, ``ct`` is a tuple too: one cotangent per element, of
    that element's shape."""
    bound = _through_binding(vjp, func, wrt)
    if bound is not None:
        return bound
    names = _wrt_names(func, wrt)
    as_tuple = isinstance(wrt, (tuple, list))
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    base = func.__name__ if func.__name__.isidentifier() else "lambda"
    generated: dict[tuple[_Key, bool], Generated] = {}

    def specialise(key: _Key, ieee: bool = False) -> Generated:
        current = generated.get((key, ieee))
        if current is None or not (current.check is None or current.check()):
            kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
            current = generated[(key, ieee)] = generate(
                func, names, name=f"vjp_{base}", vjp=True, kinds=kinds, ieee=ieee,
                several=True)
        if current.changes_outside:  # func's own run would change what the pull-back reads
            raise current.changes_outside[0].with_traceback(None)
        return current

    def forward(*args: Any, **kwargs: Any) -> tuple[Any, Callable[[Any], Any]]:
        key = _kinds(signature, parameters, names, args, kwargs)
        code = specialise(key)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        # the point as given: the function may change an array argument in place
        values = [_own_array(bound.arguments[p]) for p in parameters]
        value = func(*args, **kwargs)

        def pullback(cotangent: Any) -> Any:
            cotangents = _cotangents(value, cotangent)
            try:
                result = code.function(*values, *cotangents)
            except _IEEE_ERRORS:
                result = specialise(key, ieee=True).function(*values, *cotangents)
            return result if as_tuple else result[0]
        return value, pullback

    forward.__name__ = forward.__qualname__ = f"vjp_{base}"
    forward.__doc__ = f"Value and pull-back of {func.__name__} with respect to {', '.join(names)}."
    return canonical(forward, "vjp", func, names, as_tuple)


def hvp(func: Callable[..., Any], wrt: Wrt = 0) -> Callable[..., Any]:
    """The Hessian-vector product of ``func`` (which returns a number): a function taking
    ``func``'s arguments, then one vector per ``wrt`` parameter (of its shape), returning
    ``H v`` (a tuple for a tuple ``wrt``) without forming the Hessian. Forward mode gives
    the directional derivative ``∇f·v`` as generated code; reverse mode differentiates
    that code again with respect to the ``wrt`` parameters (reverse over forward)."""
    bound = _through_binding(hvp, func, wrt)
    if bound is not None:
        return bound
    names = _wrt_names(func, wrt)
    as_tuple = isinstance(wrt, (tuple, list))
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    base = func.__name__ if func.__name__.isidentifier() else "lambda"
    second: dict[_Key, tuple[Generated, Callable[..., Any]]] = {}  # kinds -> (tangent code, its gradient)
    scalar_key = (SCALAR,) * len(parameters)
    low, fill = _numeric_defaults(signature)
    count, extra = len(parameters), len(names)
    fast_state: dict[str, Any] = {"_srcdiff_target": None}  # the fast wrapper's globals
    fast = _fast_forward_wrapper(f"hvp_{base}", signature, extra, None, fast_state,
                                 catch=False)
    if fast is not None or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                               for p in signature.parameters.values()):
        # no fast path in product: the wrapper has it, or keyword-only parameters rule it out
        low = count + 1

    def product(*args: Any, **kwargs: Any) -> Any:
        # numbers only, given by position (trailing defaults that are numbers may be
        # left out): straight to the scalar code (here where ``_fast_forward_wrapper``
        # could not write the function users call)
        entry = second.get(scalar_key)
        given = len(args) - extra
        if entry is not None and not kwargs and low <= given <= count and all(
                type(a) in _REAL_TYPES for a in args) and all(
                type(v) is float or type(v) is int for v in args[given:]) and (
                entry[0].check is None or entry[0].check()):
            if given == count:
                return entry[1](*args)
            return entry[1](*args[:given], *fill[given - low:], *args[given:])
        # every argument given by position, then the vectors, each a number or an array:
        # the kinds found before for these types, ranks and dtypes (``_types_of``)
        types = _types_of(args) if not kwargs and len(args) == count + extra \
            and positional else None
        if types is not None:
            known = seen.get(types)
            if known is not None and _tangents_fit(args, wrt_positions, count):
                entry = second.get(known)
                if entry is not None and (entry[0].check is None or entry[0].check()):
                    return entry[1](*args)
        _, vectors, key, bound = _split(f"hvp of {func.__name__}", signature, names, args,
                                        kwargs, "vector")
        values = [bound.arguments[p] for p in parameters]
        entry = entry_for(key)
        if types is not None:
            seen[types] = key
        return entry[1](*values, *vectors)

    seen: dict[tuple[Any, ...], _Key] = {}  # _types_of(args) -> the kinds _split found
    wrt_positions = [parameters.index(n) for n in names]
    positional = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                     for p in signature.parameters.values())

    def entry_for(key: _Key) -> tuple[Generated, Callable[..., Any]]:
        """The tangent code for these kinds and its gradient, generated when missing or
        stale."""
        entry = second.get(key)
        if entry is None or not (entry[0].check is None or entry[0].check()):
            kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
            tangent_code = generate(func, names, name=f"tangent_{base}", kinds=kinds,
                                    mode="forward", with_value=False)
            entry = second[key] = (tangent_code, grad(tangent_code.function,
                                                      wrt=names if as_tuple else names[0]))
            setattr(function, "__srcdiff__", getattr(entry[1], "__srcdiff__", None))
            if key == scalar_key and fast is not None:  # the gradient of the scalar code
                check = tangent_code.check
                test, names_read = check.test if check is not None else ("True", {})
                fast_state.update(names_read)
                fast_state["_srcdiff_target"] = entry[1]
                function.__code__ = fast(test)
        return entry

    def specialise(*args: Any, **kwargs: Any) -> Generated:
        """The code for these arguments (then vectors): the gradient of the tangent code."""
        _, vectors, key, bound = _split(f"hvp of {func.__name__}", signature, names, args,
                                        kwargs, "vector")
        values = [bound.arguments[p] for p in parameters]
        return cast(Generated, entry_for(key)[1].__srcdiff_specialise__(  # type: ignore[attr-defined]
            *values, *vectors))

    function = product
    if fast is not None:
        fast_state["_srcdiff_slow"] = product
        function = types.FunctionType(fast.initial, fast_state, f"hvp_{base}", fast.defaults)
        # as before: (*args, **kwargs); an attribute FunctionType does not declare
        setattr(function, "__signature__", inspect.signature(product))
    function.__name__ = function.__qualname__ = f"hvp_{base}"
    # for srcdiff.source: the code last generated (none before the first call), and the
    # code for example arguments (then vectors)
    setattr(function, "__srcdiff__", None)
    setattr(function, "__srcdiff_specialise__", specialise)
    setattr(function, "__srcdiff_first_call__", True)  # no code before its first call
    return canonical(function, "hvp", func, names, as_tuple)


def hessian(func: Callable[_P, Any], wrt: Wrt = 0) -> Callable[_P, Any]:
    """The Hessian of ``func`` (which returns a number) with respect to one parameter: a
    float for a number, an array of shape ``s + s`` for an array of shape ``s``; built
    from :func:`hvp` one column at a time."""
    import numpy
    bound = _through_binding(hessian, func, wrt)
    if bound is not None:
        return bound
    if isinstance(wrt, (tuple, list)):
        raise SrcdiffError("hessian takes one parameter (wrt=0 or wrt='x'); for several, "
                           "use hvp")
    (name,) = _wrt_names(func, wrt)
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    product = hvp(func, wrt=name)

    def hessian_(*args: Any, **kwargs: Any) -> Any:
        # hvp's check of the arguments, before their shapes are read here (a nested
        # tuple has none)
        _kinds(signature, parameters, (name,), args, kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        point = bound.arguments[name]
        if not numpy.ndim(point):
            return float(product(*args, 1.0, **kwargs))
        shape = numpy.shape(point)
        result = numpy.zeros(shape + shape)
        for index in numpy.ndindex(shape):
            vector = numpy.zeros(shape)
            vector[index] = 1.0
            result[(...,) + index] = product(*args, vector, **kwargs)
        return result

    base = func.__name__ if func.__name__.isidentifier() else "lambda"
    hessian_.__name__ = hessian_.__qualname__ = f"hessian_{base}"
    return canonical(hessian_, "hessian", func, (name,), False)


def jacobian(func: Callable[_P, Any], wrt: Wrt = 0,
             mode: Literal["forward", "reverse"] | None = None) -> Callable[_P, Any]:
    """The Jacobian of ``func``: a function taking ``func``'s arguments and returning an
    array of shape ``value.shape + argument.shape`` (a tuple of them for a tuple ``wrt``),
    as ``jax.jacfwd`` and ``jax.jacrev`` do; for a function returning a tuple, a tuple
    of those, one per element of the value (outputs outer, parameters inner). ``mode="forward"`` builds it a column at a
    time with :func:`jvp`, ``"reverse"`` a row at a time with :func:`vjp`; by default,
    whichever needs fewer: forward when the arguments have fewer elements than the
    result."""
    import numpy
    if mode not in (None, "forward", "reverse"):
        raise SrcdiffError(f"mode is 'forward' or 'reverse', not {mode!r}")
    bound = _through_binding(functools.partial(jacobian, mode=mode), func, wrt)
    if bound is not None:
        return bound
    names = _wrt_names(func, wrt)
    as_tuple = isinstance(wrt, (tuple, list))
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    tangent_map = jvp(func, wrt=tuple(names))
    pullback_of = vjp(func, wrt=tuple(names))

    def jacobian_(*args: Any, **kwargs: Any) -> Any:
        # vjp's check of the arguments, before their sizes are read here (a nested tuple
        # has none)
        _kinds(signature, parameters, names, args, kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        points = [bound.arguments[n] for n in names]
        inputs = sum(int(numpy.size(p)) for p in points)
        value, pullback = pullback_of(*args, **kwargs)
        several = type(value) is tuple  # a function returning a tuple: a Jacobian each
        values = value if several else (value,)
        shapes = [numpy.shape(v) for v in values]
        outputs = sum(int(numpy.size(v)) for v in values)
        use = mode or ("forward" if inputs < outputs else "reverse")
        # one list per output, of one Jacobian per parameter
        result: list[list[Any]] = [[numpy.zeros(shape + numpy.shape(p)) for p in points]
                                   for shape in shapes]
        if use == "forward":
            zeros = [numpy.zeros(numpy.shape(p)) if numpy.ndim(p) else 0.0 for p in points]
            for k, point in enumerate(points):
                for index in numpy.ndindex(numpy.shape(point)):
                    tangents: list[Any] = list(zeros)
                    if numpy.ndim(point):
                        tangents[k] = numpy.zeros(numpy.shape(point))
                        tangents[k][index] = 1.0
                    else:
                        tangents[k] = 1.0
                    column = tangent_map(*args, *tangents, **kwargs)[1]
                    for i, part in enumerate(column if several else (column,)):
                        result[i][k][(...,) + index] = part
        else:
            zero = [numpy.zeros(shape) if shape else 0.0 for shape in shapes]
            for i, shape in enumerate(shapes):
                for index in numpy.ndindex(shape):
                    cotangent: Any = numpy.zeros(shape) if shape else 1.0
                    if shape:
                        cotangent[index] = 1.0
                    cotangents = zero[:i] + [cotangent] + zero[i + 1:]
                    rows = pullback(tuple(cotangents) if several else cotangent)
                    for k, row in enumerate(rows):
                        result[i][k][index] = row
        jacobians = [[r if r.ndim else float(r) for r in of_output] for of_output in result]
        each = [tuple(of_output) if as_tuple else of_output[0] for of_output in jacobians]
        return tuple(each) if several else each[0]

    base = func.__name__ if func.__name__.isidentifier() else "lambda"
    jacobian_.__name__ = jacobian_.__qualname__ = f"jacobian_{base}"
    return canonical(jacobian_, "jacobian", func, names, as_tuple, mode=mode)


def source(gradient: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The generated source of a function made by :func:`grad`, :func:`value_and_grad`,
    :func:`jvp` or :func:`hvp` (for ``hvp``: the gradient of the forward-mode code).

    Code is generated per kind of argument (numbers, arrays of each rank). With example
    arguments (for ``jvp``, then the tangents; for ``hvp``, then the vectors), the source
    for their kinds; without, the source most recently generated (the one for numbers
    until the gradient is called with arrays)."""
    if not hasattr(gradient, "__srcdiff__"):
        raise SrcdiffError(f"{gradient!r} was not made by srcdiff.grad, value_and_grad, "
                           "jvp or hvp")
    made: Any = gradient  # its __srcdiff__ attributes are set where it is made
    if args or kwargs:
        return cast(Generated, made.__srcdiff_specialise__(*args, **kwargs)).source
    generated = made.__srcdiff__
    if generated is None and getattr(made, "__srcdiff_first_call__", False):
        vectors = " and vectors" if made.__name__.startswith("hvp_") else ""
        example = ", v, ..." if vectors else ""
        raise SrcdiffError(f"{gradient.__name__} has no code before its first call: pass "
                           f"example arguments{vectors}, srcdiff.source("
                           f"{gradient.__name__}, x, ...{example}), or call it first")
    if not isinstance(generated, Generated):
        raise SrcdiffError(f"{gradient.__name__} needs arrays: pass example arguments, "
                           f"srcdiff.source({gradient.__name__}, x, ...), or call it first")
    return generated.source


def _checkpointed(transform: Callable[..., Any], func: Callable[..., Any], wrt: Wrt,
                  compile: Compiler, checkpoints: Any, with_value: bool) -> Any:
    """``transform(func, wrt, checkpoints=checkpoints)`` (``srcdiff.checkpoint``),
    cached beside the gradients without checkpoints."""
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, int) or checkpoints < 2:
        raise SrcdiffError(f"checkpoints is the number of loop states to keep, an int of at "
                           f"least 2 (the first is the state before the loop), not "
                           f"{checkpoints!r}")
    if compile is not None:
        raise SrcdiffError("checkpoints= is for gradients run by Python; compile= does not "
                           "take it")
    bound = _through_binding(functools.partial(transform, checkpoints=checkpoints), func, wrt)
    if bound is not None:
        return bound
    if getattr(func, "__srcdiff_of__", None) is not None:
        raise SrcdiffError("checkpoints= applies to the gradient of a function, not to "
                           "the derivative of a gradient")
    return _gradient(func, wrt, with_value=with_value, checkpoints=checkpoints)


def _compiled(transform: Callable[..., Any], func: Callable[..., Any], wrt: Wrt, engine: str,
              with_value: bool, mode: str = "reverse") -> Any:
    """``transform(func, wrt, compile=engine)``: the compiled gradient (``srcdiff.jit``),
    cached beside the plain ones; the plain one is made first (it checks ``func`` and
    ``wrt``, and runs where the compiled code raises an arithmetic error)."""
    from .jit import check_engine, compiled_entry_point, require_numba
    check_engine(engine)
    require_numba()
    if not isinstance(func, types.FunctionType) or getattr(func, "__srcdiff_of__", None):
        raise SrcdiffError(f"compile={engine!r} takes a plain function (not a bound method, "
                           "a partial or a gradient)")
    plain = transform(func, wrt)
    names = _wrt_names(func, wrt)
    as_tuple = isinstance(wrt, (tuple, list))
    key = (names, as_tuple, with_value, mode, engine)
    cached = func.__dict__.setdefault(_CACHE, {})
    if key not in cached:
        name = _generated_name(func, names, as_tuple, with_value, mode)
        made = compiled_entry_point(func, names, as_tuple, with_value, mode, name, plain)
        cached[key] = canonical(made, transform.__name__, func, names, as_tuple,
                                compile=engine)
    return cached[key]


def _gradient(func: Callable[..., Any], wrt: Wrt, with_value: bool, mode: str = "reverse",
              checkpoints: int | None = None) -> Any:
    if getattr(func, "__srcdiff_of__", None) is not None:  # grad(grad(f))
        return _of_gradient(func, wrt, with_value, mode)
    if not isinstance(func, types.FunctionType):
        if callable(func) and not isinstance(wrt, (int, str, tuple, list)):
            raise SrcdiffError("wrt must be a position, a name or a tuple of them")
        # parse explains what kind of callable is not supported
        from .parse import parse
        parse(func)
    try:
        names = _wrt_names(func, wrt)
    except SrcdiffError:
        # A function srcdiff cannot read at all is the more useful thing to report.
        from .fence import fence
        from .parse import parse
        fence(parse(func))
        raise
    key: tuple[Any, ...] = (names, isinstance(wrt, (tuple, list)), with_value, mode)
    options = {}
    if checkpoints is not None:
        key += (("checkpoints", checkpoints),)
        options["checkpoints"] = checkpoints
    cached = func.__dict__.setdefault(_CACHE, {})
    if key not in cached:
        maker = "jvp" if mode == "forward" else "value_and_grad" if with_value else "grad"
        cached[key] = canonical(_entry_point(func, names, key[1], with_value, mode,
                                             checkpoints), maker, func, names, key[1],
                                **options)
    return cached[key]


def _of_gradient(gradient: Any, wrt: Wrt, with_value: bool, mode: str) -> Any:
    """``grad(grad(f, wrt=i), wrt=j)``: the derivative of ∂f/∂x_i with respect to x_j,
    ∂²f/∂x_j∂x_i. Forward mode gives ∂f/∂x_i as generated code (the tangent code for the
    direction 1 along x_i, which ``hvp`` uses too); reverse mode differentiates that code
    with respect to x_j (reverse over forward). ``x_i`` must be a number, so that the
    gradient is one (as JAX's ``grad`` needs a function that returns a number)."""
    func, inner_names, inner_tuple, inner_value, inner_mode = gradient.__srcdiff_of__
    who = gradient.__name__
    inner = inner_names[0]
    if inner_mode != "reverse" or inner_tuple or inner_value or len(inner_names) != 1:
        raise SrcdiffError(f"srcdiff differentiates a gradient once more when it is "
                           f"srcdiff.grad(f, wrt=<one parameter>); {who} is not (for "
                           "second derivatives of several parameters use srcdiff.hessian "
                           "or srcdiff.hvp)")
    if mode != "reverse":
        raise SrcdiffError(f"jvp of a gradient ({who}) is not supported; srcdiff.hvp gives "
                           "the Hessian-vector product")
    names = _wrt_names(func, wrt)
    as_tuple = isinstance(wrt, (tuple, list))
    key = ("of", names, as_tuple, with_value)
    cached = gradient.__dict__.setdefault(_CACHE, {})
    if key in cached:
        return cached[key]
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    base = func.__name__ if func.__name__.isidentifier() else "lambda"
    outer = value_and_grad if with_value else grad
    second: dict[_Key, tuple[Generated, Callable[..., Any]]] = {}  # kinds -> (tangent code, its gradient)

    def derivative(args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
        key = _kinds(signature, parameters, names + (inner,), args, kwargs)
        if key[parameters.index(inner)].is_array:
            raise ArgumentKindError(
                f"{who} returns an array here ({inner!r} is one), and a gradient needs a "
                f"function that returns a number: use srcdiff.hessian({func.__name__}) or "
                "srcdiff.hvp")
        entry = second.get(key)
        if entry is None or not (entry[0].check is None or entry[0].check()):
            kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
            code = generate(func, (inner,), name=f"d{base}_d{inner}", kinds=kinds,
                            mode="forward", with_value=False)
            entry = second[key] = (code, outer(code.function, wrt=names if as_tuple else names[0]))
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return entry[1], [bound.arguments[p] for p in parameters] + [1.0]

    def second_derivative(*args: Any, **kwargs: Any) -> Any:
        function, values = derivative(args, kwargs)
        result = function(*values)
        # for srcdiff.source: the code this call ran
        setattr(second_derivative, "__srcdiff__", getattr(function, "__srcdiff__", None))
        return result

    second_derivative.__name__ = second_derivative.__qualname__ = (
        f"{'value_and_grad' if with_value else 'grad'}_{gradient.__name__}")
    second_derivative.__module__ = func.__module__
    second_derivative.__doc__ = (f"Derivative of {who} with respect to {', '.join(names)}: "
                                 f"reverse mode over the forward-mode code of ∂{func.__name__}"
                                 f"/∂{inner}.")
    # srcdiff.source: example arguments, or the code the last call ran
    setattr(second_derivative, "__srcdiff__", None)
    setattr(second_derivative, "__srcdiff_first_call__", True)

    def specialise(*args: Any, **kwargs: Any) -> Any:
        function, values = derivative(args, kwargs)
        return function.__srcdiff_specialise__(*values)
    setattr(second_derivative, "__srcdiff_specialise__", specialise)
    cached[key] = second_derivative
    return second_derivative


def _through_binding(transform: Callable[..., Any], func: Callable[..., Any],
                     wrt: Wrt) -> _Bound | None:
    """For a bound method (``model.loss``) or a ``functools.partial``: ``transform`` of
    the function they wrap, with the same arguments bound (a ``functools.partial``, which
    pickles when the function and the arguments do); ``wrt`` counts the parameters left
    to pass, as it does for ``func``; a name may name a bound one (``wrt="self"``: the
    derivative at the bound value). None for anything else."""
    unbound = _unbind(func, wrt)
    if unbound is None:
        return None
    inner, args, keywords, inner_wrt = unbound
    transformed = transform(inner, wrt=inner_wrt)
    result = _Bound(transformed, *args, **keywords)
    result.__name__ = getattr(transformed, "__name__", "gradient")
    result.__doc__ = transformed.__doc__
    return result


def _unbind(func: Callable[..., Any], wrt: Wrt
            ) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Wrt] | None:
    """For a bound method or a ``functools.partial``: the function it wraps, the
    arguments and keywords bound, and ``wrt`` as that function counts its parameters
    (positions shifted past the bound arguments). None for anything else."""
    if isinstance(func, types.MethodType):
        inner, args, keywords = func.__func__, (func.__self__,), {}
    elif isinstance(func, functools.partial):
        inner, args, keywords = func.func, func.args, func.keywords
    else:
        return None
    items = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    shifted = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            if item < 0:
                raise SrcdiffError(f"wrt takes parameter positions and names, not {item!r}")
            item += len(args)
        shifted.append(item)
    inner_wrt = tuple(shifted) if isinstance(wrt, (tuple, list)) else shifted[0]
    return inner, args, keywords, inner_wrt


class _Bound(functools.partial[Any]):
    """A transformation of a bound method's or a partial's function, with the same
    arguments bound; ``srcdiff.source`` reads it as it reads the transformation."""

    __name__: str  # set by _through_binding, as a function's

    @property
    def __srcdiff__(self) -> Any:
        return self.func.__srcdiff__  # type: ignore[attr-defined]  # set where it is made

    def __srcdiff_specialise__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func.__srcdiff_specialise__(*self.args, *args,  # type: ignore[attr-defined]  # set where it is made
                                                **{**self.keywords, **kwargs})


def _has_varargs(signature: inspect.Signature) -> bool:
    return any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())


def _wrt_names(func: Callable[..., Any], wrt: Wrt) -> tuple[str, ...]:
    """The parameters ``wrt`` names. ``*args`` is named by its name (``wrt="args"``: its
    gradient is a tuple, one per argument), not by position."""
    code = func.__code__
    positional = code.co_varnames[:code.co_argcount]
    everything = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if code.co_flags & inspect.CO_VARARGS:
        everything += (code.co_varnames[len(everything)],)
    items = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    if not items:
        raise SrcdiffError("wrt is empty: name at least one parameter to differentiate")
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise SrcdiffError(f"wrt takes parameter positions and names, not {item!r}")
        if isinstance(item, int):
            if not 0 <= item < len(positional):
                raise SrcdiffError(f"wrt={item}: {func.__name__}() has "
                                   f"{len(positional)} positional parameters" + (
                                       f" (name *{everything[-1]} to differentiate with "
                                       f"respect to it: wrt={everything[-1]!r})"
                                       if code.co_flags & inspect.CO_VARARGS else ""))
            item = positional[item]
        elif item not in everything:
            raise SrcdiffError(f"wrt={item!r}: {func.__name__}() has no parameter "
                               f"named {item!r} (it has {', '.join(everything) or 'none'})")
        if item in names:
            raise SrcdiffError(f"wrt names {item!r} twice")
        names.append(item)
    return tuple(names)


def _generated_name(func: Callable[..., Any], names: tuple[str, ...], as_tuple: bool, with_value: bool, mode: str) -> str:
    base = func.__name__ if func.__name__.isidentifier() else "lambda"  # <lambda>
    if mode == "forward":
        return f"jvp_{base}"
    if with_value:
        return f"value_and_grad_{base}"
    if as_tuple:
        return f"grad_{base}"
    return f"d{base}_d{names[0]}"


# Python raises these where IEEE arithmetic gives inf or nan (srcdiff.ieee).
_IEEE_ERRORS = (ZeroDivisionError, OverflowError, ValueError)


def _entry_point(func: Callable[..., Any], names: tuple[str, ...], as_tuple: bool, with_value: bool,
                 mode: str = "reverse", checkpoints: int | None = None) -> Any:
    """The gradient function users call: it generates code for each combination of
    argument kinds it meets (numbers, arrays of each rank), once, and calls it. Calls
    with numbers only go straight to the scalar code.

    Before each call it checks that the names generation resolved outside the function
    still mean the same (``srcdiff.dependencies``) and generates again if not. Where the
    generated code raises an arithmetic error and the function itself does not (a
    derivative that is infinite, ``math.sqrt`` at 0), it returns what the IEEE variant
    of the code gives (``srcdiff.ieee``): inf or nan, as JAX and PyTorch do.

    In forward mode (``jvp``) the last ``len(names)`` positional arguments are the
    tangents: the kinds come from the others, and the generated code takes every
    parameter by position (defaults applied here), then the tangents."""
    name = _generated_name(func, names, as_tuple, with_value, mode)
    forward = mode == "forward"
    several = forward and with_value  # jvp: a function may return a tuple
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    specialisations: dict[_Key, Generated] = {}
    variants: dict[_Key, Generated] = {}  # IEEE variants, generated when first needed
    deferred: list[SrcdiffError] = []
    scalar_key = (SCALAR,) * len(parameters)
    target = check = None  # the scalar code and its dependency test, for the fast path
    # the same for _fast_wrapper's code: its globals (the scalar code, and the names its
    # inlined dependency test reads)
    fast_state: dict[str, Any] = {"_srcdiff_target": None}

    def fresh(generated: Generated | None) -> TypeGuard[Generated]:
        return generated is not None and (generated.check is None or generated.check())

    def specialise(key: _Key) -> Generated:
        nonlocal target, check
        generated = specialisations.get(key)
        if fresh(generated):
            return generated
        if generated is not None:  # something it relied on changed: start again
            specialisations.clear()
            variants.clear()
            deferred.clear()
        kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
        if not kinds and deferred:
            raise deferred[0]
        generated = specialisations[key] = generate(
            func, names, name=name, with_value=with_value, as_tuple=as_tuple, kinds=kinds,
            mode=mode, checkpoints=checkpoints, several=several)
        if key == scalar_key and not forward:
            target, check = generated.function, generated.check
            if fast is not None:
                test, names_read = check.test if check is not None else ("True", {})
                # (the last code's names stay until overwritten: a call running it in
                # another thread must still find them)
                fast_state.update(names_read)
                fast_state["_srcdiff_target"] = target
                inlined = _inlined(generated, parameters)
                if inlined is not None:
                    fast_state.update(inlined[2])
                gradient.__code__ = fast(test, inlined and textwrap.indent(inlined[1], " " * 16))
        if key == scalar_key and forward:
            if fast is None:
                fast_forward.update(target=generated.function, check=generated.check or _ALWAYS)
            else:
                test, names_read = generated.check.test if generated.check is not None \
                    else ("True", {})
                fast_state.update(names_read)
                fast_state["_srcdiff_target"] = generated.function
                inlined = _inlined(generated, len(parameters) + len(names), assigns=True)
                if inlined is not None:
                    fast_state.update(inlined[2])
                gradient.__code__ = fast(test, inlined and (inlined[0], inlined[1]))
        gradient.__wrapped__ = generated.function
        gradient.__srcdiff__ = generated
        return generated

    def ieee(key: _Key, args: tuple[Any, ...], kwargs: dict[str, Any], error: Exception,
             everything: tuple[Any, ...] | None = None) -> Any:
        """``everything``: the generated code's arguments when they are not ``args``
        and ``kwargs`` (forward mode: with defaults applied, then the tangents)."""
        try:
            func(*args, **kwargs)
        except Exception:  # the function itself fails here: so does its gradient
            raise error.with_traceback(error.__traceback__) from None
        variant = variants.get(key)
        if not fresh(variant):
            kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
            variant = variants[key] = generate(func, names, name=name, with_value=with_value,
                                               as_tuple=as_tuple, kinds=kinds, ieee=True,
                                               mode=mode, checkpoints=checkpoints,
                                               several=several)
        if everything is not None:
            return variant.function(*everything)
        return variant.function(*args, **kwargs)

    fast_forward: dict[str, Any] = {"target": None, "check": _ALWAYS}

    low, fill = _numeric_defaults(signature)
    count, extra = len(parameters), len(names)
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
           for p in signature.parameters.values()):
        low = count + 1  # keyword-only parameters are not given by position: no fast path

    def forward_call(*args: Any, **kwargs: Any) -> Any:
        # numbers only, given by position (trailing defaults that are numbers may be
        # left out): straight to the scalar code. (Where ``_fast_forward_wrapper`` could
        # write the function users call, it does this, and this path is not taken.)
        target_ = fast_forward["target"]
        given = len(args) - extra
        if target_ is not None and not kwargs and low <= given <= count:
            for value in args:
                if type(value) not in real:
                    break
            else:
                for value in args[given:]:
                    if type(value) is not float and type(value) is not int:
                        break
                else:
                    if fast_forward["check"]():
                        try:
                            if given == count:
                                return target_(*args)
                            return target_(*args[:given], *fill[given - low:], *args[given:])
                        except _IEEE_ERRORS:
                            pass  # the general path below decides what to return
        # every argument given by position, then the tangents, each a number or an array:
        # the kinds found before for arguments of these types, ranks and dtypes
        # (``_types_of``), each tangent checked as ``_check_tangent`` would pass it
        types = _types_of(args) if not kwargs and len(args) == count + extra \
            and positional >= 0 else None
        if types is not None:
            known = seen_forward.get(types)
            if known is not None and _tangents_fit(args, wrt_positions, count):
                generated = specialisations.get(known)
                if generated is not None and fresh(generated):
                    try:
                        return generated.function(*args)
                    except _IEEE_ERRORS as error:
                        return ieee(known, args[:count], {}, error, args)
        if len(args) >= extra:  # a structure given: its leaves and their tangents
            key = _kinds(signature, parameters, names, args[:len(args) - extra], kwargs,
                         structured=True)
            if any(type(k) is _Structured for k in key):
                return structured_forward(key, args[:len(args) - extra],
                                          args[len(args) - extra:], kwargs)
        primal, tangents, key, bound = _split(f"{name}()", signature, names, args, kwargs,
                                              "tangent")
        values = [bound.arguments[p] for p in parameters]
        generated = specialise(key)
        if types is not None:
            seen_forward[types] = key
        everything = (*values, *tangents)
        try:
            return generated.function(*everything)
        except _IEEE_ERRORS as error:
            return ieee(key, primal, kwargs, error, everything)

    real = _REAL_TYPES
    seen: dict[tuple[Any, ...], _Key] = {}  # _types_of(args) -> the kinds _kinds found
    seen_forward: dict[tuple[Any, ...], _Key] = {}  # the same, of arguments then tangents
    wrt_positions = [parameters.index(n) for n in names]
    # how many arguments a call gives when it gives every parameter by position
    positional = len(parameters) if all(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in signature.parameters.values()) else -1

    def reverse_call(*args: Any, **kwargs: Any) -> Any:
        if target is not None:
            for value in args:
                if type(value) not in real:
                    break
            else:
                for value in kwargs.values():
                    if type(value) not in real:
                        break
                else:  # numbers only (the dependency test after the types: arrays skip it)
                    if check is None or check():
                        try:
                            return target(*args, **kwargs)
                        except _IEEE_ERRORS as error:
                            return ieee(scalar_key, args, kwargs, error)
        # every argument given by position, each a number or an array: the kinds found
        # before for arguments of these types, ranks and dtypes (``_types_of``)
        types = _types_of(args) if not kwargs and len(args) == positional else None
        if types is not None:
            known = seen.get(types)
            if known is not None:
                generated = specialisations.get(known)
                if generated is not None and fresh(generated):
                    try:
                        return generated.function(*args)
                    except _IEEE_ERRORS as error:
                        return ieee(known, args, kwargs, error)
        key = _kinds(signature, parameters, names, args, kwargs, structured=True)
        if any(type(k) is _Structured for k in key):
            return structured_call(key, args, kwargs)
        if types is not None:
            seen[types] = key
        generated = specialise(key)
        try:
            return generated.function(*args, **kwargs)
        except _IEEE_ERRORS as error:
            return ieee(key, args, kwargs, error)

    structured: dict[tuple[_Key, bool], list[Generated]] = {}  # key -> the code for each set of facts

    def structured_code(key: _Key, values: list[Any], ieee: bool = False) -> Generated:
        """The code for structured arguments: generated for the first arguments of each
        shape, used again while the facts it was generated from hold."""
        arguments = dict(zip(parameters, values))
        candidates = structured.setdefault((key, ieee), [])
        candidates[:] = [c for c in candidates if fresh(c)]
        for candidate in candidates:
            if _facts_hold(candidate.facts, arguments):
                return candidate
        kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
        examples = {p: v for p, k, v in zip(parameters, key, values) if type(k) is _Structured}
        for p, value in examples.items():
            if p not in names and ragged(value):
                # read whole (``zip(Ws, bs)``, ``np.concatenate(ws)``): an array of
                # unknown rank, whose code holds for any items (what is read of it by
                # constant positions has facts of its own)
                kinds[p] = cast(Kind, data_kind(value))
        generated = generate(func, names, name=name, with_value=with_value, kinds=kinds,
                             ieee=ieee, structures=examples, mode=mode,
                             checkpoints=checkpoints, several=several)
        candidates.append(generated)
        return generated

    def structured_forward(key: _Key, primal: tuple[Any, ...], tangents: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        """``jvp`` with structured arguments: the code takes each leaf read, then the
        tangent of each leaf differentiated, found in the tangent of its structure
        (which must have the argument's structure)."""
        from .structures import text
        bound = signature.bind(*primal, **kwargs)
        bound.apply_defaults()
        values = [bound.arguments[p] for p in parameters]
        structured_tangents = []
        for parameter, tangent in zip(names, tangents):
            value = bound.arguments[parameter]
            if type(key[parameters.index(parameter)]) is _Structured:
                if _structure_of(parameter, tangent) != _structure_of(parameter, value):
                    raise ArgumentKindError(
                        f"the tangent for {parameter!r} does not have the structure of the "
                        f"argument: give a {type(value).__name__} of the same keys, fields "
                        "and positions, a number or array of each leaf's shape in each")
            else:
                _check_tangent(parameter, value, tangent)
            structured_tangents.append((parameter, value, tangent))

        def flat_tangents(generated: Generated) -> list[Any]:
            flat = []
            for parameter, value, tangent in structured_tangents:
                if type(key[parameters.index(parameter)]) is not _Structured:
                    flat.append(tangent)
                    continue
                for _, param, path in generated.leaves:
                    if param == parameter:
                        leaf = follow(tangent, path)
                        _check_tangent(text(param, path), follow(value, path), leaf)
                        flat.append(leaf)
            return flat

        generated = structured_code(key, values)
        try:
            return generated.function(*_flat_arguments(generated, parameters, values),
                                      *flat_tangents(generated))
        except _IEEE_ERRORS as error:
            try:
                func(*primal, **kwargs)
            except Exception:  # the function itself fails here: so does its derivative
                raise error.with_traceback(error.__traceback__) from None
            variant = structured_code(key, values, ieee=True)
            return variant.function(*_flat_arguments(variant, parameters, values),
                                    *flat_tangents(variant))

    def structured_call(key: _Key, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = [bound.arguments[p] for p in parameters]
        generated = structured_code(key, values)
        flat = _flat_arguments(generated, parameters, values)
        try:
            result = generated.function(*flat)
        except _IEEE_ERRORS as error:
            try:
                func(*args, **kwargs)
            except Exception:  # the function itself fails here: so does its gradient
                raise error.with_traceback(error.__traceback__) from None
            variant = structured_code(key, values, ieee=True)
            result = variant.function(*_flat_arguments(variant, parameters, values))
        value, flat_gradient = result if with_value else (None, result)
        gradients, position = [], 0
        for parameter in names:
            if type(key[parameters.index(parameter)]) is not _Structured:
                gradients.append(flat_gradient[position])
                position += 1
                continue
            read = [path for _, param, path in generated.leaves if param == parameter]
            gradients.append(rebuild(bound.arguments[parameter], dict(
                zip(read, flat_gradient[position:position + len(read)]))))
            position += len(read)
        gradient = tuple(gradients) if as_tuple else gradients[0]
        return (value, gradient) if with_value else gradient

    fast = _fast_forward_wrapper(name, signature, len(names), forward_call, fast_state) \
        if forward else _fast_wrapper(name, signature, reverse_call, ieee, scalar_key, fast_state)
    # the function users call; srcdiff's attributes on it are not declared by its type
    gradient: Any = forward_call if forward else reverse_call
    if fast is not None:  # the wrapper's code, with the test of the scalar code's assumptions
        gradient = types.FunctionType(fast.initial, fast_state, name, fast.defaults, None)
        gradient.__kwdefaults__ = fast.kwdefaults
    gradient.__name__ = gradient.__qualname__ = name
    gradient.__module__ = func.__module__
    gradient.__srcdiff_of__ = (func, names, as_tuple, with_value, mode)  # for grad(grad(f))
    try:  # (*args: code for the arguments of each call, as for structured ones)
        scalar = None if _has_varargs(signature) else specialise(scalar_key)
    except SrcdiffError as error:
        # the function needs arrays (a KindError, or a refusal that depends on which
        # values are arrays): generate at the first call, raise this one for numbers
        if not (isinstance(error, KindError) or getattr(error, "depends_on_kinds", False)):
            raise
        deferred.append(error)
        scalar = None
    if scalar is not None:
        gradient.__doc__ = scalar.function.__doc__
        # inspect.getsource and inspect.signature follow __wrapped__ to the generated code.
    else:  # no code yet: __wrapped__ is set by the first specialisation, never to func
        gradient.__signature__ = signature
        gradient.__doc__ = (f"Gradient of {func.__name__}; its code is generated for the "
                            "kinds of arguments of each call (it needs arrays).")
        gradient.__srcdiff__ = None
    if forward:  # example arguments: the function's, then the tangents
        gradient.__srcdiff_specialise__ = lambda *a, **k: specialise(
            _kinds(signature, parameters, names, a[:len(a) - len(names)], k))
    else:
        def specialise_for(*a: Any, **k: Any) -> Generated:
            key = _kinds(signature, parameters, names, a, k, structured=True)
            if any(type(part) is _Structured for part in key):
                bound = signature.bind(*a, **k)
                bound.apply_defaults()
                return structured_code(key, [bound.arguments[p] for p in parameters])
            return specialise(key)
        gradient.__srcdiff_specialise__ = specialise_for
    return gradient


def _structure_of(name: str, value: Any) -> Any:
    """A structure's containers and keys, without its leaves' kinds (a tangent's leaves
    are checked one by one)."""
    from .structures import children, is_container
    if is_container(value):
        return (type(value), tuple((s, _structure_of(name, child)) for s, child in children(value)))
    return None


def _flat_arguments(generated: Generated, parameters: list[str], values: list[Any]) -> list[Any]:
    """The arguments of code generated for structured arguments: each parameter's, then
    the leaves it reads."""
    flat = []
    for parameter, value in zip(parameters, values):
        flat.append(value)
        flat += [follow(value, path) for _, param, path in generated.leaves if param == parameter]
    return flat


def _facts_hold(facts: list[tuple[str, tuple[Any, ...], Any]], arguments: dict[str, Any]) -> bool:
    """Whether code generated from ``facts`` holds for ``arguments``: each path it read
    leads to a value of the same kind (``structures.observe``)."""
    from .structures import observe
    for parameter, path, seen in facts:
        try:
            if observe(follow(arguments[parameter], path)) != seen:
                return False
        except (LookupError, AttributeError, TypeError):
            return False
    return True


def _code_of(source: str, filename: str) -> types.CodeType:
    """The code of the one function ``source`` defines (a call wrapper's text)."""
    module = compile(source, filename, "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _numeric_defaults(signature: inspect.Signature) -> tuple[int, tuple[Any, ...]]:
    """For a fast path taking every parameter by position: how many arguments must be
    given, and the defaults of the rest (numbers only: the fast path is for numbers).
    With keyword-only parameters, or a default that is not a number, every argument."""
    parameters = list(signature.parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
        return len(parameters), ()
    fill = []
    for p in reversed(parameters):
        if p.default is p.empty or type(p.default) not in (float, int):
            break
        fill.append(p.default)
    return len(parameters) - len(fill), tuple(reversed(fill))


def _ALWAYS() -> bool:
    return True


class _Missing:
    """An argument the caller left out (the default of ``_fast_forward_wrapper``'s
    parameters: how many were given decides where the tangents start)."""

    def __repr__(self) -> str:
        return "<argument not given>"


_MISSING_ARGUMENT = _Missing()


class _WrapperCode(Protocol):
    """What ``_fast_wrapper`` and ``_fast_forward_wrapper`` return: a function of the
    test's text (and, for ``_fast_wrapper``, of the scalar code's body to run in place
    of calling it) giving the wrapper's code, with attributes set on it."""

    initial: types.CodeType
    defaults: tuple[Any, ...] | None
    kwdefaults: dict[str, Any] | None

    def __call__(self, test: str, body: Any = None) -> types.CodeType: ...


# What the code a wrapper runs in place of calling it may refer to outside itself: modules
# (``math``) and these builtins, none of which has an effect a second run could repeat.
_INLINE_SAFE = (range, float, int, len, min, max, abs, isinstance, type, UnboundLocalError,
                TypeError)
_INLINE_BYTES = 4000  # bytecode size above which a body is called, not inlined
_NOT_INLINED = frozenset({"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME",
                          "STORE_NAME", "DELETE_NAME", "IMPORT_NAME", "STORE_DEREF",
                          "DELETE_DEREF", "LOAD_CLASSDEREF"})


def _inlined(generated: Generated, parameters: list[str] | int,
             assigns: bool = False) -> tuple[list[str], str, dict[str, Any]] | None:
    """The body of the scalar code as a fast wrapper runs it in place of calling it
    (unindented), and the globals it needs there; None where that would not be the
    same computation. Calling costs a frame, about what the gradient of ``x * x + 3 * x``
    itself costs.

    The body is inlined only when running it twice is the same as running it once (the
    wrapper catches any exception and lets the general path run the generated function
    again, which raises where the traceback shows the generated code, or gives the IEEE
    variant): it refers to nothing outside itself but modules and the builtins of
    ``_INLINE_SAFE`` (no global: no user function, no ``print``, no global number read
    live), so it has no effect but its result. Its parameters must be ``parameters``
    (or that many, by position), returned first; it must not use a name of the
    wrapper's, nor assign a parameter unless ``assigns`` (the general path must be given
    the arguments as they came: the forward wrapper copies them into the parameters'
    names first)."""
    import dis
    function = generated.function
    code = function.__code__
    if len(code.co_code) > _INLINE_BYTES:  # a call is nothing beside such a body
        return None
    if any(isinstance(c, types.CodeType) for c in code.co_consts) or any(
            i.opname in _NOT_INLINED for i in dis.get_instructions(code)):
        return None
    names: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        value = cell.cell_contents
        if not isinstance(value, types.ModuleType) and not any(value is s for s in _INLINE_SAFE):
            return None
        names[name] = value
    tree = ast.parse(generated.source).body[0]
    if not isinstance(tree, ast.FunctionDef):
        return None
    args = tree.args
    written = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg or args.kwarg or (written != parameters if isinstance(parameters, list)
                                     else args.kwonlyargs or len(written) != parameters):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id.startswith("_srcdiff_") or (
                not assigns and not isinstance(node.ctx, ast.Load) and node.id in written)):
            return None
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    return written, "".join(ast.unparse(s) + "\n" for s in body), names


def _fast_wrapper(name: str, signature: inspect.Signature, slow: Callable[..., Any],
                  ieee: Callable[..., Any], scalar_key: _Key,
                  state: dict[str, Any]) -> _WrapperCode | None:
    """The gradient users call, written for ``func``'s own signature, so that a call
    with numbers costs little more than the generated code's: no packing into ``*args``,
    one type test per parameter, the dependency test inlined (``dependencies.checker``'s
    ``check.test``), then the scalar code. ``state`` is the wrapper's globals:
    ``_srcdiff_target`` (the scalar code) and the names the test reads, replaced when the
    code is generated again. Anything else (arrays, stale dependencies, no scalar code)
    goes to ``slow``, the general wrapper, with the arguments as given.

    Returns a function of the test's text giving the wrapper's code object (its
    ``initial`` code, ``defaults`` and ``kwdefaults`` as attributes), or None when the signature cannot be
    written so (``*args``, names the wrapper needs)."""
    parameters = list(signature.parameters.values())
    kinds = inspect.Parameter
    if any(p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) or p.name.startswith("_srcdiff_")
           for p in parameters):
        return None
    state.update({"_srcdiff_slow": slow, "_srcdiff_ieee": ieee, "_srcdiff_type": type,
                  "_srcdiff_real": _REAL_TYPES, "_srcdiff_float": float, "_srcdiff_errors": _IEEE_ERRORS,
                  "_srcdiff_key": scalar_key, "__builtins__": builtins})
    written, passed, seen_keyword_only, positional = [], [], False, []
    defaults, kwdefaults = [], {}
    for index, p in enumerate(parameters):
        if p.kind is kinds.KEYWORD_ONLY and not seen_keyword_only:
            written.append("*")
            seen_keyword_only = True
        written.append(p.name)
        if p.default is not p.empty:
            if p.kind is kinds.KEYWORD_ONLY:
                kwdefaults[p.name] = p.default
            else:
                defaults.append(p.default)
        if p.kind is kinds.POSITIONAL_ONLY and (index + 1 == len(parameters) or parameters[
                index + 1].kind is not kinds.POSITIONAL_ONLY):
            written.append("/")
        passed.append(p.name if p.kind is not kinds.KEYWORD_ONLY else f"{p.name}={p.name}")
        if p.kind is not kinds.KEYWORD_ONLY:
            positional.append(p.name)
    keywords = {p.name: p.name for p in parameters if p.kind is kinds.KEYWORD_ONLY}
    # all floats (one chained comparison: the common case, and the cheapest), or each a
    # real number
    types_ok = " is ".join(["_srcdiff_float"] + [f"_srcdiff_type({p.name})" for p in parameters]) \
        + " or " + " and ".join(f"_srcdiff_type({p.name}) in _srcdiff_real" for p in parameters) \
        if parameters else "True"
    arguments = ", ".join(passed)
    tuple_ = "(" + "".join(f"{n}, " for n in positional) + ")"
    dict_ = "{" + ", ".join(f"{k!r}: {v}" for k, v in keywords.items()) + "}"
    # Defaults come from the function object (``types.FunctionType``): the text declares
    # the parameters bare.

    def code(test: str, body: str | None = None) -> types.CodeType:
        if body is None:
            run = (f"            try:\n"
                   f"                return _srcdiff_target({arguments})\n"
                   f"            except _srcdiff_errors as _srcdiff_error:\n"
                   f"                return _srcdiff_ieee(_srcdiff_key, {tuple_}, {dict_}, "
                   f"_srcdiff_error)\n")
        else:  # the scalar code's body itself (``_inlined``): no call to pay for
            run = ("            try:\n" + body +
                   "            except Exception:\n"  # the general path runs it again
                   "                pass\n")
        source = (
            f"def {name}({', '.join(written)}):\n"
            f"    if _srcdiff_target is not None and ({types_ok}):\n"
            f"        try:\n"
            f"            _srcdiff_holds = {test}\n"
            f"        except (ValueError, KeyError):\n"
            f"            _srcdiff_holds = False\n"
            f"        if _srcdiff_holds:\n"
            + run +
            f"    return _srcdiff_slow({arguments})\n")
        return _code_of(source, f"<srcdiff gradient {name}>")
    try:
        initial = code("False")  # until there is scalar code: the general wrapper
    except SyntaxError:  # a name Python does not accept as written here
        return None
    # attributes of the function ``code`` (setattr: its type does not declare them)
    setattr(code, "initial", initial)
    setattr(code, "defaults", tuple(defaults) or None)
    setattr(code, "kwdefaults", kwdefaults or None)
    return cast(_WrapperCode, code)


def _fast_forward_wrapper(name: str, signature: inspect.Signature, extra: int,
                          slow: Callable[..., Any] | None, state: dict[str, Any],
                          catch: bool = True) -> _WrapperCode | None:
    """The function users call for ``jvp`` (and ``hvp``), written for ``func``'s
    signature: its arguments, then ``extra`` tangents, all by position. A call with
    numbers only (trailing defaults that are numbers may be left out: ``_numeric_defaults``)
    costs a branch on how many arguments were given, one type test per argument and the
    dependency test inlined (``dependencies.checker``'s ``check.test``), then goes to
    ``_srcdiff_target`` (the scalar code, every parameter by position, then the tangents),
    with the defaults written in. Anything else (keywords, arrays, a bool or other
    non-float tangent, too few or too many arguments, stale dependencies) goes to
    ``slow``, the general wrapper, with the arguments as given: it makes the same checks
    and raises the same errors. ``catch``: an arithmetic error of the target goes to
    ``slow`` too (it decides what IEEE arithmetic gives).

    Returns a function of the test's text giving the wrapper's code object (with
    ``initial`` code, until there is scalar code, and ``defaults``), or None when the
    signature has parameters that are not positional (``*args``, keyword-only)."""
    parameters = list(signature.parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
        return None
    low, fill = _numeric_defaults(signature)
    count = len(parameters)
    state.update({"_srcdiff_slow": slow, "_srcdiff_type": type, "_srcdiff_real": _REAL_TYPES,
                  "_srcdiff_tangent_types": frozenset((float, int)), "_srcdiff_float": float,
                  "_srcdiff_errors": _IEEE_ERRORS, "_srcdiff_M": _MISSING_ARGUMENT,
                  "__builtins__": builtins})
    for index, value in enumerate(fill):
        state[f"_srcdiff_D{index}"] = value
    given = [f"_srcdiff_a{i}" for i in range(count + extra)]
    header = (f"def {name}(" + "".join(f"{a}=_srcdiff_M, " for a in given)
              + "/, *_srcdiff_more, **_srcdiff_keywords):\n")
    as_given = (f"    return _srcdiff_slow(*[_srcdiff_a for _srcdiff_a in ({', '.join(given)}, ) "
                f"if _srcdiff_a is not _srcdiff_M], *_srcdiff_more, **_srcdiff_keywords)\n")

    def default(index: int) -> str:  # a literal where it reads back exactly
        value = fill[index]
        return repr(value) if math.isfinite(value) else f"_srcdiff_D{index}"

    def code(test: str, inlined: tuple[list[str], str] | None = None) -> types.CodeType:
        """``inlined``: the scalar code's parameters and body, to run in place of
        calling it (``_inlined``): its parameters are assigned the arguments first."""
        lines = [header, "    if not _srcdiff_keywords and not _srcdiff_more:\n"]
        for number in range(count, low - 1, -1):  # how many of func's arguments were given
            primal, tangents = given[:number], given[number:number + extra]
            keyword = "if" if number == count else "elif"  # the last argument given
            lines.append(f"        {keyword} {tangents[-1]} is not _srcdiff_M:\n")
            # all floats (one chained comparison: the common case, and the cheapest), or
            # each a real number and each tangent a float or an int
            all_floats = " is ".join(["_srcdiff_float"] + [f"_srcdiff_type({a})"
                                                           for a in primal + tangents])
            types_ok = f"{all_floats} or " + " and ".join(
                [f"_srcdiff_type({a}) in _srcdiff_real" for a in primal]
                + [f"_srcdiff_type({a}) in _srcdiff_tangent_types" for a in tangents])
            arguments = ", ".join(primal + [default(i) for i in range(number - low, len(fill))]
                                  + tangents)
            call = f"return _srcdiff_target({arguments})"
            lines += [
                f"            if {types_ok}:\n",
                "                try:\n",
                f"                    _srcdiff_holds = {test}\n",
                "                except (ValueError, KeyError):\n",
                "                    _srcdiff_holds = False\n",
                "                if _srcdiff_holds:\n"]
            if inlined is not None:  # the body runs here; an error: the general path
                values = primal + [default(i) for i in range(number - low, len(fill))] + tangents
                lines += ["                    try:\n"]
                lines += [f"                        {p} = {v}\n"
                          for p, v in zip(inlined[0], values)]
                lines += [textwrap.indent(inlined[1], " " * 24),
                          "                    except Exception:\n",
                          "                        pass\n"]
            elif catch:
                lines += ["                    try:\n",
                          f"                        {call}\n",
                          "                    except _srcdiff_errors:\n",
                          "                        pass\n"]
            else:
                lines.append(f"                    {call}\n")
        lines.append(as_given)
        return _code_of("".join(lines), f"<srcdiff {name}>")
    try:
        initial = code("False")  # until there is scalar code: the general wrapper
    except SyntaxError:  # a name Python does not accept as written here
        return None
    # attributes of the function ``code`` (setattr: its type does not declare them)
    setattr(code, "initial", initial)
    setattr(code, "defaults", (_MISSING_ARGUMENT,) * len(given) or None)
    setattr(code, "kwdefaults", None)
    return cast(_WrapperCode, code)


def _split(who: str, signature: inspect.Signature, names: tuple[str, ...], args: tuple[Any, ...],
           kwargs: dict[str, Any], what: str
           ) -> tuple[tuple[Any, ...], tuple[Any, ...], _Key, inspect.BoundArguments]:
    """The arguments of a function that takes ``func``'s, then one ``what`` (tangent,
    vector) per ``wrt`` parameter: (``func``'s positional arguments, the extra ones, the
    kinds of ``func``'s arguments, their binding with defaults applied), each extra one
    checked against its argument's shape."""
    if len(args) < len(names):
        raise TypeError(f"{who} takes the function's arguments, then {len(names)} "
                        f"{what}(s) (for {', '.join(names)})")
    primal, extra = args[:len(args) - len(names)], args[len(args) - len(names):]
    key = _kinds(signature, list(signature.parameters), names, primal, kwargs)
    bound = signature.bind(*primal, **kwargs)
    bound.apply_defaults()
    for parameter, value in zip(names, extra):
        _check_tangent(parameter, bound.arguments[parameter], value, what)
    return primal, extra, key, bound


def _cotangents(value: Any, cotangent: Any) -> tuple[Any, ...]:
    """The cotangents a pull-back's code takes: ``cotangent`` itself, of ``value``'s
    shape; for a tuple ``value`` (a function returning several values), the elements of
    ``cotangent``, a tuple as long, each of its element's shape."""
    if type(value) is not tuple:
        _check_tangent("the result", value, cotangent, "cotangent")
        return (_own(cotangent),)
    if not isinstance(cotangent, tuple) or len(cotangent) != len(value):
        given = f"a tuple of {len(cotangent)}" if isinstance(cotangent, tuple) else \
            f"a {type(cotangent).__name__}"
        raise ArgumentKindError(f"the function returns a tuple of {len(value)} values: pass "
                                f"a tuple of {len(value)} cotangents, one for each (not "
                                f"{given})")
    for position, (element, part) in enumerate(zip(value, cotangent)):
        _check_tangent(f"the result's element {position}", element, part, "cotangent")
    return tuple(_own(part) for part in cotangent)


def _own_array(value: Any) -> Any:
    """An array argument copied (the caller's may change), anything else as it is."""
    import sys
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return value.copy()
    return value


def _own(cotangent: Any) -> Any:
    """A 0-d array cotangent copied: the code may add to a number's adjoint in place
    (``b_x += ...``), and it starts as the cotangent for ``return x + x``."""
    import sys
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(cotangent, numpy.ndarray) and cotangent.ndim == 0:
        return cotangent.copy()
    return cotangent


def _check_tangent(parameter: str, value: Any, tangent: Any, what: str = "tangent") -> None:
    """A tangent has its argument's shape: a number for a number, an array of the same
    shape for an array (a cotangent, the result's)."""
    import sys
    numpy = sys.modules.get("numpy")  # arrays exist only where NumPy was imported
    is_array = numpy is not None and isinstance(tangent, numpy.ndarray)
    # (an array first: isinstance against numbers.Real costs about 1 µs for one)
    if isinstance(tangent, bool) or not (is_array or isinstance(tangent, numbers.Real)):
        raise ArgumentKindError(f"the {what} for {parameter!r} is a {type(tangent).__name__}: "
                                "pass a number or a NumPy array of its shape")
    if numpy is None:
        return
    if numpy.shape(tangent) != numpy.shape(value):
        raise ArgumentKindError(f"the {what} for {parameter!r} has shape "
                                f"{numpy.shape(tangent)}; it must have shape "
                                f"{numpy.shape(value)}")


def numpy_dtype(value: Any) -> Any:
    import numpy
    return numpy.asarray(value).dtype


@dataclass(frozen=True)
class _Structured:
    """In a key of argument kinds: a structured argument (``srcdiff.structures``), with
    its ``treedef`` when it is differentiated, else its type."""
    description: object
    is_array: ClassVar[Literal[False]] = False


# A key of argument kinds: one per parameter
_Key = tuple[Kind | _Structured, ...]


def _types_of(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What decides the kinds ``_kinds`` finds for these arguments, when each is a float,
    an int, a bool or a NumPy array (of its rank and dtype): the same answer for any
    arguments of the same types, ranks and dtypes (its checks passed for them before);
    None for anything else (the general path looks at it)."""
    ndarray = _NDARRAY[0]
    if ndarray is None:
        import sys
        numpy = sys.modules.get("numpy")
        if numpy is None:  # no arrays yet (the next call looks again)
            ndarray = _Missing
        else:
            ndarray = _NDARRAY[0] = numpy.ndarray
    found: list[Any] = []
    for value in args:
        kind = type(value)
        if kind is float or kind is int or kind is bool:
            found.append(kind)
        elif kind is ndarray:
            found.append((value.ndim, value.dtype.char))
        else:
            return None
    return tuple(found)


_NDARRAY: list[Any] = [None]  # numpy.ndarray, once NumPy is imported


def _tangents_fit(args: tuple[Any, ...], positions: list[int], count: int) -> bool:
    """Whether each tangent (after the ``count`` arguments, one per position of a ``wrt``
    parameter) is what ``_check_tangent`` passes without a question, given that each
    argument is a float, an int, a bool or an array (``_types_of``): a float or an int
    for a number, an array of the same shape for an array. Anything else: the general
    path decides (and raises where it must)."""
    ndarray = _NDARRAY[0]
    for index, position in enumerate(positions):
        value, tangent = args[position], args[count + index]
        kind = type(tangent)
        if kind is ndarray:
            if type(value) is not ndarray or value.shape != tangent.shape:
                return False
        elif not ((kind is float or kind is int) and type(value) is not ndarray):
            return False
    return True


def _kinds(signature: inspect.Signature, parameters: list[str], names: tuple[str, ...],
           args: tuple[Any, ...], kwargs: dict[str, Any], structured: bool = False) -> _Key:
    """The kind of each parameter's argument; refuses arguments srcdiff cannot
    differentiate with respect to. ``structured``: dicts, lists, tuples and dataclasses
    differentiated with respect to, and objects that are not, are ``_Structured``."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(str(error)) from None
    bound.apply_defaults()
    result: list[Kind | _Structured] = []
    for parameter in parameters:
        value: Any = bound.arguments.get(parameter)
        if structured and signature.parameters[parameter].kind is inspect.Parameter.VAR_POSITIONAL:
            # *args: a tuple, specialised on its length like a structured argument
            result.append(_Structured(treedef(parameter, value) if parameter in names
                                      else type(value)))
            continue
        if is_complex(value):
            raise ArgumentKindError(
                f"argument {parameter!r} is complex ({getattr(value, 'dtype', type(value).__name__)}): "
                "srcdiff differentiates real arithmetic; complex numbers are not supported")
        kind = kind_of_value(value)
        if kind is None and parameter not in names:
            kind = data_kind(value)  # a list of numbers: the array NumPy makes of it
            if kind == ANY_ARRAY and ragged(value):
                # arrays of different shapes: a structure, not one array
                if not structured:
                    raise ArgumentKindError(
                        f"argument {parameter!r} is a {type(value).__name__} holding arrays "
                        "NumPy does not stack into one array (of different shapes, or next "
                        "to numbers): srcdiff.grad, srcdiff.value_and_grad and srcdiff.jvp "
                        "read it as a structure, each array of its own shape; vjp, hvp, "
                        "hessian, jacobian and gradients of gradients take numbers, arrays, "
                        "and lists and tuples of them of one shape")
                result.append(_Structured(type(value)))
                continue
        if kind is None and structured and parameter in names and is_container(value):
            result.append(_Structured(treedef(parameter, value)))
            continue
        if kind is None and structured and parameter not in names and is_object(value) \
                and not (hasattr(value, "__array__") or hasattr(value, "__array_interface__")):
            result.append(_Structured(type(value)))
            continue
        if kind is None:
            if parameter in names and is_container(value):
                raise ArgumentKindError(
                    f"argument {parameter!r} is a {type(value).__name__}: srcdiff.grad, "
                    "srcdiff.value_and_grad and srcdiff.jvp differentiate with respect to "
                    "structures of numbers and arrays; the other transformations take "
                    "numbers and NumPy float arrays")
            if parameter in names:
                raise ArgumentKindError(
                    f"argument {parameter!r} is a {type(value).__name__}: srcdiff "
                    "differentiates with respect to real numbers and NumPy float arrays")
            if hasattr(value, "__array__") or hasattr(value, "__array_interface__"):
                raise ArgumentKindError(
                    f"argument {parameter!r} is a {type(value).__name__}: pass a NumPy "
                    "array (numpy.asarray(...))")
            kind = SCALAR
        elif not kind.is_array and isinstance(value, numbers.Real):
            _REAL_TYPES.add(type(value))
        if kind.is_array and parameter in names and numpy_dtype(value).kind != "f":
            raise ArgumentKindError(
                f"argument {parameter!r} is an array of {value.dtype}: differentiate with "
                "respect to float arrays only (numpy.asarray(x, dtype=float))")
        result.append(kind)
    return tuple(result)
