"""Explain a gradient the way the backpropagation lecture does, for your own function.

``explain(f, *args, wrt=...)`` runs ``f``'s three-address form at the given point and
records the computational graph it builds: each primitive with its value, its local
derivatives (the rule table's partials, evaluated), the backward sweep accumulating each
adjoint, and the chain-rule products along every path from an input to the output.
Loops and branches are followed as they run at that point (unrolled). Values are exact
fractions while the arithmetic stays rational (integer or simple rational inputs),
floats otherwise.

>>> import math
>>> def h(x):
...     f = x ** 2
...     g = math.log(f)
...     return g + 1
>>> print(explain(h, 3).chain_rule())
∂h/∂x = 1 × 1/9 × 6 = 2/3
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, cast

from .analyse import arguments, rule_of
from .errors import SrcdiffError
from .expr import Code, render
from .fence import fence
from .ir import Function, copy_tree, get_anno, name_id, walk
from .lower import lower
from .normalize import normalize
from .parse import UNRESOLVED, parse
from .rules import Rule

if TYPE_CHECKING:
    from .api import Wrt

_INTEGER_CALLS = {range, enumerate, zip, reversed, len, math.factorial, math.comb,
                  math.perm, math.gcd}


def exact(value: Any) -> Any:
    """``value`` as a Fraction when it is a simple rational, else unchanged."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        fraction = Fraction(value)
        if fraction.denominator > 10 ** 6:
            return value
        return fraction
    return Fraction(value)


def show(value: object) -> str:
    """``2/3``, ``9``, ``2.19722``: how the explanation prints a number."""
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class Edge:
    source: int          # the operand's node
    partial: Any         # the local derivative's value
    formula: str         # the rule, as code: "1 / f"
    operand: str         # the operand's name in the three-address form


@dataclass
class Node:
    id: int
    label: str           # the variable, numbered when a loop assigns it again: "y (3)"
    statement: str       # "g = math.log(f)"; "" for an input
    value: object
    edges: list[Edge] = field(default_factory=list)
    adjoint: Any = 0


class _Break(Exception):
    pass


@dataclass
class Explanation:
    """What ``explain`` found; ``str()`` gives the text, ``to_dot()`` the graph."""

    name: str
    point: dict[str, Any]
    wrt: tuple[str, ...]
    nodes: list[Node]
    output: Node | None
    inputs: dict[str, Node]         # parameter -> its node
    backward: list[str]   # the backward sweep, one accumulation per line
    gradient: dict[str, Any]       # parameter -> exact or float value
    truncated: int = 0    # rows not shown
    max_rows: int = 200

    # -- text ----------------------------------------------------------------------
    def chain_rule(self) -> str:
        """Per input: the product of local derivatives along each path, summed."""
        lines = []
        for parameter in self.wrt:
            products, cut = self._paths(parameter)
            total = show(self.gradient[parameter])
            symbol = f"∂{self.output.label if self.output else self.name}/∂{parameter}"
            if not products:
                lines.append(f"{symbol} = 0 (no path from {parameter} to the output)")
            elif len(products) == 1 and len(products[0]) == 1:
                lines.append(f"{symbol} = {total}")
            elif len(products) == 1:
                lines.append(f"{symbol} = {' × '.join(products[0])} = {total}")
            else:
                terms = " + ".join(f"({' × '.join(p)})" for p in products)
                lines.append(f"{symbol} = {terms} = {total}")
            if cut:
                lines.append(f"    ({cut} more paths not shown)")
        return "\n".join(lines)

    def _paths(self, parameter: str, limit: int = 20,
               longest: int = 12) -> tuple[list[list[str]], int]:
        """Up to ``limit`` paths from the output to ``parameter`` as lists of factors
        (long ones abbreviated), and how many more there are."""
        start = self.inputs.get(parameter)
        if start is None or self.output is None:
            return [], 0
        by_id = {node.id: node for node in self.nodes}
        count = {start.id: 1}  # paths from each node down to the input
        for node in self.nodes:  # the trace order is topological
            if node.id != start.id:
                count[node.id] = sum(count.get(e.source, 0) for e in node.edges)
        found: list[list[str]] = []
        stack: list[tuple[Node, list[str]]] = [(self.output, [])]
        while stack and len(found) < limit:
            node, factors = stack.pop()
            if node.id == start.id:
                if len(factors) > longest:
                    factors = factors[:3] + [f"… ({len(factors) - 4} more factors) …"] + factors[-1:]
                found.append(factors or ["1"])
                continue
            for edge in reversed(node.edges):
                if count.get(edge.source, 0):
                    stack.append((by_id[edge.source], factors + [show(edge.partial)]))
        return found, count.get(self.output.id, 0) - len(found)

    def __str__(self) -> str:
        point = ", ".join(f"{k} = {show(v)}" for k, v in self.point.items())
        lines = [f"{self.name}({', '.join(self.point)}) at {point}, "
                 f"differentiated with respect to {', '.join(self.wrt)}", ""]
        computed = [n for n in self.nodes if n.statement]
        width = max((len(n.statement) for n in computed), default=0)
        lines.append("forward: the three-address form, with values")
        for node in computed[:self.max_rows]:
            label = f"  [{node.label}]" if " (" in node.label else ""
            lines.append(f"    {node.statement.ljust(width)}  = {show(node.value)}{label}")
        lines.append("")
        lines.append("local derivatives: the rule of each primitive, evaluated")
        for node in computed[:self.max_rows]:
            parts = [f"∂{node.label}/∂{e.operand} = " + (f"{e.formula} = " if e.formula != show(e.partial) else "")
                     + show(e.partial) for e in node.edges]
            lines.append(f"    {node.statement.ljust(width)}  " + "; ".join(parts))
        lines.append("")
        lines.append("backward: adjoints accumulated from the output back")
        lines += [f"    {row}" for row in self.backward[:self.max_rows]]
        if self.truncated or len(computed) > self.max_rows:
            hidden = max(self.truncated, len(computed) - self.max_rows)
            lines.append(f"    ... {hidden} more rows not shown (pass max_rows= to see them)")
        lines.append("")
        lines.append("chain rule: the product of local derivatives along each path")
        lines += [f"    {line}" for line in self.chain_rule().splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:  # the text table in a notebook without Graphviz
        return str(self)

    # -- the graph -------------------------------------------------------------------
    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language: primitives with values and adjoints,
        edges labelled with local derivatives."""
        def quote(text: object) -> str:
            escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
            return '"' + escaped.replace("\n", "\\n") + '"'
        lines = [f"digraph {quote(self.name)} {{", "    rankdir=LR;",
                 '    node [shape=box, style=rounded, fontname="Helvetica"];',
                 '    edge [fontname="Helvetica", fontsize=10];']
        for node in self.nodes:
            title = node.statement or f"{node.label} (input)"
            label = f"{title}\nvalue {show(node.value)}\nadjoint {show(node.adjoint)}"
            shape = ', shape=ellipse' if not node.statement else (
                ', peripheries=2' if node is self.output else '')
            lines.append(f"    n{node.id} [label={quote(label)}{shape}];")
        for node in self.nodes:
            for edge in node.edges:
                label = f"∂{node.label}/∂{edge.operand} = {show(edge.partial)}"
                lines.append(f"    n{edge.source} -> n{node.id} [label={quote(label)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_svg(self) -> str:
        """The graph drawn by Graphviz's ``dot`` program (which must be installed)."""
        dot = shutil.which("dot")
        if dot is None:
            raise SrcdiffError("drawing the graph needs Graphviz's `dot` program, which is "
                               "not installed (apt-get install graphviz); to_dot() gives "
                               "the DOT text")
        result = subprocess.run([dot, "-Tsvg"], input=self.to_dot(), capture_output=True,
                                text=True, timeout=60)
        if result.returncode != 0:
            raise SrcdiffError(f"dot failed: {result.stderr.strip()}")
        return result.stdout

    def _repr_svg_(self) -> str | None:  # Jupyter: the picture when Graphviz is there
        return self.to_svg() if shutil.which("dot") else None


def explain(func: Callable[..., Any], *args: Any, wrt: Wrt = 0, max_rows: int = 200,
            **kwargs: Any) -> Explanation:
    """The lecture's view of ``func``'s gradient at ``args``; ``print`` it, or draw it
    with ``.to_dot()`` / ``.to_svg()``."""
    from .api import _wrt_names
    names = _wrt_names(func, wrt)
    parsed = fence(parse(func))
    function = lower(normalize(parsed))
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    from .kinds import is_ndarray
    for name, value in bound.arguments.items():
        if is_ndarray(value):
            raise SrcdiffError(f"explain works on numbers; {name!r} is an array (explain "
                               "one element of the computation, or use srcdiff.source)")
    return _Interpreter(function, names, max_rows).run(dict(bound.arguments))


class _Interpreter:
    """Runs the three-address form on concrete values, recording the graph.

    State: ``env`` maps each variable to ``(value, node id or None)``; a variable has a
    node when its value depends on a ``wrt`` parameter.
    """

    def __init__(self, function: Function, wrt: tuple[str, ...], max_rows: int) -> None:
        self.function = function
        self.parsed = function.parsed
        self.wrt = wrt
        self.max_rows = max_rows
        self.nodes: list[Node] = []
        self.env: dict[str, tuple[Any, int | None]] = {}
        self.counts: dict[str, int] = {}

    def run(self, arguments: dict[str, Any]) -> Explanation:
        inputs = {}
        for name, value in arguments.items():
            value = exact(value)
            if name in self.wrt:
                node = self.new_node(name, "", value)
                inputs[name] = node
                self.env[name] = (value, node.id)
            else:
                self.env[name] = (value, None)
        output = self.block(self.function.body)
        output_node = self.nodes[output[1]] if output and output[1] is not None else None
        backward, gradient = self.backward(output_node, inputs)
        useful = self.reaching(output_node)
        nodes = [n for n in self.nodes if n.id in useful or not n.statement]
        return Explanation(self.function.name, {k: exact(v) for k, v in arguments.items()},
                           self.wrt, nodes, output_node, inputs, backward, gradient,
                           max(0, len(backward) - self.max_rows), self.max_rows)

    def new_node(self, name: str, statement: str, value: object) -> Node:
        count = self.counts[name] = self.counts.get(name, 0) + 1
        label = name if count == 1 else f"{name} ({count})"
        node = Node(len(self.nodes), label, statement, value)
        self.nodes.append(node)
        return node

    # -- running the program ----------------------------------------------------------
    def block(self, statements: list[ast.stmt]) -> tuple[Any, int | None] | None:
        for statement in statements:
            result = self.statement(statement)
            if result is not None:
                return result
        return None

    def statement(self, statement: ast.stmt) -> tuple[Any, int | None] | None:
        if isinstance(statement, ast.Return):
            return self.atom(cast(ast.expr, statement.value))  # lowered: never a bare return
        if isinstance(statement, ast.Assign):
            self.assign(statement)
        elif isinstance(statement, ast.If):
            taken = self.evaluate(statement.test)[0]
            return self.block(statement.body if taken else statement.orelse)
        elif isinstance(statement, ast.For):
            iterable = self.evaluate(statement.iter)[0]

            def iterations() -> Iterator[None]:
                for item in iterable:
                    self.bind_target(statement.target, item)
                    yield
            return self.loop(iterations(), statement.body)
        elif isinstance(statement, ast.While):
            def iterations() -> Iterator[None]:
                while self.atom(statement.test)[0]:
                    yield
            return self.loop(iterations(), statement.body)
        elif isinstance(statement, ast.Break):
            raise _Break
        elif isinstance(statement, ast.Try):
            self.opaque(statement)
        return None  # print(...) and assert are not run again here

    def opaque(self, statement: ast.Try) -> None:
        """A ``try`` runs as written; the names it assigns hold constants after it."""
        namespace: dict[str, Any] = {"__builtins__": builtins}
        for name in get_anno(statement, "reads", ()):
            if name in self.env:
                namespace[name] = self.env[name][0]
            elif self.parsed.lookup(name) is not UNRESOLVED:
                namespace[name] = self.parsed.lookup(name)
        module = ast.fix_missing_locations(ast.Module([statement], type_ignores=[]))
        exec(compile(module, "<explain>", "exec"), namespace)
        for name in get_anno(statement, "writes", ()):
            if name in namespace:
                self.env[name] = (exact(namespace[name]), None)

    def loop(self, iterations: Iterator[None],
             body: list[ast.stmt]) -> tuple[Any, int | None] | None:
        """Run ``body`` once per step of ``iterations``, until it returns or breaks."""
        try:
            for _ in iterations:
                result = self.block(body)
                if result is not None:
                    return result
        except _Break:
            pass
        return None

    def bind_target(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Tuple):
            for element, item in zip(target.elts, value):
                self.bind_target(element, item)
        else:
            self.env[name_id(target)] = (exact(value), None)

    def atom(self, node: ast.expr) -> tuple[Any, int | None]:
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            value = self.parsed.lookup(node.id)
            return (exact(value), None)
        if isinstance(node, ast.Constant):
            return (exact(node.value), None)
        if isinstance(node, ast.UnaryOp):  # a negative literal
            return (-exact(cast(ast.Constant, node.operand).value), None)
        return (exact(self.parsed.resolve(node)), None)  # math.pi

    def evaluate(self, value: ast.expr) -> tuple[Any, list[tuple[ast.expr, Any, int | None]]]:
        """``(result, [(atom, value, node id)])`` of one primitive application."""
        if isinstance(value, (ast.Name, ast.Constant, ast.Attribute)) or (
                isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant)
                and isinstance(value.op, ast.USub)):
            found: Any = self.atom(value)  # then each operand's, below
            return found[0], [(value, found[0], found[1])]
        if isinstance(value, (ast.Tuple, ast.List)):
            return tuple(self.atom(e)[0] for e in value.elts), []
        if isinstance(value, ast.Call) and get_anno(value, "recursive") is not None:
            raise SrcdiffError("explain does not follow recursive calls yet")
        atoms = arguments(value) if not isinstance(value, ast.Compare) else \
            [value.left, *value.comparators]
        found = [self.atom(a) for a in atoms]
        values = [v for v, _ in found]
        code = ast.Expression(_with_placeholders(value, len(values)))
        ast.fix_missing_locations(code)
        namespace = {f"_{i}": v for i, v in enumerate(values)}
        if isinstance(value, ast.Call):
            callee = get_anno(value, "callee")
            if callee in _INTEGER_CALLS:
                values = [_as_int(v) for v in values]
            result = callee(*values)
        else:
            result = eval(compile(code, "<explain>", "eval"), {"__builtins__": {}}, namespace)
        return exact(result), [(a, v, n) for a, (v, n) in zip(atoms, found)]

    def assign(self, statement: ast.Assign) -> None:
        target = name_id(statement.targets[0])
        value = statement.value
        result, operands = self.evaluate(value)
        carried = [(a, v, n) for a, v, n in operands if n is not None]
        rule = None if isinstance(value, ast.Name) else rule_of(value)
        if not carried or (rule is None and not isinstance(value, ast.Name)):
            self.env[target] = (result, None)
            return
        node = self.new_node(target, ast.unparse(statement), result)
        if isinstance(value, ast.Name):
            node.edges.append(Edge(carried[0][2], 1, "1", value.id))
        else:
            assert isinstance(rule, Rule)  # one returned above; numbers only: a scalar rule
            formulas = rule.partials_at(tuple(_code_or_number(a) for a, _, _ in operands),
                                        Code.name(target))
            # Evaluate each partial as the generated code would (on placeholders _0, _1...),
            # and only for operands that carry derivatives: the exponent's partial of
            # (-2) ** 2 has log(-2) in it.
            placeholders = rule.partials_at(
                tuple(Code.name(f"_{i}") for i in range(len(operands))), Code.name("_out"))
            # (the builtins rules' partials call: math.fmod's reads its quotient back with
            # round)
            namespace = {"math": math, "_out": result, "round": round, "abs": abs,
                         "float": float}
            namespace.update((f"_{i}", v) for i, (_, v, _) in enumerate(operands))
            for (atom, _, source), formula, code in zip(operands, formulas, placeholders):
                if source is not None:
                    partial = eval(compile(render(code), "<rule>", "eval"),
                                   {"__builtins__": {}}, namespace)
                    node.edges.append(Edge(source, exact(partial), render(formula),
                                           ast.unparse(atom)))
        self.env[target] = (result, node.id)

    # -- the backward sweep ------------------------------------------------------------
    def reaching(self, output: Node | None) -> set[int]:
        if output is None:
            return set()
        seen: set[int] = set()
        stack = [output.id]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack += [e.source for e in self.nodes[current].edges]
        return seen

    def backward(self, output: Node | None,
                 inputs: dict[str, Node]) -> tuple[list[str], dict[str, Any]]:
        rows = []
        if output is not None:
            output.adjoint = 1
            rows.append(f"b_{output.label} = 1")
            useful = self.reaching(output)
            for node in reversed(self.nodes):
                if node.id not in useful or not node.edges:
                    continue
                for edge in node.edges:
                    source = self.nodes[edge.source]
                    contribution = exact(node.adjoint * edge.partial)
                    source.adjoint = exact(source.adjoint + contribution)
                    rows.append(f"b_{source.label} += b_{node.label} × ∂{node.label}/∂{edge.operand}"
                                f" = {show(node.adjoint)} × {show(edge.partial)} = "
                                f"{show(contribution)}   (b_{source.label} = {show(source.adjoint)})")
        gradient = {p: (inputs[p].adjoint if p in inputs else 0) for p in self.wrt}
        return rows, gradient


def _code_or_number(atom: ast.expr) -> Any:
    if isinstance(atom, ast.Constant):
        return atom.value
    if isinstance(atom, ast.UnaryOp):
        return -cast(Any, atom.operand).value  # a negative literal: a number's Constant
    return Code(atom)


def _as_int(value: Any) -> Any:
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def _with_placeholders(value: ast.expr, count: int) -> ast.expr:
    """The primitive with its atoms replaced by ``_0``, ``_1``...: evaluated on values."""
    value = copy_tree(value)
    for node in walk(value):  # positions from the user's file mean nothing here
        for attribute in ("lineno", "end_lineno", "col_offset", "end_col_offset"):
            node.__dict__.pop(attribute, None)
    names = iter(ast.Name(f"_{i}", ast.Load()) for i in range(count))
    if isinstance(value, ast.BinOp):
        value.left, value.right = next(names), next(names)
    elif isinstance(value, ast.UnaryOp):
        value.operand = next(names)
    elif isinstance(value, ast.Compare):
        value.left = next(names)
        value.comparators = [next(names) for _ in value.comparators]
    return value
