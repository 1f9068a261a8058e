"""Compiled gradients: ``srcdiff.grad(f, compile="numba")``.

Contract: the code generated for each combination of argument kinds (numbers, NumPy
arrays of each rank), in its typed form (``pipeline.generate(..., typed=True)``: one tape
per saved variable, arrays for the tapes of a top-level loop over ``range``, numeric
placeholders and flags instead of None; then ``nopython_form`` here), handed to
``numba.njit``; the functions it calls are compiled with it (srcdiff's array helpers in
versions written for numba, ``numba_helpers``). numba compiles at the first call for
each combination of argument types. Whatever numba refuses comes back as a
:class:`~srcdiff.errors.CompileError` that quotes the generated line and names the
function, never as numba's own error.

What changes against the plain gradient: numba copies numbers read from outside the
function into the code (checked by value before each call: a change compiles again) and
would copy arrays too (refused); a ``math`` function outside its domain gives nan instead
of raising; where the compiled code raises an arithmetic error (a division by zero), the
plain gradient is run instead and decides (IEEE values, or the function's own error).

numba is optional (``pip install 'srcdiff[numba]'``); this module imports it only when
a compiled gradient is asked for.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
from typing import TYPE_CHECKING, Any, Callable, Protocol, cast

from .errors import CompileError, CompilerMissingError, KindError, SrcdiffError, located
from .expr import runtime_name
from .ir import Function, copy_tree, get_anno

if TYPE_CHECKING:
    from .api import _Key
    from .dependencies import DependencyCheck
    from .pipeline import Generated

ENGINES = ("numba",)  # the values of ``compile=``
# numba.njit's options for compiled gradients (the tests add boundscheck=True: a tape
# array too short would raise IndexError instead of writing past its end)
NJIT_OPTIONS: dict[str, Any] = {}


class _Numba(Protocol):
    """What ``numba_helpers`` uses of the numba module: a typed ``njit``, so that strict
    mypy takes it as a decorator (numba ships partial types: its objects are Any here)."""

    njit: Callable[..., Any]


def require_numba() -> Any:
    """The numba module, or a :class:`CompilerMissingError` naming the extra."""
    try:
        import numba
    except ImportError:
        raise CompilerMissingError(
            "compile='numba' needs numba, which is not installed: pip install "
            "'srcdiff[numba]' (or pip install numba)") from None
    return numba


def check_engine(engine: object) -> None:
    if engine is not None and engine not in ENGINES:
        raise SrcdiffError(f"compile is None or 'numba', not {engine!r}")


# --------------------------------------------------------------------------------------
# The typed form of generated code
# --------------------------------------------------------------------------------------

def _constant_exception(node: ast.Raise) -> bool:
    """``raise E`` or ``raise E(constants)``, E a name: what numba compiles."""
    exception = node.exc
    if isinstance(exception, ast.Call) and not exception.keywords and all(
            isinstance(a, ast.Constant) for a in exception.args):
        exception = exception.func
    return node.cause is None and isinstance(exception, ast.Name)


def nopython_form(function: Function) -> Function:
    """The last rewrites before numba: ``math.log(a, b)`` (which numba does not take) as
    ``math.log(a) / math.log(b)``, CPython's own definition of it, and ``float(v)`` as
    ``v * 1.0`` (numba has no ``float`` of a bool; for a number, the same float); a recursive call is
    refused where the user wrote it (numba cannot type srcdiff's generated
    vector-Jacobian functions); an f-string is refused too (numba prints placeholders
    for its values), and a ``raise`` of anything but an exception made of constants."""
    for node in ast.walk(ast.Module(function.body, type_ignores=[])):
        if isinstance(node, ast.Try):  # numba types few exceptions, and no imports
            raise located(CompileError, "a `try` statement cannot be compiled with numba",
                          node, get_anno(node, "where", function.parsed),
                          hint="use the plain gradient (compile=None), or move the `try` "
                          "out of the function")
        if isinstance(node, ast.Raise) and not _constant_exception(node):
            raise located(CompileError, "numba raises exceptions whose arguments are "
                          "constants only", node, get_anno(node, "where", function.parsed),
                          hint="raise ValueError(\"...\") with a message written out, or "
                          "use the plain gradient (compile=None)")
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.If, ast.For, ast.While)) \
                and any(isinstance(n, ast.JoinedStr) for n in ast.walk(node)):
            # numba prints "<object type:float64>" where the value goes
            raise located(CompileError, "numba does not format f-strings (it prints "
                          "placeholders where the values go)", node, function.parsed,
                          hint="print the values as arguments, print(\"y:\", y), or use "
                               "the plain gradient (compile=None)")
        if isinstance(node, ast.Call) and get_anno(node, "recursive") is not None:
            raise located(CompileError, "a recursive call cannot be compiled with numba",
                          node, function.parsed,
                          hint="use the plain gradient (compile=None) for recursive "
                               "functions")

    class Rewrite(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            if len(node.args) == 1 and not node.keywords and \
                    isinstance(node.func, ast.Name) and node.func.id == "float" and \
                    get_anno(node.func, "runtime", "float") == "float":
                # numba has no float(bool); a number times 1.0 is float() of it exactly
                return ast.copy_location(ast.BinOp(node.args[0], ast.Mult(),
                                                   ast.Constant(1.0)), node)
            if len(node.args) == 2 and not node.keywords and _is_math_log(node.func, function):
                def log(argument: ast.expr) -> ast.Call:
                    return ast.Call(node.func, [argument], [])
                return ast.copy_location(ast.BinOp(log(node.args[0]), ast.Div(),
                                                   log(node.args[1])), node)
            return node
    rewritten = Rewrite()
    body = [rewritten.visit(s) for s in function.body]
    return preallocate(function.replace(body=body))


def _is_math_log(callee: ast.expr, function: Function) -> bool:
    """Whether ``callee`` is ``math.log`` (as ``math.log``, ``m.log``, ``log``...)."""
    import math
    if ast.unparse(callee) == "math.log":
        return True
    try:
        return function.parsed.resolve(callee) is math.log
    except Exception:  # not a name srcdiff resolves (a generated one): not math.log
        return False


def preallocate(function: Function) -> Function:
    """The tapes of a top-level loop over ``range(...)`` (``reverse`` marks them) as
    arrays allocated before the loop, ``len(range(...))`` times its saves of the
    variable long, with a stack pointer: ``tape[top] = v; top += 1`` and ``top -= 1;
    v = tape[top]``, where numba's list appends cost more than the arithmetic they
    save. A tape stays a list unless everything is certain: its variable a float, a
    bool or an int, every push inside that loop and not in a loop within it, nothing but
    pushes and pops of it."""
    from .expr import dotted
    from .reverse import _float_variables, _value_types
    body = function.body
    marked = {}
    for statement in body:
        counter = get_anno(statement, "bounded")
        if counter is not None and isinstance(statement, ast.Assign):
            marked[statement.targets[0].id] = (statement, counter)  # type: ignore[attr-defined]
    if not marked:
        return function
    args = function.args
    parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    # the types of values: a pop gives what its pushes saved (read as ``v = v``); the
    # wrt parameters hold floats (the compiled gradient passes them as floats)
    class PopsAsSelf(ast.NodeTransformer):
        def visit_Assign(self, node: ast.Assign) -> ast.Assign:
            if any(_tape_pop(node, tape) for tape in marked):
                node.value = ast.Name(cast(ast.Name, node.targets[0]).id, ast.Load())
            return node
    typed = [PopsAsSelf().visit(copy_tree(s)) for s in body]
    floats = _float_variables([ast.Assign([ast.Name(p, ast.Store())], ast.Constant(0.0))
                               for p in function.wrt] + typed, function)
    types_ = _value_types(typed, parameters)
    plans = {}
    for tape, (prelude, counter) in marked.items():
        loop = _counted_loop(body, counter)
        uses = [n for s in body for n in ast.walk(s) if isinstance(n, ast.Name) and n.id == tape]
        pushes = [s for s in _outside_loops(loop.body) if _tape_push(s, tape)] if loop else []
        pops = [n for s in body for n in ast.walk(s) if _tape_pop(n, tape)]
        if loop is None or len(uses) != 1 + len(pushes) + len(pops):
            continue  # a push in a loop inside it, or another use: a list
        variables = {_tape_push(s, tape) for s in pushes} | {_tape_pop(s, tape) for s in pops}
        if len(variables) != 1:
            continue
        variable = variables.pop()
        if variable is None:
            continue
        dtype = "float64" if variable in floats else {"int": "int64", "bool": "bool_"}.get(
            types_.get(variable, ""))
        if dtype is None:
            continue
        top = function.namer.fresh(f"{tape}_top")
        function.synthetic.add(top)
        plans[tape] = (prelude, loop, len(pushes), dtype, top)
    if not plans:
        return function

    def name(identifier: str, store: bool = False) -> ast.Name:
        return ast.Name(identifier, ast.Store() if store else ast.Load())

    def allocate(tape: str, length: ast.expr) -> list[ast.stmt]:
        dtype, top = plans[tape][3], plans[tape][4]
        return [ast.Assign([name(tape, True)], ast.Call(dotted("numpy.empty"), [length, dotted(
                    f"numpy.{dtype}")], [])),
                ast.Assign([name(top, True)], ast.Constant(0))]

    def rewrite(statement: ast.stmt) -> list[ast.stmt]:
        if isinstance(statement, ast.Expr):
            for tape in plans:
                variable = _tape_push(statement, tape)
                if variable:
                    top = plans[tape][4]
                    return [ast.Assign([ast.Subscript(name(tape), name(top), ast.Store())],
                                       name(variable)),
                            ast.AugAssign(name(top, True), ast.Add(), ast.Constant(1))]
        if isinstance(statement, ast.Assign):
            for tape in plans:
                variable = _tape_pop(statement, tape)
                if variable:
                    top = plans[tape][4]
                    return [ast.AugAssign(name(top, True), ast.Sub(), ast.Constant(1)),
                            ast.Assign([name(variable, True)],
                                       ast.Subscript(name(tape), name(top), ast.Load()))]
        for tape, (prelude, loop, saves, _, _) in plans.items():
            if statement is prelude:  # bound on every path, even where the loop is not run
                return allocate(tape, ast.Constant(0))
        before = []
        for tape, (prelude, loop, saves, _, _) in plans.items():
            if statement is loop:
                length = ast.Call(runtime_name("len"), [copy_tree(loop.iter)], [])
                before += allocate(tape, ast.BinOp(length, ast.Mult(), ast.Constant(saves))
                                   if saves > 1 else length)
        if isinstance(statement, (ast.If, ast.For, ast.While)):
            statement.body = [r for s in statement.body for r in rewrite(s)]
            statement.orelse = [r for s in statement.orelse for r in rewrite(s)]
        return before + [statement]
    return function.replace(body=[r for s in body for r in rewrite(s)])


def _counted_loop(statements: list[ast.stmt], counter: str) -> ast.For | None:
    """The ``for`` over ``range(...)`` whose body counts with ``counter`` (``counter +=
    1``), at the top level or in branches (never inside another loop), or None."""
    for statement in statements:
        if isinstance(statement, ast.For) and isinstance(statement.iter, ast.Call) and \
                ast.unparse(statement.iter.func).endswith("range") and any(
                    isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name)
                    and s.target.id == counter for s in statement.body):
            return statement
        if isinstance(statement, ast.If):
            found = _counted_loop(statement.body + statement.orelse, counter)
            if found is not None:
                return found
    return None


def _outside_loops(statements: list[ast.stmt]) -> list[ast.stmt]:
    found = []
    for statement in statements:
        found.append(statement)
        if isinstance(statement, ast.If):
            found += _outside_loops(statement.body + statement.orelse)
    return found


def _tape_push(statement: ast.AST, tape: str) -> str | None:
    """``v`` where ``statement`` is ``tape.append(v)``."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Attribute) and call.func.attr == "append" and \
                isinstance(call.func.value, ast.Name) and call.func.value.id == tape and \
                len(call.args) == 1 and isinstance(call.args[0], ast.Name):
            return call.args[0].id
    return None


def _tape_pop(statement: ast.AST, tape: str) -> str | None:
    """``v`` where ``statement`` is ``v = tape.pop()``."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
            isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Attribute) and call.func.attr == "pop" and \
                isinstance(call.func.value, ast.Name) and call.func.value.id == tape and \
                not call.args:
            return statement.targets[0].id
    return None


# --------------------------------------------------------------------------------------
# Compiling, and numba's refusals as srcdiff's errors
# --------------------------------------------------------------------------------------

def jit(function: types.FunctionType, numba: Any = None) -> Any:
    """``numba.njit`` of a generated function, whose callees (plain Python functions it
    reads from its globals or closure: a ``@srcdiff.nondifferentiable`` helper, a
    function srcdiff leaves as a call) are compiled too. numba takes the values of
    globals when it compiles, so the function gets a copy of its globals with the
    compiled callees in place (and fresh cells in its closure)."""
    numba = numba or require_numba()
    done: dict[int, Any] = {}

    helpers = numba_helpers(numba)

    def compiled(value: object, name: str | None = None) -> Any:
        if isinstance(value, types.FunctionType) and value in helpers:
            return helpers[value]
        if isinstance(value, types.FunctionType) and value.__module__ == "srcdiff.runtime":
            raise _helper_refused(function, name or value.__name__, value.__name__)
        if isinstance(value, types.FunctionType):
            if id(value) not in done:
                target = getattr(value, "__wrapped__", value)  # nondifferentiable's wrapper
                done[id(value)] = numba.njit(_with_compiled_callees(target, compiled),
                                             **NJIT_OPTIONS)
            return done[id(value)]
        return value
    return numba.njit(_with_compiled_callees(function, compiled), **NJIT_OPTIONS)


_HELPERS: dict[Callable[..., Any], Any] = {}  # srcdiff.runtime's helpers as numba compiles them, made once


def numba_helpers(numba: _Numba) -> dict[Callable[..., Any], Any]:
    """The helpers of ``srcdiff.runtime`` that generated array code calls, written for
    numba (by the function they stand for): ``unbroadcast`` for operands of one or two
    dimensions (a sum over the axes broadcasting stretched, or a copy spread over those
    where the adjoint is smaller), ``unbroadcast_product`` (``unbroadcast`` of the
    product), ``gradient_like`` (a new array of the
    parameter's shape and dtype), ``number_like`` (a number's derivative in its
    dtype), ``broadcast_like`` (``numpy.broadcast_to``: numba's code is float64) and
    ``expit`` (numba's arithmetic warns of no overflow). Another helper (``scatter`` for indexing...) is left
    to numba, which refuses it: a ``CompileError``."""
    if _HELPERS:
        return _HELPERS
    # numba's objects as Any (it ships partial types); overload(f) a typed decorator
    nb: Any
    overload: Callable[[Callable[..., Any]], Callable[[Callable[..., Any]], Any]]
    import numpy
    from numba import types as nb
    from numba.extending import overload

    from . import runtime

    @numba.njit
    def fit1(g: Any, like: Any) -> Any:
        n, m = like.shape[0], g.shape[0]
        if n == m:
            return numpy.ascontiguousarray(g)
        out = numpy.zeros(n)
        if n == 1:
            out[0] = g.sum()
            return out
        if m == 1:
            out[:] = g[0]
            return out
        raise ValueError("operands could not be broadcast together")

    @numba.njit
    def fit2(g: Any, like: Any) -> Any:
        rows, columns = like.shape
        if g.shape[0] == rows and g.shape[1] == columns:
            return numpy.ascontiguousarray(g)
        for axis in range(2):
            if g.shape[axis] != like.shape[axis] and g.shape[axis] != 1 and \
                    like.shape[axis] != 1:
                raise ValueError("operands could not be broadcast together")
        out = numpy.zeros((rows, columns))
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                value = g[i, j]
                for a in range(rows if g.shape[0] == 1 else 1):
                    r = a if g.shape[0] == 1 else (0 if rows == 1 else i)
                    for b in range(columns if g.shape[1] == 1 else 1):
                        c = b if g.shape[1] == 1 else (0 if columns == 1 else j)
                        out[r, c] += value
        return out

    def unbroadcast(gradient: Any, like: Any) -> Any:
        raise NotImplementedError  # numba compiles the overload below

    # (the overloads' types as comments: numba refuses an overload whose signature, its
    # annotations included, differs from that of the implementation it returns)
    @overload(unbroadcast)
    def _unbroadcast(gradient, like):  # type: (Any, Any) -> Callable[..., Any] | None
        if not isinstance(like, nb.Array):
            if isinstance(gradient, nb.Array):
                return lambda gradient, like: gradient.sum()
            return lambda gradient, like: gradient
        if not isinstance(gradient, nb.Array) or gradient.ndim < like.ndim:
            return lambda gradient, like: gradient
        pairs = {(1, 1): lambda gradient, like: fit1(gradient, like),
                 (2, 1): lambda gradient, like: fit1(gradient.sum(axis=0), like),
                 (2, 2): lambda gradient, like: fit2(gradient, like),
                 (3, 2): lambda gradient, like: fit2(gradient.sum(axis=0), like)}
        return pairs.get((gradient.ndim, like.ndim))  # None: numba refuses the call

    def gradient_like(gradient: Any, like: Any, copy: Any) -> Any:
        raise NotImplementedError

    @overload(gradient_like)
    def _gradient_like(gradient, like, copy):  # type: (Any, Any, Any) -> Callable[..., Any] | None
        if not isinstance(like, nb.Array):
            return None
        if isinstance(gradient, nb.Array):
            return lambda gradient, like, copy: numpy.broadcast_to(
                gradient, like.shape).astype(like.dtype)
        return lambda gradient, like, copy: numpy.full(like.shape, gradient).astype(
            like.dtype)

    def number_like(number: Any, like: Any) -> Any:
        raise NotImplementedError

    @overload(number_like)
    def _number_like(number, like):  # type: (Any, Any) -> Callable[..., Any] | None
        if isinstance(like, nb.Float) and like.bitwidth == 32:
            return lambda number, like: numpy.float32(number)
        return lambda number, like: number * 1.0  # float(), as for the plain float() above

    def broadcast_like(adjoint: Any, like: Any) -> Any:
        raise NotImplementedError

    @overload(broadcast_like)
    def _broadcast_like(adjoint, like):  # type: (Any, Any) -> Callable[..., Any] | None
        return lambda adjoint, like: numpy.broadcast_to(adjoint, numpy.shape(like))

    @numba.njit
    def unbroadcast_(gradient: Any, like: Any) -> Any:
        return unbroadcast(gradient, like)

    @numba.njit
    def unbroadcast_product_(a: Any, b: Any, like: Any) -> Any:
        return unbroadcast(a * b, like)  # what the helper is, without its einsum

    @numba.njit
    def gradient_like_(gradient: Any, like: Any, copy: Any) -> Any:
        return gradient_like(gradient, like, copy)

    @numba.njit
    def number_like_(number: Any, like: Any) -> Any:
        return number_like(number, like)

    @numba.njit
    def broadcast_like_(adjoint: Any, like: Any) -> Any:
        return broadcast_like(adjoint, like)

    @numba.njit
    def expit_(x: Any) -> Any:
        return 1.0 / (1.0 + numpy.exp(-x))

    _HELPERS.update({runtime.expit: expit_, runtime.unbroadcast: unbroadcast_,
                     runtime.unbroadcast_product: unbroadcast_product_,
                     runtime.gradient_like: gradient_like_,
                     runtime.number_like: number_like_, runtime.broadcast_like: broadcast_like_})
    return _HELPERS


def _with_compiled_callees(function: types.FunctionType,
                           compiled: Callable[..., Any]) -> types.FunctionType:
    code = function.__code__
    names = set(code.co_names)
    for constant in code.co_consts:  # nested code objects read globals too
        if isinstance(constant, types.CodeType):
            names |= set(constant.co_names)
    scope = function.__globals__
    replaced = {n: compiled(scope[n]) for n in names
                if n in scope and isinstance(scope[n], types.FunctionType)}
    cells = function.__closure__ or ()
    new_cells = []
    for free, cell in zip(code.co_freevars, cells):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell: a recursive function's own, being made
            new_cells.append(cell)
            continue
        new_cells.append(types.CellType(compiled(value, free))
                         if isinstance(value, types.FunctionType) else cell)
    if not replaced and all(a is b for a, b in zip(new_cells, cells)):
        return function
    scope = {**scope, **replaced} if replaced else scope
    result = types.FunctionType(code, scope, function.__name__, function.__defaults__,
                                tuple(new_cells) or None)
    result.__kwdefaults__ = function.__kwdefaults__
    result.__qualname__ = function.__qualname__
    result.__module__ = function.__module__
    result.__doc__ = function.__doc__
    return result


def _helper_refused(function: types.FunctionType, name: str, helper: str) -> CompileError:
    """A helper of array code numba has no version of (``scatter`` for ``x[i]``...),
    refused at the generated line that calls it."""
    import linecache
    filename = function.__code__.co_filename
    lines = linecache.getlines(filename)
    lineno = next((i + 1 for i, line in enumerate(lines) if f"{name}(" in line), 1)
    return located_generated(
        f"srcdiff's helper {helper} (array code) is not compiled with numba yet "
        f"(in the gradient {function.__name__})", filename, lineno,
        hint="compiled array code covers elementwise operations, reductions, @ and "
             "broadcasting of one or two dimensions; compile=None runs this gradient as "
             "plain Python")


def compile_error(error: Exception, func: Callable[..., Any], what: str) -> CompileError:
    """numba's refusal of the gradient of ``func`` (``what``: its generated name), as a
    located :class:`CompileError`: the generated line numba refused, quoted, with
    numba's reason in a few words."""
    loc = getattr(error, "loc", None)
    filename = getattr(loc, "filename", None) or "<generated>"
    lineno = getattr(loc, "line", None) or 1
    # numba's message: its first lines after the pipeline's name say what failed
    reasons: list[str] = []
    for line in str(error).splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if line.startswith(("During:", "File ", "There are")) or len(reasons) == 3:
            break
        if line and not line.startswith("Failed in"):
            reasons.append(line)
    origin = ""
    try:
        origin = f" ({inspect.getsourcefile(func)}:{func.__code__.co_firstlineno})"
    except TypeError:
        pass
    return located_generated(
        f"numba cannot compile {what}, the gradient of {func.__qualname__}{origin}: "
        + " ".join(reasons), filename, lineno,
        hint="outside numba's nopython subset; compile=None (the default) runs this "
             "gradient as plain Python")


def located_generated(message: str, filename: str, lineno: int, hint: str) -> CompileError:
    import linecache
    line = linecache.getline(filename, lineno).rstrip("\n")
    col = len(line) - len(line.lstrip())
    return CompileError(message, filename=filename, lineno=lineno, col=col,
                        source_line=line, hint=hint)


# --------------------------------------------------------------------------------------
# The function users call
# --------------------------------------------------------------------------------------

def compiled_entry_point(func: Callable[..., Any], names: tuple[str, ...], as_tuple: bool,
                         with_value: bool, mode: str, name: str,
                         plain: Callable[..., Any]) -> Callable[..., Any]:
    """The compiled gradient of ``func`` (see the module's docstring). ``plain``: the
    uncompiled gradient with the same ``wrt``, run where the compiled code raises an
    arithmetic error. Code is generated and compiled for each combination of argument
    kinds (numbers, NumPy arrays of each rank; numbers only for ``jvp``), as for plain
    gradients; a ``wrt`` number is passed as a float, as the plain gradient computes
    with it."""
    numba = require_numba()
    from .api import _IEEE_ERRORS, _REAL_TYPES, _kinds, _numeric_defaults
    from .kinds import SCALAR
    from .pipeline import generate
    forward = mode == "forward"
    signature = inspect.signature(func)
    parameters = list(signature.parameters)
    count = len(parameters)
    extra = len(names) if forward else 0
    wrt_positions = [parameters.index(n) for n in names]
    floats = wrt_positions + list(range(count, count + extra))  # passed as floats
    scalar_key = (SCALAR,) * count
    specialisations: dict[_Key, tuple[Generated, Any]] = {}  # kinds -> (generated code, numba's function)
    state: dict[str, Any] = {"check": None, "dispatcher": None}  # the scalar code's
    deferred: list[SrcdiffError] = []  # why there is no scalar code
    # code for arrays by the arguments' types (and arrays' dtypes and ranks), where every
    # argument is given by position and none needed converting: no binding per call
    by_types: dict[tuple[object, ...], tuple[Generated, Any]] = {}
    import numpy
    ndarray = numpy.ndarray

    def specialise(key: _Key) -> tuple[Generated, Any]:
        entry = specialisations.get(key)
        if entry is not None and (entry[0].check is None or entry[0].check()):
            return entry
        kinds = {p: k for p, k in zip(parameters, key) if k.is_array}
        if kinds and forward:
            raise CompileError(
                f"{name} is compiled for numbers; {', '.join(kinds)} would be NumPy arrays",
                filename="<call>", lineno=1, col=0, source_line="",
                hint="use srcdiff.jvp without compile= for arrays")
        if not kinds and deferred:
            raise deferred[0]
        generated = generate(func, names, name=name, with_value=with_value,
                             as_tuple=as_tuple, kinds=kinds, mode=mode, typed=True)
        # (a compiled gradient's check is only called: its ``test``, which the plain
        # gradient's fast wrapper inlines, is never read)
        generated.check = cast("DependencyCheck | None", _with_frozen_values(generated, func))
        entry = specialisations[key] = (generated, jit(generated.function, numba))
        if key == scalar_key:
            state.update(check=generated.check, dispatcher=entry[1])
        setattr(call, "__wrapped__", generated.function)
        setattr(call, "__srcdiff__", generated)
        setattr(call, "numba_function", entry[1])
        return entry

    real = _REAL_TYPES
    # the fast path: numbers by position, trailing numeric defaults left out (reverse
    # mode; forward mode: every argument and tangent given), wrt arguments floats
    low, fill = _numeric_defaults(signature) if not forward else (count, ())
    low, high = low + extra, count + extra

    def call(*args: Any, **kwargs: Any) -> Any:
        dispatcher = state["dispatcher"]
        given = len(args)
        if dispatcher is not None and not kwargs and low <= given <= high:
            values = args + fill[given - low:] if given < high else args
            for value in values:
                if type(value) not in real:
                    break
            else:
                for index in floats:
                    if type(values[index]) is not float:
                        break
                else:
                    check = state["check"]
                    if check is None or check():
                        return run(dispatcher, values, args, kwargs)
        if not kwargs and given == high:  # every argument given: arrays' code by types
            shape = tuple((type(a), a.dtype.char, a.ndim) if type(a) is ndarray else type(a)
                          for a in args)
            entry = by_types.get(shape)
            if entry is not None and (entry[0].check is None or entry[0].check()):
                return run(entry[1], args, args, kwargs)
        values, key = arguments(args, kwargs)
        entry = specialise(key)
        if not kwargs and given == high and any(k.is_array for k in key) and all(
                a is v for a, v in zip(args, values)):  # as given: no float() applied
            by_types[tuple((type(a), a.dtype.char, a.ndim) if type(a) is ndarray else type(a)
                           for a in args)] = entry
        return run(entry[1], values, args, kwargs)

    def run(dispatcher: Any, values: tuple[Any, ...], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
        try:
            return dispatcher(*values)
        except numba.core.errors.NumbaError as error:
            raise compile_error(error, func, name) from None
        except _IEEE_ERRORS:
            return plain(*args, **kwargs)
        except Exception as error:
            # raised while compiling (numba fails on some inputs with errors of its own
            # internals), not by the compiled code: no code for these types came of it
            signature = tuple(numba.typeof(v) for v in values)
            if signature in dispatcher.overloads:
                raise
            generated = getattr(dispatcher.py_func, "__name__", name)
            raise CompileError(
                f"numba failed to compile {generated}, the gradient of {func.__qualname__} "
                f"({type(error).__name__} inside numba: {error})",
                filename=dispatcher.py_func.__code__.co_filename, lineno=1, col=0,
                source_line="", hint="compile=None runs this gradient as plain Python") \
                from None

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], _Key]:
        """Every argument by position (defaults applied; wrt numbers as floats), and the
        kinds of the function's arguments."""
        tangents: tuple[Any, ...] = ()
        if forward:
            if len(args) < extra:
                raise TypeError(f"{name}() takes the function's arguments, then {extra} "
                                f"tangent(s) (for {', '.join(names)})")
            args, tangents = args[:len(args) - extra], args[len(args) - extra:]
        key = _kinds(signature, parameters, names, args, kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = [bound.arguments[p] for p in parameters] + list(tangents)
        for index, value in enumerate(values):
            if (index >= count or not key[index].is_array) and type(value) not in real \
                    and not _is_real(value):
                who = parameters[index] if index < count else f"tangent {index - count + 1}"
                raise CompileError(
                    f"argument {who!r} is a {type(value).__name__}: compiled gradients take "
                    "numbers and NumPy arrays", filename="<call>", lineno=1, col=0,
                    source_line="", hint="use the plain gradient (compile=None)")
        for index in floats:
            if index >= count or not key[index].is_array:
                values[index] = float(values[index])
        return tuple(values), key

    try:
        specialise(scalar_key)
    except KindError as error:  # the function needs arrays: compiled at the first call
        deferred.append(error)
    call.__name__ = call.__qualname__ = name
    call.__module__ = func.__module__
    generated = getattr(call, "__srcdiff__", None)
    call.__doc__ = generated.function.__doc__ if generated is not None else (
        f"Gradient of {func.__name__}, compiled by numba for the kinds of arguments of "
        "each call (it needs arrays).")
    if generated is None:
        setattr(call, "__srcdiff__", None)

    def specialise_for(*a: Any, **k: Any) -> Generated:
        return specialise(arguments(a, k)[1])[0]
    # (setattr: attributes a function's type does not declare)
    setattr(call, "__srcdiff_specialise__", specialise_for)
    return call


_GONE = object()


def _with_frozen_values(generated: Generated,
                        func: Callable[..., Any]) -> Callable[[], bool] | None:
    """``generated``'s dependency test, and that each number it reads from outside the
    function (a global, a closure's cell, a module's attribute) still has the value it
    had: numba copies such values into the code when it compiles, where a plain gradient
    reads them live. A changed value generates and compiles again. An array read so is
    refused: numba would copy it too, and a change made to it in place could not be seen
    without comparing it whole at each call."""
    import numbers

    import numpy
    frozen: list[tuple[str, Any, str, Any]] = []
    for kind, where, name, value in generated.dependencies:
        if kind not in ("global", "cell", "attribute"):
            continue
        if isinstance(value, numpy.ndarray):
            raise CompileError(
                f"{func.__qualname__} reads the array {name!r} from outside the function; "
                "numba would copy it into the compiled code, and a change to it would not "
                "be seen", filename=inspect.getsourcefile(func) or "<unknown>",
                lineno=func.__code__.co_firstlineno, col=0,
                hint=f"pass {name} as an argument, or use the plain gradient (compile=None)")
        if isinstance(value, numbers.Number):
            frozen.append((kind, where, name, value))
    check = generated.check
    if not frozen:
        return check

    def current(kind: str, where: Any, name: str) -> object:
        if kind == "global":
            return where.get(name, _GONE)
        if kind == "attribute":
            return getattr(where, name, _GONE)
        try:
            return where.cell_contents
        except ValueError:
            return _GONE

    def holds() -> bool:
        for kind, where, name, value in frozen:
            now = current(kind, where, name)
            if now is not value and not (type(now) is type(value) and now == value):
                return False
        return check is None or check()
    return holds


def _is_real(value: object) -> bool:
    import numbers
    return isinstance(value, numbers.Real)
