"""IEEE arithmetic for the points where a derivative is infinite or undefined.

Python's float arithmetic raises where IEEE 754 returns an infinity or a NaN: ``1.0 /
0.0``, ``0.0 ** -0.5``, ``math.log(0.0)``, ``math.exp(1000.0)``. At such points the
function itself may be fine while its derivative is not (``math.sqrt`` at 0, ``x ** 0.5``,
``math.hypot(0, 0)``): JAX and PyTorch then return ``inf`` or ``nan``, and so does srcdiff.
A gradient runs its plain generated code; when that raises one of these errors and the
function itself does not, it runs a variant in which ``ieee`` rewrites every division,
power and ``math`` call through the functions below (which give what the plain operation
gives wherever it does not raise), and returns what IEEE arithmetic gives.

>>> div(1.0, 0.0), div(-2.0, 0.0), power(0.0, -0.5), function(math.log, 0.0)
(inf, -inf, inf, -inf)
>>> import math; math.isnan(div(0.0, 0.0)) and math.isnan(function(math.log, -1.0))
True
"""

from __future__ import annotations

import ast
import math
from typing import Any, Callable

from .ir import Function, get_anno, name_id

INF = float("inf")
NAN = float("nan")
# math functions whose limit at the edge of their domain is -inf (log(0) = -inf).
_LOGARITHMS = {math.log, math.log2, math.log10}


def div(a: Any, b: Any) -> Any:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)


def floordiv(a: Any, b: Any) -> Any:
    try:
        return a // b
    except ZeroDivisionError:
        return NAN


def mod(a: Any, b: Any) -> Any:
    try:
        return a % b
    except ZeroDivisionError:
        return NAN


def _odd_integer(b: Any) -> bool:
    return float(b).is_integer() and int(b) % 2 == 1


def power(a: Any, b: Any) -> Any:
    try:
        result = a ** b
    except ZeroDivisionError:  # 0 ** negative
        return -INF if _odd_integer(b) and math.copysign(1.0, a) < 0 else INF
    except OverflowError:
        return -INF if a < 0 and _odd_integer(b) else INF
    return NAN if isinstance(result, complex) else result


def function(f: Callable[..., Any], *args: Any) -> Any:
    try:
        return f(*args)
    except ValueError:
        if f in _LOGARITHMS and args and args[0] == 0:
            return -INF
        if f is math.log1p and args and args[0] == -1:
            return -INF
        return NAN
    except OverflowError:
        return INF
    except ZeroDivisionError:
        return INF


HELPERS = {"Div": "div", "FloorDiv": "floordiv", "Mod": "mod", "Pow": "power"}


def ieee(function_: Function) -> Function:
    """``function_`` with every division, power and ``math`` call through this module."""
    import types
    parsed = function_.parsed
    names: dict[str, str] = {}

    def helper(name: str) -> ast.Name:
        if name not in names:
            names[name] = function_.namer.fresh("ieee_" + name)
            parsed.inject(names[name], types.CellType(globals()[name]), ("ieee", name))
        return ast.Name(names[name], ast.Load())

    class Rewrite(ast.NodeTransformer):
        def visit_Try(self, node: ast.Try) -> ast.Try:
            return node  # run as written: it may count on the exceptions Python raises

        def visit_Raise(self, node: ast.Raise) -> ast.Raise:
            return node  # run as written

        def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
            self.generic_visit(node)
            op = type(node.op).__name__
            if op in HELPERS:
                return ast.copy_location(ast.Call(helper(HELPERS[op]), [node.left, node.right], []), node)
            return node

        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            func = node.func
            origin = parsed.origins.get(func.id) if isinstance(func, ast.Name) else None
            if origin is not None and origin[0] in ("vjp", "jvp"):  # a recursive callee's:
                from .pipeline import vjp_cell                      # its variant
                kind, callee, wrt, kinds = origin
                name = function_.namer.fresh(name_id(func) + "_ieee")
                mode = "forward" if kind == "jvp" else "reverse"
                parsed.inject(name, vjp_cell(callee, wrt, kinds, ieee=True, mode=mode),
                              (kind, callee, wrt, kinds))
                node.func = ast.Name(name, ast.Load())
                return node
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and get_anno(func.value, "runtime") == "math" \
                    or getattr(get_anno(node, "callee"), "__module__", None) == "math":
                return ast.copy_location(ast.Call(helper("function"), [func] + node.args, []), node)
            return node

    body = [Rewrite().visit(statement) for statement in function_.body]
    ast.fix_missing_locations(ast.Module(body, []))
    return function_.replace(body=body)
