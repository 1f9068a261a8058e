"""What the passes share: the function being transformed, node annotations, names.

Every pass takes a :class:`Function` and returns a new one; ``Function.source()`` prints
it as Python at any stage. The body is a plain list of ``ast`` statements: the
intermediate representation *is* Python, so any stage can be read, diffed and tested
as source.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import keyword
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from .kinds import Kind

if TYPE_CHECKING:
    from .parse import Parsed

_ANNOTATIONS = "_srcdiff"


class _Annotations(dict[str, Any]):
    """Per-node facts; copied shallowly, so resolved modules survive ``deepcopy``."""

    def __deepcopy__(self, memo: object) -> _Annotations:
        return _Annotations(self)


def set_anno(node: ast.AST, key: str, value: Any) -> None:
    annotations = getattr(node, _ANNOTATIONS, None)
    if annotations is None:
        annotations = _Annotations()
        setattr(node, _ANNOTATIONS, annotations)
    annotations[key] = value


def get_anno(node: ast.AST, key: str, default: Any = None) -> Any:
    return getattr(node, _ANNOTATIONS, {}).get(key, default)


def has_anno(node: ast.AST, key: str) -> bool:
    return key in getattr(node, _ANNOTATIONS, {})


def name_id(node: ast.AST) -> str:
    """The identifier of ``node``, where only a name can be: a target or a callee the
    fence (or an earlier pass) accepts only as a name. For the type checker: no test."""
    return cast(ast.Name, node).id


class Namer:
    """Hands out fresh, readable identifiers that clash with nothing in the function.

    >>> namer = Namer({"x", "b_x"})
    >>> namer.fresh("x"), namer.fresh("x"), namer.adjoint("x"), namer.fresh("sin")
    ('x_1', 'x_2', 'b_x_1', 'sin')
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken) | set(keyword.kwlist) | {"math", "numpy"}
        self.adjoints: dict[str, str] = {}
        self.tangents: dict[str, str] = {}
        self.next_suffix: dict[str, int] = {}  # where to resume counting, per base

    def fresh(self, base: str) -> str:
        base = base.strip("_") or "t"
        # Never shadow a builtin the generated code might call: max_1, not max.
        count = self.next_suffix.get(base, 1 if hasattr(builtins, base) else 0)
        name = f"{base}_{count}" if count else base
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.next_suffix[base] = count + 1
        self.taken.add(name)
        return name

    def reserve(self, preferred: str) -> str:
        """``preferred`` itself when nothing uses it, else a fresh variant of it.

        >>> namer = Namer({"_"})
        >>> namer.reserve("_"), namer.reserve("range")
        ('_1', 'range')
        """
        name, count = preferred, 0
        while name in self.taken:
            count += 1
            name = f"{preferred}{count}" if preferred.endswith("_") else f"{preferred}_{count}"
        self.taken.add(name)
        return name

    def adjoint(self, variable: str) -> str:
        """The adjoint of ``variable``, named after it: ``b_<variable>``."""
        if variable not in self.adjoints:
            self.adjoints[variable] = self.fresh("b_" + variable)
        return self.adjoints[variable]

    def tangent(self, variable: str) -> str:
        """The tangent of ``variable`` (forward mode), named after it: ``d_<variable>``."""
        if variable not in self.tangents:
            self.tangents[variable] = self.fresh("d_" + variable)
        return self.tangents[variable]

    def derivatives(self) -> set[str]:
        """The names of every adjoint and tangent handed out."""
        return set(self.adjoints.values()) | set(self.tangents.values())


@dataclasses.dataclass
class Function:
    """A function at some stage of the pipeline.

    ``parsed`` is where it came from (``parse.Parsed``): file, lines, resolved names.
    ``body`` holds ``ast`` statements; ``synthetic`` names the variables srcdiff made
    (temporaries and adjoints), which optimisations may remove; the user's own names
    are kept.
    """

    name: str
    args: ast.arguments
    body: list[ast.stmt]
    parsed: Parsed
    namer: Namer
    synthetic: set[str] = dataclasses.field(default_factory=set)
    wrt: tuple[str, ...] = ()
    output: Any = None  # the atom the function returns, once lowered
    active: frozenset[str] = frozenset()  # set by analyse: variables that carry derivatives
    kinds: dict[str, Kind] = dataclasses.field(default_factory=dict)  # set by analyse: name -> Kind
    # set by normalize for structured parameters (``srcdiff.structures``): the parameter
    # each leaf read became, ``(name, parameter, canonical path)``; and what the code
    # assumed about the arguments, ``(parameter, path, structures.observe(value))``
    leaves: list[tuple[str, str, tuple[Any, ...]]] = dataclasses.field(default_factory=list)
    facts: list[tuple[str, tuple[Any, ...], Any]] = dataclasses.field(default_factory=list)

    def replace(self, **changes: Any) -> "Function":
        return dataclasses.replace(self, **changes)

    def to_ast(self) -> ast.FunctionDef:
        return ast.fix_missing_locations(function_def(self.name, self.args, self.body))

    def source(self) -> str:
        return ast.unparse(self.to_ast())


def function_def(name: str, args: ast.arguments, body: Sequence[ast.stmt]) -> ast.FunctionDef:
    """A ``def`` node on every supported Python (3.12 added ``type_params``)."""
    # by keyword from a dict: mypy checks 3.11's constructor, and 3.12's and 3.13's
    fields: dict[str, Any] = {"name": name, "args": args, "body": list(body) or [ast.Pass()],
                              "decorator_list": [], "returns": None, "type_comment": None}
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []  # 3.12's field
    return ast.FunctionDef(**fields)


def def_of_lambda(lam: ast.Lambda, name: str = "lambda_") -> ast.FunctionDef:
    """``lambda params: body`` as ``def name(params): return body``, at the lambda's place."""
    body = [ast.copy_location(ast.Return(lam.body), lam.body)]
    return ast.copy_location(function_def(name, lam.args, body), lam)


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node``, itself included, as ``ast.walk`` gives them but in no
    particular order (depth first, a child list reversed), and about twice as fast."""
    stack = [node]
    AST = ast.AST
    while stack:
        current = stack.pop()
        yield current
        for field in current._fields:
            value = getattr(current, field, None)
            if type(value) is list:
                stack.extend([v for v in value if isinstance(v, AST)])
            elif isinstance(value, AST):
                stack.append(value)


# The fields that may hold code (expressions, statements), per node type, in ``_fields``
# order; operators and contexts (leaves) and names, strings and numbers left out.
_CODE_FIELDS: dict[type, tuple[str, ...]] = {
    ast.Name: (), ast.Constant: (), ast.Pass: (), ast.Break: (), ast.Continue: (),
    ast.BinOp: ("left", "right"), ast.UnaryOp: ("operand",), ast.BoolOp: ("values",),
    ast.Compare: ("left", "comparators"), ast.Call: ("func", "args", "keywords"),
    ast.keyword: ("value",), ast.Attribute: ("value",), ast.Subscript: ("value", "slice"),
    ast.Slice: ("lower", "upper", "step"), ast.Tuple: ("elts",), ast.List: ("elts",),
    ast.IfExp: ("test", "body", "orelse"), ast.Starred: ("value",),
    ast.Assign: ("targets", "value"), ast.AugAssign: ("target", "value"),
    ast.AnnAssign: ("target", "annotation", "value"), ast.Expr: ("value",),
    ast.Return: ("value",), ast.Assert: ("test", "msg"), ast.Raise: ("exc", "cause"),
    ast.If: ("test", "body", "orelse"), ast.For: ("target", "iter", "body", "orelse"),
    ast.While: ("test", "body", "orelse"),
}


def walk_code(node: ast.AST) -> Iterator[ast.AST]:
    """``walk`` without (some of) the operator and context nodes (``Add()``, ``Load()``),
    which are leaves: every other node, in the order ``walk`` gives them, about twice as
    fast. For the questions asked of names, calls and attributes."""
    stack = [node]
    AST = ast.AST
    code_fields = _CODE_FIELDS
    while stack:
        current = stack.pop()
        yield current
        if type(current) is ast.Try or (type(current) is ast.Raise and
                                        has_anno(current, "reads")):  # run as written
            stack.extend(opaque_names(current))
            continue
        fields = code_fields.get(type(current))
        if fields is None:
            fields = current._fields
        for field in fields:
            value = getattr(current, field, None)
            if type(value) is list:
                stack.extend([v for v in value if isinstance(v, AST)])
            elif isinstance(value, AST):
                stack.append(value)


def opaque_names(statement: ast.Try | ast.Raise) -> list[ast.Name]:
    """A ``try`` (or a user's ``raise``) run as written (``lower.Lowering.opaque``): a new name node
    for each name it reads and each it may assign, which every pass sees in place of
    its code (changing them changes nothing: no pass rewrites inside it)."""
    return [ast.Name(n, ast.Load()) for n in sorted(get_anno(statement, "reads", ()))] + \
        [ast.Name(n, ast.Store()) for n in sorted(get_anno(statement, "writes", ()))]


# ``ast.unparse``'s operators and their precedences (``ast._Precedence``'s values)
_TEST, _ATOM, _FACTOR, _POWER, _YIELD = 4, 18, 15, 16, 3
_BINARY = {ast.Add: ("+", 13), ast.Sub: ("-", 13), ast.Mult: ("*", 14), ast.MatMult: ("@", 14),
           ast.Div: ("/", 14), ast.Mod: ("%", 14), ast.FloorDiv: ("//", 14),
           ast.LShift: ("<<", 12), ast.RShift: (">>", 12), ast.BitOr: ("|", 9),
           ast.BitXor: ("^", 10), ast.BitAnd: ("&", 11), ast.Pow: ("**", 16)}
_UNARY = {ast.USub: ("-", 15), ast.UAdd: ("+", 15), ast.Invert: ("~", 15),
          ast.Not: ("not ", 7)}


def unparse(node: ast.AST) -> str:
    """``ast.unparse(node)``, quicker for the statements and expressions generated code
    is made of (names, numbers, arithmetic, calls of names and attributes, ``t = e``,
    ``t += e``, ``f(...)``): written here as ``ast.unparse`` writes them, parentheses
    by its precedences; anything else (and a node that occurs twice in ``node``, whose
    precedence ``ast.unparse`` remembers from its first occurrence) by ``ast.unparse``.

    >>> for code in ["y = -x ** -2 + f(a, b.c) * (d - e) / 2.5", "t -= (a - b) - (c + d)",
    ...              "tape.append(not a)", "(a ** b) ** c - a ** b ** c"]:
    ...     node = ast.parse(code).body[0]
    ...     assert unparse(node) == ast.unparse(node), code
    """
    text = quick_unparse(node)
    return ast.unparse(node) if text is None else text


def quick_unparse(node: ast.AST) -> str | None:
    """``unparse``'s own part: the text, or None where ``ast.unparse`` must write it."""
    statement: Any = node  # dispatched on its exact type, below
    try:
        kind = type(node)
        if kind is ast.Assign:
            if len(statement.targets) == 1 and type(statement.targets[0]) is ast.Name and \
                    getattr(statement, "type_comment", None) is None:
                return (f"{statement.targets[0].id} = "
                        f"{_expression(statement.value, _TEST, set())}")
        elif kind is ast.AugAssign:
            if type(statement.target) is ast.Name:
                return (f"{statement.target.id} {_BINARY[type(statement.op)][0]}= "
                        f"{_expression(statement.value, _TEST, set())}")
        elif kind is ast.Expr:
            return _expression(statement.value, _YIELD, set())
        elif isinstance(node, ast.expr):
            return _expression(node, _TEST, set())
    except _Unusual:
        pass
    return None


class _Unusual(Exception):
    """A node ``unparse`` leaves to ``ast.unparse``."""


def _expression(node: ast.AST, precedence: int, seen: set[int]) -> str:
    kind = type(node)
    if kind is ast.Name:
        return cast(ast.Name, node).id
    if kind is ast.Constant:
        value = cast(ast.Constant, node).value
        if getattr(node, "kind", None) is None:
            if type(value) is int:
                return repr(value)
            if type(value) is float:
                text = repr(value)
                if "inf" not in text and "nan" not in text:
                    return text
        raise _Unusual
    if kind is ast.BinOp or kind is ast.UnaryOp:
        if id(node) in seen:
            raise _Unusual
        seen.add(id(node))
        if kind is ast.BinOp:
            binary = cast(ast.BinOp, node)
            symbol, own = _BINARY[type(binary.op)]
            left, right = (own + 1, own) if symbol == "**" else (own, own + 1)
            text = (f"{_expression(binary.left, left, seen)} {symbol} "
                    f"{_expression(binary.right, right, seen)}")
        else:
            unary = cast(ast.UnaryOp, node)
            symbol, own = _UNARY[type(unary.op)]
            text = symbol + _expression(unary.operand, own, seen)
        return f"({text})" if precedence > own else text
    if kind is ast.Call:
        call = cast(ast.Call, node)
        if call.keywords:
            raise _Unusual
        return (f"{_expression(call.func, _ATOM, seen)}("
                f"{', '.join([_expression(a, _TEST, seen) for a in call.args])})")
    if kind is ast.Attribute:
        attribute = cast(ast.Attribute, node)
        if type(attribute.value) not in (ast.Name, ast.Attribute):
            raise _Unusual
        return f"{_expression(attribute.value, _ATOM, seen)}.{attribute.attr}"
    raise _Unusual


# per node class: its fields, each with whether ``ast.dump`` leaves it out when None
_DUMP_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def dump_key(node: Any) -> Hashable:
    """A key equal for two nodes exactly when ``ast.dump(node)`` (default options) prints
    them alike, built the way it prints them (class, then each field present, by name, a
    None left out where the class's default is None; lists item by item; anything else
    by its ``repr``), as nested tuples instead of text: several times quicker to make."""
    if isinstance(node, ast.AST):
        cls = type(node)
        fields = _DUMP_FIELDS.get(cls)
        if fields is None:
            fields = _DUMP_FIELDS[cls] = tuple((name, getattr(cls, name, ...) is None)
                                               for name in cls._fields)
        parts: list[Any] = [cls.__name__]
        for name, none_by_default in fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value is None and none_by_default:
                continue
            parts.append(name)
            parts.append(dump_key(value))
        return tuple(parts)
    if isinstance(node, list):
        return ("[", *[dump_key(item) for item in node])
    return repr(node)


_T = TypeVar("_T")


@overload
def copy_tree(node: list[_T]) -> list[_T]: ...
@overload
def copy_tree(node: _T) -> _T: ...
def copy_tree(node: Any) -> Any:
    """A deep copy of an AST node (or a list of nodes), about five times faster than
    ``copy.deepcopy``. Annotations are copied shallowly (as ``_Annotations.__deepcopy__``
    does), operators and contexts are shared (they carry no state)."""
    if type(node) is list:
        return [copy_tree(n) for n in node]
    if not isinstance(node, ast.AST):
        return node
    cls = node.__class__
    new = cls.__new__(cls)
    state = new.__dict__
    for key, value in node.__dict__.items():
        if type(value) is list:
            value = [copy_tree(v) if isinstance(v, ast.AST) else v for v in value]
        elif isinstance(value, ast.AST):
            if not isinstance(value, _STATELESS):
                value = copy_tree(value)
        elif type(value) is _Annotations:
            value = _Annotations(value)
        state[key] = value
    return new


_STATELESS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def name_counts(statements: Iterable[ast.AST]) -> tuple[dict[str, int], dict[str, int]]:
    """How many times each name is assigned, and read, anywhere in ``statements``."""
    stores: dict[str, int] = {}
    loads: dict[str, int] = {}
    for statement in statements:
        for node in walk_code(statement):
            if type(node) is ast.Name:
                counts = stores if isinstance(node.ctx, ast.Store) else loads
                counts[node.id] = counts.get(node.id, 0) + 1
    return stores, loads


COMPOUND = (ast.If, ast.For, ast.While)


def differs(new: list[ast.stmt], old: list[ast.stmt]) -> bool:
    """Whether a pass changed the body; passes build new nodes for what they change."""
    if len(new) != len(old):
        return True
    for a, b in zip(new, old):
        if a is not b:
            return True
        for field in ("body", "orelse"):
            if isinstance(getattr(a, field, None), list) and differs(getattr(a, field), getattr(b, field)):
                return True
    return False
