"""Stage 3, normalize: rewrite the accepted language into a small core.

Contract: takes a fenced ``parse.Parsed`` and returns an ``ir.Function`` whose body holds
only: ``name = expression``; ``if``/``else`` on an expression; ``for`` over an iterable;
``while name:``; ``if flag: break`` as the last statement of a loop body; calls to
``print`` and ``assert`` statements (kept for their effects); and one final
``return expression``. To get there:

* augmented and annotated assignments become plain ones, chained targets are split,
  tuple assignments evaluate every right-hand side before binding (through a temporary
  only where a later element reads the old value), ``min``/``max`` of several arguments
  nest into pairs;
* conditional expressions and ``and``/``or`` become ``if`` statements on a temporary,
  which keeps Python's short-circuit evaluation;
* ``break``, ``continue`` and early ``return`` become flags: the rest of a block after a
  statement that may leave it is guarded by ``if not skip:``, and a loop that may be left
  ends with ``if broke: break``. Every loop body then runs to its end, which is what lets
  the backward sweep replay it;
* a ``while`` test is computed into a variable before the loop and again at the end of
  each iteration; ``else`` clauses of loops become guarded statements after the loop.

>>> def f(a, b):
...     "Docstring."
...     a, b = b, a * b
...     for i in range(3):
...         if a > 2:
...             break
...         a += max(a, b, 1.0)
...     return a if a > 0 else -a
>>> from srcdiff.parse import parse
>>> print(normalize(parse(f)).source())
def f(a, b):
    a_new = b
    b = a * b
    a = a_new
    broke = False
    for i in range(3):
        skip = False
        if a > 2:
            skip = True
            broke = True
        if not skip:
            a = a + max(max(a, b), 1.0)
        if broke:
            break
    if a > 0:
        ifexp = a
    else:
        ifexp = -a
    return ifexp
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import inspect
import math
import operator
import sys
import types
from collections import Counter
from dataclasses import dataclass
from collections.abc import Collection, Iterator
from typing import Any, Callable, TypeVar, cast

from .errors import SrcdiffError, UnsupportedSyntaxError, located
from .expr import dotted, literal
from .ir import Function, Namer, copy_tree, def_of_lambda, get_anno, name_id, set_anno, walk
from .kinds import ATTRIBUTES, METHODS, TUPLE_METHODS
from .lower import is_literal
from .parse import UNRESOLVED, Parsed, all_names, library_function, local_names, parse
from .rules import RULES
from .structures import Path, is_container, is_object, method_of, observe, step, text


@dataclass
class _Loop:
    skip: str | None   # set to leave the rest of this iteration (break, continue, return)
    broke: str | None  # set to leave the loop (break, return)


def normalize(parsed: Parsed, structures: dict[str, Any] | None = None,
              differentiated: Collection[str] = (), several: bool = False) -> Function:
    """``structures``: the parameters whose arguments are structured (``srcdiff.structures``),
    each with an example argument; those in ``differentiated`` are pytrees differentiated
    with respect to. Each leaf the function reads becomes a parameter of its own, after
    its structure's (``Function.leaves``), and every parameter is positional.
    ``several``: the function may return a tuple (vjp, jvp, jacobian), every ``return``
    one of the same length; the core form then ends with ``return (y1, y2, ...)``."""
    tree = parsed.tree
    # The function's own name is free for a local unless the body mentions it.
    namer = Namer(all_names(tree.args) | set().union(*(all_names(s) for s in tree.body)))
    function = Function(tree.name, _plain_arguments(tree.args), [], parsed, namer)
    if tree.args.vararg is not None and tree.args.vararg.arg not in (structures or {}):
        raise located(UnsupportedSyntaxError, f"*{tree.args.vararg.arg} is specialised on the "
                      "arguments of each call, by srcdiff.grad, srcdiff.value_and_grad and "
                      "srcdiff.jvp; not here", tree.args.vararg, parsed,
                      hint="name each parameter, or pass a tuple")
    normalizer = Normalizer(function, ((parsed.filename, tree.lineno, tree.name),))
    normalizer.several = several
    for name, value in (structures or {}).items():
        normalizer.structures[name] = _Part(name, (), value, name in differentiated)
        function.facts.append((name, (), observe(value)))
    # The function itself counts as being inlined: a call to itself is recursion.
    function.body = normalizer.run(tree.body)
    for statement in function.body:  # a list read before srcdiff saw it made (in a loop)
        for node in walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                    node.id in normalizer.lists.names and node.id not in normalizer.lists.ever_grown:
                where = get_anno(statement, "where") or parsed
                raise located(UnsupportedSyntaxError, f"`{node.id}` is read here before the "
                              "list it stands for is made (in an earlier iteration): srcdiff "
                              "follows lists read after they are made", node, where)
    if structures:
        args = function.args
        plain = []
        vararg = [args.vararg] if args.vararg is not None else []  # *args: a tuple, by position
        for arg in args.posonlyargs + args.args + vararg + args.kwonlyargs:
            plain.append(arg)
            plain += [ast.arg(leaf) for leaf, param, _ in function.leaves if param == arg.arg]
        function.args = ast.arguments([], plain, None, [], [], None, [])
    return function


@dataclass
class _Part:
    """Part of a structured parameter: the parameter, the canonical path to the part,
    the example argument's value there, and whether the parameter is differentiated."""
    param: str
    path: Path
    value: object
    differentiated: bool


@dataclass
class _List:
    """A list (or tuple) the function builds, followed element by element: ``items``
    are the names (or constants) holding its elements, in order; ``scope`` is the block
    it was made in (only there may it grow or change: elsewhere its length and elements
    would depend on the path taken); ``what`` names it in messages."""
    items: list[ast.expr | _List]
    scope: tuple[int, ...]
    what: str
    is_tuple: bool = False
    keys: list[str | int] | None = None  # a dict's, in order (its items are its values)

    def put(self, key: str | int, item: ast.expr | _List) -> None:
        """``d[key] = item`` in a dict: a new value in place, or a new key at the end (as
        ``{"a": 1, "a": 2}`` keeps the first place and the last value)."""
        assert self.keys is not None
        if key in self.keys:
            self.items[self.keys.index(key)] = item
        else:
            self.keys.append(key)
            self.items.append(item)


class _Lists:
    """The lists being followed, shared with the callees inlined: by name (several names
    may stand for one list, as in Python), every name that ever stood for one, and a
    counter numbering blocks."""

    def __init__(self) -> None:
        self.by_name: dict[str, _List] = {}
        self.names: set[str] = set()
        self.plain: set[str] = set()  # names bound to other values
        # names of lists grown while the function runs (a loop srcdiff does not write
        # out appends to them, or a comprehension over values known only then), with
        # the block each became one in: real variables (runtime.empty_list, appended)
        self.grown: dict[str, tuple[int, ...]] = {}
        self.ever_grown: set[str] = set()  # (a real variable wherever it is read)
        self.starred: dict[int, bool] = {}  # Normalizer.starred's answers, by source tree
        self.blocks = 0

    def block(self) -> int:
        self.blocks += 1
        return self.blocks


# Reductions of an iterable that normalize writes out as loops: sum(v for v in ...)
REDUCTIONS = {sum: "sum", min: "min", max: "max", math.prod: "prod", any: "any", all: "all"}
# Unrolled loops over lists srcdiff follows: at most this many iterations
UNROLL_LIMIT = 1000
# xs[i] at a position known only when the function runs: lists of at most this many
SELECT_LIMIT = 64
# the most elements a list repeated with ``*`` and then changed is written out to
REPEAT_LIMIT = 1000
# calls inlined inside each other at most this deep (objects holding objects of their class)
INLINE_LIMIT = 64


def _plain_arguments(args: ast.arguments) -> ast.arguments:
    """The parameters without annotations (defaults are kept as written)."""
    args = copy_tree(args)
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        arg.annotation = None
    return args


def _name(identifier: str, store: bool = False) -> ast.Name:
    return ast.Name(identifier, ast.Store() if store else ast.Load())


_Node = TypeVar("_Node", bound=ast.AST)


def _located(new: _Node, origin: ast.AST) -> _Node:
    ast.copy_location(new, origin)
    return ast.fix_missing_locations(new)


class Normalizer:
    """State: ``loops`` is the stack of enclosing loops' flags; ``returned``/``result``
    name the early-return flag and value when the function returns early (else None)."""

    walrus = False  # (set by ``run``)

    def __init__(self, function: Function, inlining: tuple[tuple[Any, ...], ...] = (),
                 local_functions: dict[str, tuple[ast.FunctionDef, dict[str, ast.expr]]] | None = None) -> None:
        self.function = function
        self.namer: Namer = function.namer
        self.parsed = function.parsed
        self.locals = function.parsed.local_names()
        self.loops: list[_Loop] = []
        self.returned: str | None = None
        self.ended = False  # the statement just normalized ends its block (block)
        self.block_ended = False  # the block just normalized always leaves before its end
        self.folded: list[ast.stmt] | None = None  # the branch a constant test takes
        self.leaves = 0  # the skip flags set so far (a return, break or continue)
        self.results: list[str] | None = None
        self.inline_mode = False
        self.several = False  # whether the function itself may return a tuple
        self.outputs: int | None = None  # how many values it returns, when a tuple
        # its returns of a call to a function returning a tuple (by id) -> the names the
        # values are unpacked into
        self.returned_calls: dict[int, list[str]] = {}
        self.inlining = inlining  # the callees being inlined, outermost first
        self.local_functions = dict(local_functions or {})  # name -> (def, parsed)
        self.where = function.parsed  # the source the statements come from (errors)
        # names standing for parts of structured parameters (``_Part``); shared with
        # the callees inlined, whose names are fresh
        self.structures: dict[str, _Part] = {}
        self.depth = 0  # how many loops and branches enclose the statement
        self.stores: Counter[str] = Counter()
        self.loads: set[str] = set()  # the names the body reads (or deletes)
        # lists the function builds (``_List``), shared with the callees inlined; the
        # block being normalized (a path of block numbers); the names appended to, or
        # given items, in the body being normalized (a list of constants bound to one is
        # followed too)
        self.lists = _Lists()
        self.scope: tuple[int, ...] = ()
        self.mutated: set[str] = set()
        self.literals: dict[str, ast.List | ast.Tuple] = {}  # names bound once to data
        # the functions the body being normalized defines (once, with ``def``), by name
        self.defined: dict[str, ast.FunctionDef] = {}

    def run(self, body: list[ast.stmt], results: list[str] | None = None) -> list[ast.stmt]:
        """The normalized ``body``; with ``results`` (an inlined callee's body), its
        returns assign those names instead of returning."""
        body = [s for s in body if not _is_docstring(s)]
        self.inline_mode = results is not None
        self.stores = Counter()
        self.loads = set()
        self.walrus = False  # an assignment expression somewhere: reads before it are read
        for statement in body:  # (``_Expressions.visit_Name``)
            for node in walk(statement):
                if isinstance(node, ast.Name):
                    if isinstance(node.ctx, ast.Store):
                        self.stores[node.id] += 1
                    else:
                        self.loads.add(node.id)
                elif isinstance(node, ast.NamedExpr):
                    self.walrus = True
        self.mutated = _changed_lists(body)[1]
        defined = Counter(s.name for s in body if isinstance(s, ast.FunctionDef))
        self.defined = {s.name: s for s in body if isinstance(s, ast.FunctionDef)
                        and defined[s.name] == 1}
        early = [n for s in body[:-1] for n in _returns(s)] + [
            n for n in _returns(body[-1]) if n is not body[-1]]
        self.results = results
        if results is None:
            self.outputs = self.count_outputs(body)
        if not early:
            return self.block(body)
        self.returned = self.fresh("returned")
        if results is None:
            self.results = [self.fresh(self.function.name)
                            for _ in range(1 if self.outputs is None else self.outputs)]
        statements: list[ast.stmt] = [self.assign(self.returned, ast.Constant(False), body[0])]
        statements += self.block(body)
        if results is None:
            assert self.results is not None  # named above
            names: list[ast.expr] = [_name(r) for r in self.results]
            value = names[0] if self.outputs is None else ast.Tuple(names, ast.Load())
            statements.append(_located(ast.Return(value), body[-1]))
        return statements

    def count_outputs(self, body: list[ast.stmt]) -> int | None:
        """How many values the function itself returns when it returns a tuple (None
        when it returns one value); every ``return`` must give as many."""
        returns = [r for s in body for r in _returns(s)]
        if self.several:  # return helper(x), the helper returning a tuple: unpacked
            for node in returns:
                if isinstance(node.value, ast.Call):
                    count = self.tuple_returned(node.value)
                    if count is not None:
                        self.returned_calls[id(node)] = [self.fresh("output")
                                                         for _ in range(count)]
        tuples = [r for r in returns if isinstance(r.value, ast.Tuple)
                  or id(r) in self.returned_calls]
        if not tuples:
            return None
        first = cast(ast.Tuple, tuples[0].value)
        if not self.several:
            raise located(UnsupportedSyntaxError, "this function returns several values; "
                          "a gradient needs a function that returns one number", first,
                          self.where, hint="srcdiff.vjp, srcdiff.jvp and srcdiff.jacobian "
                          "take functions that return a tuple")
        count = self.values_returned(tuples[0])
        for node in returns:
            given = self.values_returned(node)
            if given != count:
                raise located(UnsupportedSyntaxError, f"this return gives {given} "
                              f"value{'s' if given != 1 else ''} where the one on line "
                              f"{tuples[0].lineno} gives {count}: every return of a "
                              "function must give as many values", node, self.where)
        return count

    def values_returned(self, node: ast.Return) -> int:
        if id(node) in self.returned_calls:
            return len(self.returned_calls[id(node)])
        return len(node.value.elts) if isinstance(node.value, ast.Tuple) else 1

    def tuple_returned(self, call: ast.Call) -> int | None:
        """How many values a user function called returns, when one of its returns is a
        tuple written out (a function the body defines with ``def``, once: its ``def``,
        also before the statement defining it is normalized); None when it returns one
        value, or none srcdiff can count, and for a call it refuses, which the call's own
        normalization refuses in its place."""
        func = call.func
        tree: ast.FunctionDef | None = None
        parsed: Parsed | None = None  # the scope of a module-level function's names
        if isinstance(func, ast.Name) and func.id in self.local_functions:
            tree = self.local_functions[func.id][0]
        elif isinstance(func, ast.Name) and func.id in self.locals:
            tree = self.defined.get(func.id)
        else:
            try:
                callee = self.callee_of(call)
            except SrcdiffError:
                return None
            if callee is not None:
                tree, parsed = callee[0], callee[1]
        return None if tree is None else _tuple_count(self, tree, parsed, 0)

    def returned_tuple(self, call: ast.Call, before: list[ast.stmt]) -> _List | None:
        """A call to a user function that returns a tuple (``tuple_returned``), used as
        a value: inlined into a name per element, the tuple followed as any other."""
        if self.callee_of(call) is None:
            return None
        count = self.tuple_returned(call)
        if count is None:
            return None
        base = _callee_name(call)
        results = [self.fresh(f"{base}_{k}") for k in range(count)]
        _Expressions(self, before).inline_call(call, results)
        return _List([_name(r) for r in results], self.scope,
                     f"the tuple {base}() returns", is_tuple=True)

    def define_local(self, tree: ast.FunctionDef, names: list[str], origin: ast.AST) -> list[ast.stmt]:
        """A nested ``def`` or ``name = lambda ...``: calls after it (in program order)
        inline it. Its default values are evaluated here, at the definition, as Python
        does: into variables of their own, unless they are constants."""
        args = tree.args
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        statements, defaults = [], {}
        for parameter, default in pairs:
            if is_literal(default):
                defaults[parameter.arg] = default
            else:
                variable = self.fresh(f"{parameter.arg}_default")
                statements += self.bind(variable, default, origin)
                defaults[parameter.arg] = _name(variable)
        for name in names:
            self.local_functions[name] = (tree, defaults)
        return statements

    def fresh(self, base: str) -> str:
        name = self.namer.fresh(base)
        self.function.synthetic.add(name)
        return name


    # -- structured parameters (srcdiff.structures) -------------------------------------
    def part(self, node: ast.expr) -> _Part | None:
        """The part of a structured parameter ``node`` reads: a name standing for one, or
        a chain of constant items and attributes below it (``p["w"]``, ``self.layers[0]``);
        None for anything else (a leaf's own items and attributes, ``p["w"][i]``, are not
        parts: they are read from the leaf's parameter)."""
        if isinstance(node, ast.Name):
            return self.structures.get(node.id)
        if not isinstance(node, (ast.Subscript, ast.Attribute)):
            return None
        base = self.part(node.value)
        if base is None or not (is_container(base.value) or is_object(base.value)):
            return None
        key: str | int | None  # an attribute's name, or a constant index
        if isinstance(node, ast.Attribute):
            kind, key = "attr", node.attr
        else:
            kind, key = "item", _constant_key(node.slice)
            if key is None:
                raise located(UnsupportedSyntaxError, f"{text(base.param, base.path)} is a "
                              f"{type(base.value).__name__}: srcdiff reads its items with "
                              "constant keys and positions", node, self.where)
        try:
            value, done = step(base.value, kind, key)
        except (LookupError, AttributeError, TypeError) as error:
            raise located(UnsupportedSyntaxError, f"`{ast.unparse(node)}` fails for the "
                          f"argument given ({type(error).__name__}: {error})", node,
                          self.where) from None
        if base.differentiated and done[0] == "attr" and not (
                dataclasses.is_dataclass(base.value)
                and key in {f.name for f in dataclasses.fields(base.value) if f.init}):
            # a property, a cached_property, an attribute __post_init__ set (a field of
            # init=False too), __dict__: a value computed from the fields, which the
            # gradient would take for a constant or an independent value
            raise located(UnsupportedSyntaxError, f"`{ast.unparse(node)}` is not a field "
                          f"of the {type(base.value).__name__} differentiated with respect "
                          "to that its constructor takes: srcdiff differentiates a structure "
                          "through those fields (a property, a field of init=False, or an "
                          "attribute set outside the fields, would be taken for a constant)",
                          node, self.where, hint="compute it in the function from the "
                          "fields, or make it a field")
        path = base.path + (done,)
        self.function.facts.append((base.param, path, observe(value)))
        return _Part(base.param, path, value, base.differentiated)

    def method_call(self, call: ast.Call) -> ast.Call | None:
        """``obj.m(a, b)`` where ``obj`` is an object given as an argument (``self``, a
        layer it holds) whose class defines the function ``m``: the call of that function
        with ``obj`` first (a ``staticmethod``'s without it), by a name of its own, which
        ``inline`` inlines as any user function; ``obj(a)`` and ``self.layer(a)``, of an
        object whose class defines ``__call__``, are ``obj.__call__(a)``. The code holds
        while a later argument's ``obj`` finds the very same function (a fact:
        ``structures.Method``), so a subclass that overrides ``m``, or an instance
        attribute that hides it, gets code of its own. None where ``obj`` is no such
        object (an array's methods are NumPy's)."""
        func = call.func
        receiver: ast.expr
        if isinstance(func, (ast.Name, ast.Subscript)):  # layer(x), self.layers[0](x)
            receiver, attribute = func, "__call__"
        elif isinstance(func, ast.Attribute):
            receiver, attribute = func.value, func.attr
        else:
            return None
        part = self.part(receiver)
        if part is None or not _has_methods(part.value):
            return None
        if attribute in getattr(part.value, "__dict__", ()):  # self.layer(x): its __call__
            held = self.part(func)
            if held is not None and _has_methods(held.value) and \
                    method_of(held.value, "__call__").function is not None:
                part, receiver, attribute = held, func, "__call__"
            else:
                raise located(UnsupportedSyntaxError, f"`{text(part.param, part.path)}."
                              f"{attribute}` is an attribute of the object itself, not a "
                              "method of its class: srcdiff inlines the methods classes "
                              "define", func, self.where, hint="define it as a method, or "
                              "call a function the module defines")
        found = method_of(part.value, attribute)
        if found.function is None and isinstance(inspect.getattr_static(
                type(part.value), attribute, None), classmethod):
            raise located(UnsupportedSyntaxError, f"`{ast.unparse(func)}` is a classmethod: "
                          "srcdiff inlines the functions and staticmethods a class defines",
                          func, self.where, hint="make it a staticmethod or a module function")
        if found.function is None:
            return None
        self.function.facts.append((part.param, part.path + (("method", attribute),), found))
        name = self.fresh(found.function.__name__ if found.function.__name__.isidentifier()
                          else attribute.strip("_"))
        self.parsed.inject(name, types.CellType(found.function),
                           ("method", type(part.value), attribute))
        first = [copy_tree(receiver)] if found.bound else []
        return _located(ast.Call(_located(_name(name), func), first + list(call.args),
                                 list(call.keywords)), call)

    def needs_structure(self, node: ast.expr) -> None:
        """``p["w"]`` or ``p.w`` on a parameter given no structured argument: a KindError
        (the call wrapper defers it to calls whose arguments are not structured)."""
        root = node
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in self.structures and (
                root.id in self.locals):
            from .errors import KindError
            raise located(KindError, f"`{ast.unparse(node)}` reads part of "
                          f"`{root.id}`, which is not a structured argument here",
                          node, self.where, hint="srcdiff.grad and srcdiff.value_and_grad "
                          "read dicts, lists, tuples, NamedTuples, dataclasses and objects "
                          "given as arguments; the other transformations take numbers and "
                          "arrays")

    def leaf(self, part: _Part, origin: ast.AST) -> ast.expr:
        """The parameter standing for the leaf ``part`` (made at its first read)."""
        from .kinds import data_kind
        if part.path == () and not part.differentiated:
            return _located(_name(part.param), origin)  # an object used whole: as it is
        if isinstance(part.value, str) and not part.differentiated:
            # an option an object holds (self.kind == "tanh"): a constant of the code,
            # which holds while the argument holds the same string (observe gives it)
            return _located(ast.Constant(part.value), origin)
        if (is_container(part.value) and part.differentiated) or data_kind(part.value) is None:
            what = text(part.param, part.path)
            raise located(UnsupportedSyntaxError, f"`{what}` is a "
                          f"{type(part.value).__name__} used as a value: srcdiff reads the "
                          "numbers and arrays in structured parameters through constant keys "
                          "and attributes (p['w'], p.w, w, b = p), passes them whole to "
                          "functions it inlines, and loops over lists and tuples of them",
                          origin, self.where, hint="if it stands for an array, pass one "
                          "(numpy.asarray(...))" if isinstance(part.value, (list, tuple))
                          else None)
        for name, param, path in self.function.leaves:
            if param == part.param and path == part.path:
                return _located(_name(name), origin)
        base = "_".join([part.param] + [str(key) for _, key in part.path])
        name = self.fresh(base if base.isidentifier() else part.param)
        self.function.leaves.append((name, part.param, part.path))
        return _located(_name(name), origin)

    def holds(self, name: str, part: _Part, origin: ast.AST) -> list[ast.stmt]:
        """``name = <part>``: a leaf is copied; a container or object is another name for
        the part, allowed where it is bound once, unconditionally."""
        from .kinds import data_kind
        once = not self.depth and self.stores[name] == 1 and name not in self.structures
        if not is_object(part.value) or (not once and not part.differentiated
                                         and data_kind(part.value) is not None):
            return [self.assign(name, self.leaf(part, origin), origin)]
        if not once:
            raise located(UnsupportedSyntaxError, f"`{name}` names "
                          f"{text(part.param, part.path)} here and is bound elsewhere too, "
                          "or conditionally: srcdiff follows a name for part of a structured "
                          "parameter only when it is bound once, outside loops and branches",
                          origin, self.where)
        self.structures[name] = part
        return []

    def unpack_nested(self, target: ast.Tuple, value: ast.expr, node: ast.AST) -> list[ast.stmt]:
        """``(a, b), c = value``: the whole value first (each item of a tuple written
        out into a temporary of its own), then each target from its item, in order."""
        result: list[ast.stmt] = []
        items: list[ast.expr] = []
        if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
            for element in value.elts:
                item_name = self.fresh("item")
                items.append(_name(item_name))
                result += self.bind(item_name, element, node)
        else:
            whole = self.fresh("unpacked")
            result += self.bind(whole, value, node)
            items = [_located(ast.Subscript(_name(whole), ast.Constant(index), ast.Load()), node)
                     for index in range(len(target.elts))]
        for element, item in zip(target.elts, items):
            if isinstance(element, ast.Tuple):
                result += self.unpack(element, item, node)
            else:
                result += self.bind(name_id(element), item, node)
        return result

    def unpack_part(self, targets: list[ast.expr] | list[str], part: _Part,
                    origin: ast.AST) -> list[ast.stmt]:
        """``a, b = p`` (``targets``: names, or nested targets, ``(a, b), c = p``)."""
        from .kinds import data_kind
        targets = [_name(t) if isinstance(t, str) else t for t in targets]
        for target in targets:
            if isinstance(target, ast.Starred):
                raise located(UnsupportedSyntaxError, f"`*{ast.unparse(target.value)}` in "
                              f"unpacking {text(part.param, part.path)} is not supported",
                              origin, self.where, hint="read its items by position "
                              f"({text(part.param, part.path)}[1], ...)")
        names = [name_id(t) for t in targets if isinstance(t, ast.Name)]
        kind = data_kind(part.value) if not is_object(part.value) else None
        if kind is not None and kind.is_array:  # a, b = p["v"] of an array leaf: its items
            if len(names) != len(targets):
                raise located(UnsupportedSyntaxError, "nested targets in unpacking the array "
                              f"{text(part.param, part.path)} are not supported", origin,
                              self.where, hint="unpack its rows first, then each row")
            return self.unpack_items(names, self.leaf(part, origin), origin)
        if not isinstance(part.value, (list, tuple)):
            raise located(UnsupportedSyntaxError, f"{text(part.param, part.path)} is a "
                          f"{type(part.value).__name__}: srcdiff unpacks lists and tuples",
                          origin, self.where)
        if len(targets) != len(part.value):
            raise located(UnsupportedSyntaxError, f"{len(targets)} names for the "
                          f"{len(part.value)} items of {text(part.param, part.path)}",
                          origin, self.where)
        result = []
        for index, target in enumerate(targets):
            value, done = step(part.value, "item", index)
            path = part.path + (done,)
            self.function.facts.append((part.param, path, observe(value)))
            item = _Part(part.param, path, value, part.differentiated)
            if isinstance(target, (ast.Tuple, ast.List)):  # (a, b), c = p
                result += self.unpack_part(target.elts, item, origin)
            else:
                result += self.holds(name_id(target), item, origin)
        return result

    def sliced_part(self, node: ast.expr) -> tuple[_Part, range] | None:
        """``params[:-1]``, ``params["layers"][1:]``: a slice with constant bounds of a
        structured list or tuple, as the part sliced and the positions of its items the
        slice takes (the part's length is one of the facts the code is generated for);
        None for anything else."""
        if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)):
            return None
        part = self.part(node.value)
        if part is None or not isinstance(part.value, (list, tuple)):
            return None
        bounds: list[int | None] = []
        for bound in (node.slice.lower, node.slice.upper, node.slice.step):
            key = None if bound is None else _constant_key(bound)
            if bound is not None and not isinstance(key, int):
                raise located(UnsupportedSyntaxError, f"srcdiff loops over a slice of "
                              f"{text(part.param, part.path)} when its bounds are constant "
                              "integers", bound, self.where)
            bounds.append(key if isinstance(key, int) else None)
        if bounds[2] == 0:
            raise located(UnsupportedSyntaxError, "slice step cannot be zero (Python "
                          "raises ValueError here)", node.slice, self.where)
        return part, range(len(part.value))[slice(*bounds)]

    def unroll(self, node: ast.For, part: _Part | None = None,
               positions: range | None = None) -> list[ast.stmt]:
        """``for layer in params["layers"]`` over a structured list or tuple: the body
        once per item, with ``layer`` naming that item. ``positions``: the items a
        slice of ``part`` takes (``sliced_part``), in order; all of them by default."""
        part = part or self.part(node.iter)
        assert part is not None  # statement() unrolls only loops over parts
        if not isinstance(part.value, (list, tuple)) or node.orelse or any(
                isinstance(n, (ast.Break, ast.Continue, ast.Return)) for s in node.body
                for n in walk(s)):
            raise located(UnsupportedSyntaxError, f"srcdiff loops over the items of "
                          f"{text(part.param, part.path)} (a {type(part.value).__name__}) "
                          "when it is a list or tuple and the loop has no break, continue, "
                          "return or else", node, self.where)
        targets = node.target.elts if isinstance(node.target, ast.Tuple) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            raise located(UnsupportedSyntaxError, "this loop target is not supported yet",
                          node.target, self.where)
        names = [name_id(t) for t in targets]
        result = []
        for index in range(len(part.value)) if positions is None else positions:
            value, done = step(part.value, "item", index)
            item = _Part(part.param, part.path + (done,), value, part.differentiated)
            self.function.facts.append((part.param, item.path, observe(value)))
            for name in names:
                self.structures.pop(name, None)
            if isinstance(node.target, ast.Tuple):
                result += self.bound_each(names, item, node)
            else:
                result += self.bound_each([names[0]], item, node, whole=True)
            result += self.block(copy_tree(node.body))
        return result

    def dict_part_loop(self, node: ast.For) -> list[ast.stmt] | None:
        """``for k, v in p.items()``, ``for v in p.values()``, ``for k in p.keys()`` or
        ``for k in p``, ``p`` a dict given as a structured argument: the body once per key,
        in the dict's order (its keys, in order, are a fact of the code), ``k`` that key
        (a constant where the body reads it: ``p[k]``) and ``v`` the part it names. None
        for any other loop."""
        iterable: ast.expr = node.iter
        how = "keys"
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and \
                iterable.func.attr in ("items", "values", "keys") and not iterable.args and \
                not iterable.keywords:
            how = iterable.func.attr
            iterable = iterable.func.value
        elif not isinstance(iterable, (ast.Name, ast.Subscript, ast.Attribute)):
            return None
        part = self.part(iterable)
        if part is None or not isinstance(part.value, dict):
            return None
        target = node.target
        names = target.elts if how == "items" and isinstance(target, ast.Tuple) else [target]
        unpacked = isinstance(names[-1], ast.Tuple) and how in ("items", "values") and all(
            isinstance(n, ast.Name) for n in names[-1].elts)
        if len(names) != (2 if how == "items" else 1) or not all(
                isinstance(n, ast.Name) or (n is names[-1] and unpacked) for n in names):
            raise located(UnsupportedSyntaxError, f"this loop over {text(part.param, part.path)}"
                          f".{how}() unpacks its items into names: `for k, v in p.items()`, "
                          "`for v in p.values()`, `for k in p`", node.target, self.where)
        if node.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return))
                              for s in node.body for n in walk(s)):
            raise located(UnsupportedSyntaxError, f"srcdiff loops over the items of "
                          f"{text(part.param, part.path)} (a dict) when the loop has no "
                          "break, continue, return or else", node, self.where)
        key_name = name_id(names[0]) if how in ("items", "keys") else None
        value_names = [name_id(n) for n in cast(ast.Tuple, names[-1]).elts] if unpacked else \
            [name_id(names[-1])] if how in ("items", "values") else []
        bound = {n.id for s in node.body for n in walk(s) if isinstance(n, ast.Name)
                 and not isinstance(n.ctx, ast.Load)} | {
                     n.arg for s in node.body for n in walk(s) if isinstance(n, ast.arg)}
        result: list[ast.stmt] = []
        for key in part.value:
            value, done = step(part.value, "item", key)
            item = _Part(part.param, part.path + (done,), value, part.differentiated)
            self.function.facts.append((part.param, item.path, observe(value)))
            body = copy_tree(node.body)
            if key_name is not None:
                result += self.bind(key_name, _located(ast.Constant(key), node), node)
                if key_name not in bound:  # p[k] reads the part: k a constant there
                    body = [cast(ast.stmt, _Constants({key_name: ast.Constant(key)}).visit(s))
                            for s in body]
            for name in value_names:
                self.structures.pop(name, None)
            if unpacked:  # for name, (X, y) in data.items()
                result += self.bound_each(value_names, item, node)
            elif value_names:
                result += self.bound_each(value_names, item, node, whole=True)
            result += self.block(body)
        return result

    def counted_part_loop(self, node: ast.For) -> list[ast.stmt] | None:
        """``for i, layer in enumerate(p.layers)`` (a constant ``start`` too) and ``for
        a, b in zip(p.first, p.second)`` over lists or tuples given as structured
        arguments: the body once per position (the shortest's length, as zip's), ``i`` a
        constant in its copy of the body, each item the part at that position (unpacked
        where the target is a tuple: ``for i, (W, b) in enumerate(layers)``). None for any
        other loop."""
        iterable, target = node.iter, node.target
        if not (isinstance(iterable, ast.Call) and iterable.args and isinstance(
                target, ast.Tuple)) or any(isinstance(a, ast.Starred) for a in iterable.args):
            return None
        callee = self.parsed.resolve(iterable.func, self.locals)
        keywords = {k.arg: k.value for k in iterable.keywords}
        if callee is enumerate and len(iterable.args) + len(keywords) <= 2 and \
                set(keywords) <= {"start"} and len(target.elts) == 2:
            sources, counter = iterable.args[:1], target.elts[0]
            given = iterable.args[1] if len(iterable.args) > 1 else keywords.get("start")
            start = 0 if given is None else _constant_int(given, self)
            if start is None or not isinstance(counter, ast.Name):
                return None
            targets = target.elts[1:]
        elif callee is zip and not keywords and len(target.elts) == len(iterable.args):
            sources, counter, start, targets = iterable.args, None, 0, target.elts
        else:
            return None
        parts = [self.part(s) for s in sources]
        if not all(p is not None and isinstance(p.value, (list, tuple)) for p in parts):
            return None
        if node.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return))
                              for s in node.body for n in walk(s)):
            raise located(UnsupportedSyntaxError, "srcdiff loops over the items of a "
                          "structured argument when the loop has no break, continue, return "
                          "or else", node, self.where)
        bound = {n.id for s in node.body for n in walk(s) if isinstance(n, ast.Name)
                 and not isinstance(n.ctx, ast.Load)}
        result: list[ast.stmt] = []
        for position in range(min(len(cast(_Part, p).value) for p in parts)):  # type: ignore[arg-type]
            body = copy_tree(node.body)
            if counter is not None:
                index = _located(ast.Constant(start + position), node)
                result += self.bind(name_id(counter), index, node)
                if name_id(counter) not in bound:
                    body = [cast(ast.stmt, _Constants({name_id(counter): index}).visit(s))
                            for s in body]
            for part, element in zip(parts, targets):
                part = cast(_Part, part)
                value, done = step(part.value, "item", position)
                item = _Part(part.param, part.path + (done,), value, part.differentiated)
                self.function.facts.append((part.param, item.path, observe(value)))
                if isinstance(element, ast.Tuple):
                    names = [name_id(e) for e in element.elts if isinstance(e, ast.Name)]
                    if len(names) != len(element.elts):
                        raise located(UnsupportedSyntaxError, "this loop target is not "
                                      "supported yet", element, self.where)
                    for name in names:
                        self.structures.pop(name, None)
                    result += self.bound_each(names, item, node)
                elif isinstance(element, ast.Name):
                    self.structures.pop(element.id, None)
                    result += self.bound_each([element.id], item, node, whole=True)
                else:
                    raise located(UnsupportedSyntaxError, "this loop target is not supported "
                                  "yet", element, self.where)
            result += self.block(body)
        return result

    def bound_each(self, names: list[str], part: _Part, origin: ast.AST, whole: bool = False) -> list[ast.stmt]:
        """A loop target bound to ``part`` (``whole``) or to its items, once per
        unrolled iteration: like ``holds``, but the name is rebound each time."""
        stores, depth = self.stores, self.depth
        self.stores, self.depth = Counter({n: 1 for n in names}), 0
        try:
            return self.holds(names[0], part, origin) if whole else \
                self.unpack_part(names, part, origin)
        finally:
            self.stores, self.depth = stores, depth

    # -- lists the function builds ------------------------------------------------------
    def followed(self, name: str, origin: ast.AST) -> _List | None:
        """The list ``name`` stands for here, if it stands for one: read where it was
        made or in a block inside that one (elsewhere which list it is, or how long,
        depends on the path taken)."""
        found = self.lists.by_name.get(name)
        if found is None:
            return None
        if self.scope[:len(found.scope)] != found.scope:
            raise located(UnsupportedSyntaxError, f"{found.what} is made inside a loop or "
                          "branch and read after it: srcdiff follows a list where it is "
                          "made and in the blocks inside that one", origin, self.where,
                          hint="make the list before the loop or branch")
        return found

    def changes(self, name: str, origin: ast.AST, action: str) -> _List:
        """The list ``name`` stands for, about to grow or change here."""
        found = self.lists.by_name.get(name)
        if found is None:
            raise located(UnsupportedSyntaxError, f"{action} `{name}`, which is not a list "
                          "the function makes: srcdiff follows lists made in the function "
                          "(`out = []`, `[f(v) for v in ...]`)", origin, self.where)
        if found.is_tuple:
            raise located(UnsupportedSyntaxError, f"{found.what} is a tuple: Python cannot "
                          "change it", origin, self.where)
        if found.scope != self.scope and found.what.startswith("the list this comprehension"):
            raise located(UnsupportedSyntaxError, "this list comprehension has a condition: "
                          "the length of the list it makes is known only when the function "
                          "runs, and srcdiff follows lists whose length it knows when it "
                          "writes the gradient", origin, self.where, hint="use "
                          "sum(... for ... if ...) (or min, max, any, all), or a NumPy "
                          "array and numpy.where")
        if found.scope != self.scope:
            raise located(UnsupportedSyntaxError, f"{found.what} grows or changes inside a "
                          "branch, or a loop srcdiff does not unroll: srcdiff follows lists "
                          "whose length and elements are known when it writes the gradient",
                          origin, self.where, hint="loop over range() of a constant, a tuple "
                          "or a list the function makes (srcdiff unrolls those loops); or "
                          "use sum(... for ...), or a NumPy array")
        return found

    def item(self, value: ast.expr, origin: ast.AST, before: list[ast.stmt]) -> ast.expr | _List:
        """An element being put in a list: a list (followed, as Python keeps a reference
        to it), a constant as it is, anything else computed into a name of its own now
        (the element keeps the value it has now)."""
        made = self.make_list(value, origin, None, before)
        if made is not None:
            return made
        if isinstance(value, ast.Name) and self.grown(value.id, value):
            raise located(UnsupportedSyntaxError, f"`{value.id}` is a list grown while the "
                          "function runs: srcdiff does not put it in a list or tuple", value,
                          self.where, hint=f"put numpy.array({value.id}) in it")
        value = self.expression(value, before)
        if is_literal(value):
            return value
        name = self.fresh("item")
        before.append(self.assign(name, value, origin))
        return _name(name)

    def list_of(self, node: ast.expr | _List) -> _List | None:
        """The list srcdiff follows that ``node`` reads (``xs``, ``rows[0]``,
        ``xs[1:]``), else None; nothing is computed."""
        if isinstance(node, _List):
            return node
        if isinstance(node, ast.Name):
            return self.followed(node.id, node)
        if not isinstance(node, ast.Subscript):
            return None
        whole = self.list_of(node.value)
        if whole is None:
            return None
        if isinstance(node.slice, ast.Slice):
            if whole.keys is not None:
                raise located(UnsupportedSyntaxError, f"{whole.what} is a dict: a slice of it "
                              "raises TypeError", node, self.where)
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds: list[Any] = [None if b is None else _constant_key(b) for b in parts]
            if any(b is None and given is not None for b, given in zip(bounds, parts)):
                raise located(UnsupportedSyntaxError, f"slices of {whole.what} are taken "
                              "with constant bounds", node, self.where)
            return _List(whole.items[slice(*bounds)], self.scope, f"`{ast.unparse(node)}`",
                         whole.is_tuple)
        item = self.list_item(whole, node)
        return item if isinstance(item, _List) else None

    def list_item(self, whole: _List, node: ast.Subscript) -> ast.expr | _List:
        """The element ``node`` reads of ``whole``: its position (its key, for a dict)
        must be a constant."""
        key = _constant_key(node.slice)
        if whole.keys is not None:
            if key is None:
                raise located(UnsupportedSyntaxError, f"items of {whole.what}, a dict, are "
                              "read with constant keys", node, self.where)
            if key not in whole.keys:
                raise located(UnsupportedSyntaxError, f"{whole.what} has no key {key!r} here: "
                              f"`{ast.unparse(node)}` raises KeyError", node, self.where)
            return whole.items[whole.keys.index(key)]
        if not isinstance(key, int):
            raise located(UnsupportedSyntaxError, f"items of {whole.what} are read at "
                          "constant positions", node, self.where, hint="loop over the "
                          "list, or over range() of a constant (srcdiff unrolls those "
                          "loops)")
        if not -len(whole.items) <= key < len(whole.items):
            raise located(UnsupportedSyntaxError, f"{whole.what} has {len(whole.items)} "
                          f"elements here: `{ast.unparse(node)}` raises IndexError", node,
                          self.where)
        return whole.items[key]

    def position(self, whole: _List, node: ast.Subscript, before: list[ast.stmt]) -> ast.Name:
        """``xs[i]`` at a position known when the function runs: the position, from
        ``(0, 1, ..., n - 1)[i]`` (which raises as ``xs[i]`` would: TypeError, IndexError;
        a negative ``i`` counts from the end)."""
        if any(isinstance(item, _List) for item in whole.items) or \
                len(whole.items) > SELECT_LIMIT:
            raise located(UnsupportedSyntaxError, f"items of {whole.what} are read at "
                          "constant positions" + (
                              ", or at positions known when the function runs where it "
                              f"holds at most {SELECT_LIMIT} numbers" if whole.items else ""),
                          node, self.where, hint="loop over the list, or over range() of a "
                          "constant (srcdiff unrolls those loops)")
        positions = ast.Tuple([ast.Constant(k) for k in range(len(whole.items))], ast.Load())
        index = self.expression(copy_tree(node.slice), before)
        name = self.fresh("position")
        before.append(self.assign(name, _located(ast.Subscript(positions, index, ast.Load()),
                                                 node), node))
        return _name(name)

    def selected(self, whole: _List, position: ast.Name, origin: ast.AST) -> ast.expr:
        """The element of ``whole`` at ``position`` (valid): ``a if position == 0 else
        b if position == 1 else c``, differentiated as the branch taken."""
        chosen: ast.expr = copy_tree(cast(ast.expr, whole.items[-1]))
        for k in range(len(whole.items) - 2, -1, -1):
            test = ast.Compare(_name(position.id), [ast.Eq()], [ast.Constant(k)])
            chosen = ast.IfExp(test, copy_tree(cast(ast.expr, whole.items[k])), chosen)
        return _located(chosen, origin)

    def make_list(self, value: ast.expr | _List, origin: ast.AST, target: str | None,
                  before: list[ast.stmt]) -> _List | None:
        """The list ``value`` makes or names, followed from here on; None when it is no
        such list (``[1.0, 2.0]`` and ``(n, 3)`` of constants are data, unless the
        function appends to them or changes them)."""
        found = self.list_of(value)
        if found is not None:
            return found
        if isinstance(value, ast.ListComp):
            if self.grown_comprehension(value):
                return None  # a value like any other (visit_ListComp)
            return self.comprehension_list(value, before)
        if isinstance(value, ast.Call):
            returned = self.returned_tuple(value, before)
            if returned is not None:
                if target is not None:
                    returned.what = f"`{target}`"
                return returned
        if isinstance(value, ast.Dict) or (
                isinstance(value, ast.Call) and not value.args and
                self.parsed.resolve(value.func, self.locals) is dict):
            return self.make_dict(value, origin, target, before)
        what = f"`{target}`" if target else "this list"
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr == "copy" and not value.args and not value.keywords:
            copied = self.list_of(value.func.value)  # ys = xs.copy(): a new list
            if copied is not None and copied.keys is None:
                return _List(list(copied.items), self.scope, what, copied.is_tuple)
        if target in self.mutated and isinstance(value, (ast.BinOp, ast.Subscript, ast.Call)):
            # (not a name: `buf = data` is another name for the same list, which a
            # change of buf changes too)
            written = self.constant_sequence(value, what, origin)
            if written is not None:  # [0.0] * 3, [0.5] * 2 + [0.0], data[:]: written out
                return _List([self.item(copy_tree(e), origin, before) for e in written.elts],
                             self.scope, what, isinstance(written, ast.Tuple))
        if not isinstance(value, (ast.List, ast.Tuple)):
            return None
        if is_literal(value) and value.elts and target not in self.mutated:
            return None
        items: list[ast.expr | _List] = []
        for element in value.elts:
            if isinstance(element, ast.Starred):  # [*xs, y]: the elements of xs, in place
                items += [e if isinstance(e, _List) or is_literal(e) else
                          self.item(e, origin, before)
                          for e in self.elements(element.value, before)]
            else:
                items.append(self.item(element, origin, before))
        return _List(items, self.scope, what, isinstance(value, ast.Tuple))

    def constant_sequence(self, value: ast.expr, what: str,
                          origin: ast.AST) -> ast.List | ast.Tuple | None:
        """A list (or tuple) of constants written out from an expression of them, for a
        list the function then changes (``buf = [0.0] * 3; buf[1] = x``): literals, names
        bound once to one (``self.literals``; the caller takes a new list only: a slice, a
        ``+`` or a ``*``), constant slices of them, ``+`` of two and
        ``*`` by a constant count (a list of at most ``REPEAT_LIMIT`` elements). None for
        anything else; refused where a count is known only when the function runs, or a
        list of lists is repeated (its rows are then one list)."""
        if isinstance(value, (ast.List, ast.Tuple)):
            return value if is_literal(value) else None
        if isinstance(value, ast.Name):
            return self.literals.get(value.id)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr == "copy" and not value.args and not value.keywords:
            return self.constant_sequence(value.func.value, what, origin)  # data.copy()
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):
            whole = self.constant_sequence(value.value, what, origin)
            parts = (value.slice.lower, value.slice.upper, value.slice.step)
            keys = [None if b is None else _constant_key(b) for b in parts]
            bounds = [k if isinstance(k, int) else None for k in keys]
            if whole is None or any(b is None and given is not None
                                    for b, given in zip(bounds, parts)) or bounds[2] == 0:
                return None
            return type(whole)(whole.elts[slice(*bounds)], ast.Load())
        if not isinstance(value, ast.BinOp):
            return None
        if isinstance(value.op, ast.Add):
            left = self.constant_sequence(value.left, what, origin)
            right = self.constant_sequence(value.right, what, origin)
            if left is None or right is None or type(left) is not type(right):
                return None
            return type(left)(left.elts + right.elts, ast.Load())
        if not isinstance(value.op, ast.Mult):
            return None
        for sequence_node, count in ((value.left, value.right), (value.right, value.left)):
            sequence = self.constant_sequence(sequence_node, what, origin)
            if sequence is None:
                continue
            times = _constant_int(count, self)
            if times is None or len(sequence.elts) * max(times, 0) > REPEAT_LIMIT:
                raise located(UnsupportedSyntaxError, f"{what} is a list repeated "
                              + ("a number of times known only when the function runs"
                                 if times is None else f"to {len(sequence.elts) * times} "
                                 "elements") + ", and changed: srcdiff follows the lists it "
                              f"changes element by element, up to {REPEAT_LIMIT} of them",
                              origin, self.where, hint="an array: numpy.zeros(n), or "
                              "numpy.full(n, value)")
            if any(isinstance(element, (ast.List, ast.Tuple)) for element in sequence.elts):
                raise located(UnsupportedSyntaxError, f"{what} repeats a list (`[[0.0, 0.0]] "
                              "* 3`), whose rows are then one list: changing one changes all",
                              origin, self.where, hint="write the rows out, or make an array "
                              "(numpy.zeros((3, 2)))")
            return type(sequence)(sequence.elts * max(times, 0), ast.Load())
        return None

    def make_dict(self, value: ast.Dict | ast.Call, origin: ast.AST, target: str | None,
                  before: list[ast.stmt]) -> _List:
        """``{"w": a, "b": b}`` or ``dict(w=a, b=b)``: a dict with constant keys, followed
        key by key as a list is element by element."""
        if isinstance(value, ast.Call):
            pairs: list[tuple[ast.expr | None, ast.expr]] = [
                (None if k.arg is None else ast.Constant(k.arg), k.value) for k in value.keywords]
        else:
            pairs = list(zip(value.keys, value.values))
        made = _List([], self.scope, f"`{target}`" if target else "this dict", keys=[])
        assert made.keys is not None
        for key_node, element in pairs:
            key = None if key_node is None else _constant_key(key_node)
            if key is None:
                raise located(UnsupportedSyntaxError, "srcdiff follows dicts made with "
                              "constant keys (str or int), without `**`", key_node or element,
                              self.where)
            made.put(key, self.item(element, origin, before))
        return made

    def elements(self, node: ast.expr, before: list[ast.stmt],
                 evaluated: bool = True) -> list[ast.expr | _List]:
        """What ``*node`` spreads: the elements of a list srcdiff follows or one written
        out (computed into ``before`` first, unless not ``evaluated``: then they are
        returned as written, to be evaluated where they stand), of a tuple of numbers
        of the module, or of a structured argument that is a list or tuple. Anything
        else is refused: its length is known only when the function runs."""
        if not evaluated and isinstance(node, (ast.Tuple, ast.List)) and not any(
                isinstance(e, ast.Starred) for e in node.elts):
            return list(node.elts)
        part = self.part(node)
        if part is not None and isinstance(part.value, (list, tuple)):
            return [_located(ast.Subscript(copy_tree(node), ast.Constant(i), ast.Load()), node)
                    for i in range(len(part.value))]
        found = None
        if evaluated or isinstance(node, (ast.Name, ast.Subscript)):
            found = self.list_iteration(node, before=before)
        args = self.function.args
        if isinstance(node, ast.Name) and node.id not in self.structures and node.id in [
                a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]:
            from .errors import KindError  # a tuple argument is read when one is given
            raise located(KindError, f"`*{node.id}` spreads the argument `{node.id}`: srcdiff "
                          "spreads a list or tuple argument differentiated with respect to "
                          "(a structure); one of numbers it does not differentiate is an "
                          "array to srcdiff, whose length is known only when the function "
                          "runs", node, self.where, hint="pass the numbers one by one")
        if found is None or any(not isinstance(e, (ast.expr, _List)) for e in found):
            raise located(UnsupportedSyntaxError, f"`*{ast.unparse(node)}`: srcdiff spreads "
                          "lists and tuples whose elements it knows when it writes the "
                          "gradient (made in the function, written out, a tuple of numbers "
                          "of the module, part of a structured argument)", node, self.where,
                          hint="write the elements out")
        return [copy_tree(e) if isinstance(e, ast.expr) else e for e in found]

    def comprehension_list(self, node: ast.ListComp, before: list[ast.stmt]) -> _List:
        """``[e for v in ...]``: its loops written out, appending to a list followed here
        (they are unrolled: the list's length must be known)."""
        made = _List([], self.scope, "the list this comprehension makes")
        name = self.fresh("listcomp")
        self.lists.by_name[name] = made
        self.lists.names.add(name)
        def append(element: ast.expr) -> list[ast.stmt]:
            call = ast.Call(ast.Attribute(_name(name), "append", ast.Load()), [element], [])
            return [_located(ast.Expr(call), node.elt)]

        before += self.block([_comprehension_loops(self, node, append)])
        return made

    def bind_list(self, target: str, made: _List, origin: ast.AST) -> None:
        found = self.lists.by_name.get(target)
        if (found is not None and found.scope != self.scope) or target in self.lists.plain:
            raise located(UnsupportedSyntaxError, f"`{target}` stands for a list here and is "
                          "bound elsewhere too (in another block, or to another value): "
                          "srcdiff follows a list bound in one block", origin, self.where)
        self.not_structured(target, origin)
        self.lists.grown.pop(target, None)  # followed from here on
        if made.what.startswith("the list") or made.what == "this list":
            made.what = f"`{target}`"
        self.lists.by_name[target] = made
        self.lists.names.add(target)

    # -- lists grown while the function runs ----------------------------------------------
    def grown_comprehension(self, node: ast.ListComp) -> bool:
        """Whether the list comprehension ``node`` makes a list whose length is known only
        when the function runs: it loops over such values (an array, a list grown at
        run time, ``range(n)`` of an argument), or has a condition."""
        return any(generator.ifs or self.list_iteration(generator.iter, probe=True) is None
                   for generator in node.generators)

    def runtime_call(self, name: str, args: list[ast.expr], origin: ast.AST) -> ast.Call:
        """A call of the helper ``srcdiff.runtime.<name>``, which has a rule."""
        from . import runtime
        from .array_rules import helper_name
        call = _located(ast.Call(_name(helper_name(self.function, name)), args, []), origin)
        set_anno(call, "callee", getattr(runtime, name))
        return call

    def needs_numpy(self, origin: ast.AST) -> None:
        if RULES.arrays() is None:
            raise located(UnsupportedSyntaxError, "this list's length is known only when "
                          "the function runs: srcdiff differentiates such lists as NumPy "
                          "arrays, and NumPy is not imported", origin, self.where,
                          hint="import numpy in the module, or loop over range() of a "
                          "constant (srcdiff writes those loops out)")

    def grow_comprehension(self, node: ast.ListComp, before: list[ast.stmt]) -> ast.Name:
        """``[e for v in xs if c]`` of a length known only when the function runs: a
        list grown by the loops the comprehension stands for, into a fresh name."""
        self.needs_numpy(node)
        name = self.fresh("listcomp")
        self.lists.grown[name] = self.scope
        self.lists.ever_grown.add(name)
        self.lists.names.add(name)

        def append(element: ast.expr) -> list[ast.stmt]:
            call = ast.Call(ast.Attribute(_name(name), "append", ast.Load()), [element], [])
            return [_located(ast.Expr(call), node.elt)]
        before.append(self.assign(name, self.runtime_call("empty_list", [], node), node))
        before += self.block([_comprehension_loops(self, node, append)])
        return _located(_name(name), node)

    def grow_lists_of(self, node: ast.For | ast.While | ast.If) -> list[ast.stmt]:
        """Before a loop srcdiff does not write out (its values, or how many times it
        runs, known only when the function runs): the lists made before it that it
        appends to, from here on grown as it runs; their elements so far appended to an
        empty one. A list it changes otherwise, or that another name or list refers to,
        is refused (a grown list is a value: Python would change the shared one). Before
        an ``if``: the lists made in this block that its branches only append to (the
        length depends on the branch taken); the others are left to be refused where
        they change."""
        branch = isinstance(node, ast.If)
        appended, changed = _changed_lists(node.body + node.orelse)
        result: list[ast.stmt] = []
        for name in sorted(changed):
            made = self.lists.by_name.get(name)
            if made is None:
                continue
            shared = [other for other, found in self.lists.by_name.items()
                      if found is made and other != name] + [
                          found.what for found in self.lists.by_name.values()
                          if any(item is made for item in found.items)]
            if name not in appended or made.keys is not None or made.is_tuple or \
                    made.scope != self.scope or shared or \
                    any(not isinstance(item, ast.expr) for item in made.items):
                if branch:
                    continue
                self.changes(name, node, "append to")  # refuses, located
                raise located(UnsupportedSyntaxError, f"{made.what} grows in a loop whose "
                              "length srcdiff knows only when the function runs, and "
                              + (f"is also known as `{shared[0]}`" if shared else
                                 "is changed otherwise, or holds lists"), node, self.where,
                              hint="append numbers or arrays to a list of its own")
            if branch and RULES.arrays() is None:
                continue  # refused where it grows
            self.needs_numpy(node)
            result.append(self.assign(name, self.runtime_call("empty_list", [], node), node))
            for item in made.items:
                result.append(self.assign(name, self.runtime_call(
                    "appended", [_name(name), copy_tree(cast(ast.expr, item))], node), node))
            del self.lists.by_name[name]
            self.lists.grown[name] = self.scope
            self.lists.ever_grown.add(name)
        return result

    def grown(self, name: str, origin: ast.AST) -> bool:
        """Whether ``name`` stands for a list grown while the function runs (not one
        followed here, which a name once grown may stand for again), read where it became
        one or in a block inside that one."""
        scope = self.lists.grown.get(name)
        if scope is None or name in self.lists.by_name:
            return False
        if self.scope[:len(scope)] != scope:
            raise located(UnsupportedSyntaxError, f"`{name}` is a list grown inside a loop "
                          "or branch and read after it", origin, self.where,
                          hint="make the list before the loop or branch")
        return True

    def append(self, node: ast.Expr) -> list[ast.stmt]:
        """``out.append(v)``: ``v`` becomes the list's next element."""
        call = cast(ast.Call, node.value)
        name = name_id(cast(ast.Attribute, call.func).value)
        before: list[ast.stmt] = []
        if self.grown(name, node):
            element = call.args[0]
            if isinstance(element, (ast.List, ast.Tuple, ast.ListComp, ast.Dict)) or (
                    isinstance(element, ast.Name) and (element.id in self.lists.by_name or
                                                       element.id in self.lists.grown)):
                raise located(UnsupportedSyntaxError, f"`{name}` is a list grown while the "
                              "function runs: its elements are numbers or arrays, not lists "
                              "or tuples", element, self.where, hint="append numpy.array(...)")
            value = self.expression(element, before)
            return before + [self.assign(name, self.runtime_call(
                "appended", [_name(name), value], node), node)]
        made = self.changes(name, node, "append to")
        if made.keys is not None:
            raise located(UnsupportedSyntaxError, f"{made.what} is a dict: it has no append",
                          node, self.where)
        made.items.append(self.item(call.args[0], node, before))
        return before

    def list_item_assignment(self, target: ast.Subscript, value: ast.expr,
                             node: ast.AST) -> list[ast.stmt]:
        """``out[k] = v`` for a constant ``k``: ``v`` becomes that element."""
        made = self.changes(name_id(target.value), node, "assignment to an item of")
        key = _constant_key(target.slice)
        before: list[ast.stmt] = []
        if made.keys is not None:  # d["k"] = v: a new value, or a new key at the end
            if key is None:
                raise located(UnsupportedSyntaxError, f"items of {made.what}, a dict, are "
                              "assigned with constant keys", target, self.where)
            made.put(key, self.item(value, node, before))
            return before
        if key is None and not isinstance(target.slice, ast.Slice):
            # xs[i] = v, i known when the function runs: each element becomes v where i
            # is its position, and stays itself elsewhere
            value_node = self.item(value, node, before)  # evaluated first, as Python does
            position = self.position(made, target, before)
            for k, old in enumerate(list(made.items)):
                test = ast.Compare(_name(position.id), [ast.Eq()], [ast.Constant(k)])
                choice = _located(ast.IfExp(test, copy_tree(cast(ast.expr, value_node)),
                                            copy_tree(cast(ast.expr, old))), node)
                made.items[k] = self.item(choice, node, before)
            return before
        if not isinstance(key, int) or not -len(made.items) <= key < len(made.items):
            raise located(UnsupportedSyntaxError, f"items of {made.what} (of length "
                          f"{len(made.items)}) are assigned at constant positions in range",
                          target, self.where)
        made.items[key] = self.item(value, node, before)
        return before

    def follows_lists(self, node: ast.For) -> bool:
        """Whether this loop must be unrolled: it loops over a list srcdiff follows, or
        its body reads or changes one (``out.append``, ``out[i]``)."""
        return self.list_iteration(node.iter, probe=True) == "follows" or \
            self.grows_lists(node.body) or any(
                isinstance(n, ast.Subscript) and _names_list(n.value, self)
                and _constant_key(n.slice) is None and not isinstance(n.slice, ast.Slice)
                for s in node.body for n in walk(s))

    def grows_lists(self, body: list[ast.stmt]) -> bool:
        """Whether ``body`` appends to, or assigns items of, a list made before it."""
        appended, changed = _changed_lists(body)
        return any(name in self.lists.by_name for name in appended | changed)

    def list_iteration(self, node: ast.expr, probe: bool = False,
                       before: Any = None) -> Any:  # see the docstring; before: unless probe
        """The values a loop over ``node`` takes, when srcdiff knows them now: range() of
        constants, a tuple or list written out, a list it follows, and zip, enumerate
        and reversed of those (a list of expressions; the elements of a tuple or list
        written out are computed into ``before`` first). With ``probe``, only whether:
        "follows" (a list srcdiff follows is looped over), "known", or None."""
        n = self
        if isinstance(node, ast.Name) and node.id in n.literals:
            return "known" if probe else [copy_tree(e) for e in n.literals[node.id].elts]
        if isinstance(node, ast.Name) and node.id not in n.locals and \
                node.id not in n.lists.by_name and node.id not in n.function.synthetic:
            # a module's data
            value = n.parsed.resolve(node, n.locals)
            if isinstance(value, (tuple, list)) and all(
                    type(v) in (int, float) for v in value):
                return "known" if probe else [literal(v) for v in value]
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("items", "values", "keys") and not node.args and \
                not node.keywords and isinstance(node.func.value, (ast.Name, ast.Subscript)):
            if probe:  # d.items(), d.values(), d.keys() of a dict srcdiff follows
                return "follows" if _names_list(node.func.value, n) else None
            whole = n.list_of(node.func.value)
            if whole is None or whole.keys is None:
                return None
            keys: list[ast.expr | _List] = [ast.Constant(k) for k in whole.keys]
            return {"keys": keys, "values": list(whole.items),
                    "items": list(zip(keys, whole.items))}[node.func.attr]
        if isinstance(node, (ast.Name, ast.Subscript)):
            if probe:
                return "follows" if _names_list(node, n) else None
            made = n.list_of(node)
            if made is not None and made.keys is not None:  # a dict: its keys
                return [ast.Constant(k) for k in made.keys]
            return None if made is None else list(made.items)
        if isinstance(node, ast.ListComp):
            if n.grown_comprehension(node):
                return None  # its length is known only when the function runs
            return "follows" if probe else list(n.comprehension_list(node, before).items)
        if isinstance(node, (ast.Tuple, ast.List)):
            if probe:  # values computed here are unrolled; constants are data
                return "known" if is_literal(node) else "follows"
            return [n.item(e, node, before) for e in node.elts]
        if isinstance(node, ast.Call) and n.callee_of(node) is not None:
            if probe:  # g(x) returning a tuple: the values it returns
                return "follows" if n.tuple_returned(node) is not None else None
            returned = n.returned_tuple(node, before)
            return None if returned is None else list(returned.items)
        if not isinstance(node, ast.Call):
            return None
        callee = n.parsed.resolve(node.func, n.locals)
        if node.keywords:  # enumerate(xs, start=1) only (the fence refuses the rest)
            if callee is not enumerate or [k.arg for k in node.keywords] != ["start"] \
                    or len(node.args) != 1:
                return None
            node = ast.Call(node.func, [node.args[0], node.keywords[0].value], [])
        if callee is range:
            bounds = [_constant_int(a, n) for a in node.args]
            if None in bounds or not 1 <= len(bounds) <= 3 or (len(bounds) == 3 and bounds[2] == 0):
                return None
            values = range(*cast("list[int]", bounds))
            return "known" if probe else [ast.Constant(v) for v in values]
        if callee in (zip, enumerate, reversed) and node.args:
            sources = node.args[:1] if callee is not zip else node.args
            probes = [n.list_iteration(a, probe=True) for a in sources]
            if None in probes or (callee is enumerate and len(node.args) > 2) or (
                    callee is reversed and len(node.args) > 1):
                return None
            if probe:
                return "follows" if "follows" in probes else "known"
            parts = [n.list_iteration(a, before=before) for a in sources]
            if callee is reversed:
                return parts[0][::-1]
            if callee is enumerate:
                start = _constant_int(node.args[1], n) if len(node.args) > 1 else 0
                if start is None:
                    raise located(UnsupportedSyntaxError, "enumerate() over a list srcdiff "
                                  "follows starts at a constant", node, n.where)
                return [(ast.Constant(start + i), v) for i, v in enumerate(parts[0])]
            return list(zip(*parts))
        return None

    def unroll_list_loop(self, node: ast.For) -> list[ast.stmt]:
        """A loop over a list srcdiff follows, or whose body grows or reads one: the
        body once per value, the target bound to it."""
        before: list[ast.stmt] = []
        values = self.list_iteration(node.iter, before=before)
        reason = None
        if values is None:
            reason = "it loops over values known only when the function runs"
        elif node.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return))
                                for s in node.body for n in walk(s)):
            reason = "it has a break, continue, return or else"
        elif len(values) > UNROLL_LIMIT:
            reason = f"it runs {len(values)} times (srcdiff unrolls at most {UNROLL_LIMIT})"
        elif any(name in self.lists.by_name for name in _appended_in_branches(node.body)):
            reason = "it appends to a list in a branch"  # its length: known only when run
        if reason is not None:
            if self.list_iteration(node.iter, probe=True) != "follows":
                # it only reads lists, or grows them: a loop as any other (its reads are
                # checked there; the lists it appends to become lists grown as it runs)
                grown = self.grow_lists_of(node)
                self.depth += 1
                try:
                    return before + grown + self.loop(node)
                finally:
                    self.depth -= 1
            raise located(UnsupportedSyntaxError, "srcdiff writes out a loop that goes over "
                          "a list the function makes, or grows or changes one; not this "
                          f"one: {reason}", node, self.where, hint="loop over range() of a "
                          "constant, a tuple or a list the function makes; or use "
                          "sum(... for ...) or a NumPy array")
        assert isinstance(values, list)
        # a constant the target takes is written into the body where it is read (xs[i],
        # d[k]), unless the body binds that name itself (an assignment, a comprehension's
        # or a lambda's variable)
        bound = {n.id for s in node.body for n in walk(s) if isinstance(n, ast.Name)
                 and not isinstance(n.ctx, ast.Load)} | {
                     n.arg for s in node.body for n in walk(s) if isinstance(n, ast.arg)}
        watched = self.iterated_lists(node.iter)
        for count, value in enumerate(values):
            before += self.bind_target(node.target, value, node)
            body = copy_tree(node.body)
            constants = {name: constant for name, constant in _constants_of(node.target, value)
                         if name not in bound}
            if constants:
                body = [cast(ast.stmt, _Constants(constants).visit(s)) for s in body]
            before += self.block(body)
            for made, items, backward in watched:  # Python reads each item when it gets to it
                ahead = slice(0, max(len(items) - 1 - count, 0)) if backward else \
                    slice(count + 1, None)
                if len(made.items) != len(items) or any(
                        a is not b for a, b in zip(made.items[ahead], items[ahead])):
                    raise located(UnsupportedSyntaxError, f"the loop changes {made.what}, "
                                  "which it goes over, at an item it has not reached: "
                                  "Python's loop reads each item when it gets to it and sees "
                                  "the change; srcdiff writes the loop out with the items it "
                                  "had when the loop started", node, self.where,
                                  hint="loop over a copy (`for b in buf[:]`), or over "
                                  "range(len(buf)) reading buf[i] in the body")
        return before

    def iterated_lists(self, iterable: ast.expr) -> list[tuple[_List, list[Any], bool]]:
        """The lists and dicts srcdiff follows that a loop goes over by reference (``xs``,
        ``enumerate(xs)``, ``zip(xs, ys)``, ``reversed(xs)``, ``d.values()``), each with
        its items when the loop starts and whether it is gone over backwards: a change of
        an item the loop has not reached yet is one Python's loop sees (a copy, ``xs[:]``,
        is a list of its own)."""
        backward = False
        names: list[ast.expr] = [iterable]
        if isinstance(iterable, ast.Call) and not iterable.keywords:
            callee = self.parsed.resolve(iterable.func, self.locals)
            if callee in (enumerate, zip, reversed):
                names, backward = list(iterable.args[:1] if callee is not zip
                                       else iterable.args), callee is reversed
            elif isinstance(iterable.func, ast.Attribute) and iterable.func.attr in (
                    "values", "items", "keys") and not iterable.args:
                names = [iterable.func.value]
        watched = []
        for name in names:
            if isinstance(name, ast.Name) and name.id in self.lists.by_name:
                made = self.lists.by_name[name.id]
                watched.append((made, list(made.items), backward))
        return watched

    def bind_target(self, target: ast.expr, value: Any, origin: ast.AST) -> list[ast.stmt]:
        """A target of an unrolled loop bound to one of its values: an expression, a
        list srcdiff follows, or a tuple of those (what zip and enumerate give)."""
        if not isinstance(target, ast.Tuple):
            return self.bind(name_id(target), copy_tree(value), origin)
        if isinstance(value, _List):
            value = tuple(value.items)
        elif isinstance(value, (ast.Tuple, ast.List)) and is_literal(value):
            value = tuple(value.elts)
        if not isinstance(value, tuple) or len(value) != len(target.elts):
            raise located(UnsupportedSyntaxError, "this loop's target does not unpack the "
                          "values it takes", target, self.where)
        result = []
        for element, part in zip(target.elts, value):
            result += self.bind_target(element, part, origin)
        return result

    # -- blocks and control flow ------------------------------------------------
    def skip_flag(self) -> str:
        """The flag that skips the rest of the block (there is one where this is asked:
        ``may_leave``)."""
        flag = self.loops[-1].skip if self.loops else self.returned
        assert flag is not None
        return flag

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        ended = False
        for index, statement in enumerate(statements):
            self.ended, self.folded, leaves = False, None, self.leaves
            result.extend(self.statement(statement))
            # what the fold of a constant test said of this statement (each block resets
            # it after reading, so a statement's inner blocks leave nothing behind)
            folded, always_leaves = self.folded, self.ended
            self.ended, self.folded = False, None
            if folded is not None and self.leaves == leaves:
                # an if of a constant test whose branch taken set no flag: nothing after
                # it needs a guard (the branch not taken may return; it is gone)
                statement = ast.Pass()
            if isinstance(statement, (ast.Break, ast.Continue, ast.Return, ast.Raise)) or \
                    always_leaves:
                ended = True
                break  # the rest of the block cannot run
            rest = statements[index + 1:]
            if rest and self.may_leave(statement):
                with self.nested():
                    guarded = self.block(rest)
                if guarded:
                    test = ast.UnaryOp(ast.Not(), _name(self.skip_flag()))
                    result.append(_located(ast.If(test, guarded, []), rest[0]))
                break
        self.block_ended = ended  # it always leaves before its end (a constant test's branch)
        return result

    def may_leave(self, statement: ast.stmt) -> bool:
        """Whether ``statement`` may set the skip flag of the block it is in."""
        return _leaves(statement, returns_early=self.returned is not None,
                       loops_too=bool(self.loops))

    def statement(self, node: ast.stmt) -> list[ast.stmt]:
        node = self.spread_calls(node)
        if isinstance(node, ast.FunctionDef):
            return self.define_local(node, [node.name], node)
        if isinstance(node, (ast.Break, ast.Continue)):
            self.leaves += 1
        if isinstance(node, ast.Break):
            loop = self.loops[-1]
            assert loop.skip is not None and loop.broke is not None  # loop() made them
            return [self.assign(loop.skip, ast.Constant(True), node),
                    self.assign(loop.broke, ast.Constant(True), node)]
        if isinstance(node, ast.Continue):
            assert self.loops[-1].skip is not None  # loop() made it
            return [self.assign(self.loops[-1].skip, ast.Constant(True), node)]
        if isinstance(node, ast.Return):
            return self.return_(node)
        if isinstance(node, ast.If):
            before = self.grow_lists_of(node)  # appended to in a branch: grown as it runs
            test = self.expression(node.test, before)
            decided = _constant_truth(test)
            if decided is not None:  # kind == "tanh", the helper given kind="tanh"
                branch = node.body if decided else node.orelse
                with self.nested():
                    statements = before + self.block(branch)
                # the branch taken always leaves the block (a return, a raise, a break,
                # a continue): nothing after the if runs; else only it may leave
                self.ended = self.block_ended
                self.folded = branch
                return statements
            self.depth += 1
            with self.nested():
                body = self.block(node.body)
            with self.nested():
                orelse = self.block(node.orelse)
            self.depth -= 1
            return before + [_located(ast.If(test, body or [ast.Pass()], orelse), node)]
        if isinstance(node, ast.For):
            sliced = self.sliced_part(node.iter)
            if sliced is not None:  # params[:-1]: the items of a constant slice
                return self.unroll(node, *sliced)
            looped = self.dict_part_loop(node)
            if looped is None:  # for i, layer in enumerate(self.layers), zip(parts...)
                looped = self.counted_part_loop(node)
            if looped is not None:  # for k, v in p.items(), p a structured dict
                return looped
            part = self.part(node.iter)
            if part is not None and is_object(part.value):  # not a leaf: one per item
                return self.unroll(node)
            if self.follows_lists(node):
                return self.unroll_list_loop(node)
        if isinstance(node, (ast.For, ast.While)):
            grown = self.grow_lists_of(node) if isinstance(node, ast.While) else []
            self.depth += 1
            try:
                return grown + self.loop(node)
            finally:
                self.depth -= 1
        if isinstance(node, (ast.Try, ast.Raise)):
            return self.opaque(node)
        return self.simple(node)

    def opaque(self, node: ast.Try | ast.Raise) -> list[ast.stmt]:
        """A ``try`` or ``raise`` statement, kept as written: it runs in the gradient's
        forward sweep (``lower`` renames its names, ``analyse`` refuses a ``try`` that
        touches values that depend on the parameters; a ``raise`` may read them, as
        nothing runs after it). What srcdiff follows without a value at run time (a
        list made in the function, part of a structured argument) it may neither read
        nor bind."""
        inside = "`try`" if isinstance(node, ast.Try) else "`raise`"
        node = _located(copy_tree(node), node)
        for found in walk(node):
            if not isinstance(found, ast.Name):
                continue
            part = self.structures.get(found.id)
            if part is not None and part.differentiated and inside == "`try`":
                raise located(UnsupportedSyntaxError, "`try` around differentiated values "
                              f"is not supported: `{found.id}` is differentiated", found,
                              self.where, hint="compute it outside the `try`: srcdiff runs "
                              "a `try` as written, as a computation of constants")
            if part is not None and not part.path and isinstance(found.ctx, ast.Load):
                found.id = part.param  # a callee's name for a whole structured argument
                continue
            if found.id in self.lists.by_name or found.id in self.lists.names or (
                    part is not None):
                what = "a list srcdiff follows" if part is None else \
                    "part of a structured argument"
                raise located(UnsupportedSyntaxError, f"`{found.id}` stands for {what}, "
                              f"which has no value of its own at run time: a {inside}, run "
                              "as written, cannot use it", found, self.where,
                              hint=f"compute what the {inside} needs from it before the "
                              f"{inside}")
            if isinstance(found.ctx, ast.Store):
                self.lists.plain.add(found.id)
        return [node]

    def spread_calls(self, node: ast.stmt) -> ast.stmt:
        """``node`` with each ``f(*xs)`` and ``[*xs, y]`` it evaluates itself (not in a
        comprehension, whose variables are bound later) written with xs's elements in
        place: a copy, as a loop's body unrolled is normalized once per iteration."""
        if isinstance(node, ast.FunctionDef) or not self.starred():
            return node
        if not any(_spreads(parent) for root in _evaluated(node) for parent in walk(root)):
            return node
        node = copy_tree(node)
        roots = _evaluated(node)
        calls = [n for root in roots for n in walk(root) if isinstance(n, ast.Call)
                 and self.callee_of(n) is not None]
        stack = roots
        while stack:
            current = stack.pop()
            if isinstance(current, (ast.ListComp, ast.GeneratorExp, ast.SetComp,
                                    ast.DictComp, ast.Lambda)):
                continue  # spread where their loops are written out
            if _spreads(current):
                spread = [e for element in _spread_parts(current)
                          for e in self.spread_element(element, calls)]
                if isinstance(current, ast.Call):
                    current.args = spread
                    set_anno(current, "spread", True)
                else:
                    cast(ast.List, current).elts = spread
            stack.extend(ast.iter_child_nodes(current))
        return node

    def spread_element(self, element: ast.expr, calls: list[ast.Call]) -> list[ast.expr]:
        """An argument or element, the elements of ``xs`` for ``*xs`` (a list among them
        by a name of its own)."""
        if not isinstance(element, ast.Starred):
            return [element]
        if self.list_of(element.value) is not None and any(
                self.list_of(a) is not None for call in calls for a in call.args
                if isinstance(a, (ast.Name, ast.Subscript))):
            raise located(UnsupportedSyntaxError, "a list spread with `*` where a function "
                          "called in the same statement is given a list (it may change "
                          "it): not supported", element, self.where,
                          hint="call the function in a statement of its own")
        result: list[ast.expr] = []
        for item in self.elements(element.value, [], evaluated=False):
            if isinstance(item, _List):  # a list in the list: a name stands for it
                alias = self.fresh("row")
                self.lists.by_name[alias] = item
                self.lists.names.add(alias)
                item = _name(alias)
            result.append(_located(item, element))
        return result

    def starred(self) -> bool:
        """Whether the source the statements come from has a ``*`` anywhere (asked once
        per source: most have none, and then no statement is walked for one)."""
        tree = self.where.tree
        if id(tree) not in self.lists.starred:
            self.lists.starred[id(tree)] = any(isinstance(n, ast.Starred) for n in walk(tree))
        return self.lists.starred[id(tree)]

    @contextlib.contextmanager
    def nested(self) -> Iterator[None]:
        """Statements in a block of their own (a branch, a loop's body): a list made
        before it may be read there, not grown or changed."""
        outer = self.scope
        self.scope = outer + (self.lists.block(),)
        try:
            yield
        finally:
            self.scope = outer

    def return_(self, node: ast.Return) -> list[ast.stmt]:
        before: list[ast.stmt] = []
        values: list[ast.expr]
        if self.outputs is not None and id(node) in self.returned_calls:  # return helper(x)
            names = self.returned_calls[id(node)]
            stored: list[ast.expr] = [_name(n, store=True) for n in names]
            target = ast.Tuple(stored, ast.Store())
            before += self.unpack(_located(target, node), cast(ast.expr, node.value), node)
            values = [_name(n) for n in names]
            if self.returned is None:
                return before + [_located(ast.Return(_located(ast.Tuple(values, ast.Load()),
                                                              node)), node)]
        elif self.outputs is not None:  # the function's own tuple (count_outputs checked it)
            values = [self.expression(v, before) for v in cast(ast.Tuple, node.value).elts]
            if self.returned is None:
                return before + [_located(ast.Return(_located(ast.Tuple(values, ast.Load()),
                                                              node)), node)]
        elif self.results is not None and len(self.results) > 1:
            made = None if isinstance(node.value, ast.Tuple) else self.make_list(
                cast(ast.expr, node.value), node, None, before)  # return pair, return g(x)
            if made is not None and made.keys is None and len(made.items) == len(self.results) \
                    and not any(isinstance(item, _List) for item in made.items):
                values = [copy_tree(cast(ast.expr, item)) for item in made.items]
            elif not isinstance(node.value, ast.Tuple):
                # a value unpacked where the call is (a, b, c = helper(x), helper returning
                # an array): its items, as unpacking it checks their number and reads them
                items = [self.fresh("unpacked_item") for _ in self.results]
                target = _located(ast.Tuple([_name(n, store=True) for n in items],
                                            ast.Store()), node)
                before += self.unpack(target, cast(ast.expr, node.value), node)
                values = [_name(n) for n in items]
            elif len(node.value.elts) != len(self.results):
                raise located(UnsupportedSyntaxError, f"this return does not give "
                              f"{len(self.results)} values to unpack", node, self.where)
            else:
                values = [self.expression(v, before) for v in node.value.elts]
        else:
            if isinstance(node.value, ast.Tuple):
                raise located(UnsupportedSyntaxError, "this function returns several values; "
                              "unpack them where it is called (a, b = f(x))", node, self.where)
            assert node.value is not None  # the fence refuses a bare return
            values = [self.expression(node.value, before)]
            if isinstance(values[0], ast.Tuple) and isinstance(node.value, ast.Call) and \
                    self.results is None:  # return g(x), g returning a tuple
                raise located(UnsupportedSyntaxError, "this function returns several values; "
                              "a gradient needs a function that returns one number",
                              node, self.where, hint="srcdiff.vjp, srcdiff.jvp and "
                              "srcdiff.jacobian take functions that return a tuple")
        if self.returned is None and not self.inline_mode:
            return before + [_located(ast.Return(values[0]), node)]
        assert self.results is not None  # run() names them for an early or inlined return
        result = before + [self.assign(name, value, node)
                           for name, value in zip(self.results, values)]
        if self.returned is None:
            return result
        self.leaves += 1
        result += [self.assign(self.returned, ast.Constant(True), node)]
        for loop in self.loops:  # leave every enclosing loop
            assert loop.skip is not None and loop.broke is not None  # a return leaves it
            result += [self.assign(loop.skip, ast.Constant(True), node),
                       self.assign(loop.broke, ast.Constant(True), node)]
        return result

    def enumerated_zip(self, iterable: ast.expr, target: ast.expr) -> bool:
        """Whether a loop is ``for i, (a, b) in enumerate(zip(A, B))``, the names in the
        inner target as many as zip's arguments (each item then unpacks as written: no
        test of its length is needed). Its target stays nested: ``iterate`` reads ``A``
        and ``B`` by position where they are arrays, and flattens it otherwise."""
        if not (isinstance(iterable, ast.Call) and isinstance(target, ast.Tuple) and
                len(target.elts) == 2 and isinstance(target.elts[0], ast.Name) and
                isinstance(target.elts[1], ast.Tuple) and iterable.args and
                isinstance(iterable.args[0], ast.Call)):
            return False
        inner, names = iterable.args[0], target.elts[1].elts
        return self.parsed.resolve(iterable.func, self.locals) is enumerate and \
            self.parsed.resolve(inner.func, self.locals) is zip and not inner.keywords and \
            len(inner.args) == len(names) and all(isinstance(n, ast.Name) for n in names) \
            and not any(isinstance(a, ast.Starred) for a in inner.args + iterable.args)

    def flat_target(self, target: ast.expr, node: ast.AST) -> tuple[ast.expr, list[ast.stmt]]:
        """A loop target without nested tuples (``for i, (a, b) in ...`` loops over ``i,
        item`` and unpacks ``a, b = item`` first in the body), and that unpacking."""
        if not isinstance(target, ast.Tuple) or not any(
                isinstance(e, ast.Tuple) for e in target.elts):
            return copy_tree(target), []
        elements: list[ast.expr] = []
        unpacking: list[ast.stmt] = []
        for element in target.elts:
            if isinstance(element, ast.Tuple):
                item = self.fresh("item")
                elements.append(_name(item, store=True))
                unpacking += self.unpack(element, _name(item), node)
            else:
                elements.append(copy_tree(element))
        return _located(ast.Tuple(elements, ast.Store()), target), unpacking

    def loop(self, node: ast.For | ast.While) -> list[ast.stmt]:
        if isinstance(node, ast.For):
            appended, _ = _changed_lists(node.body)
            for name in walk(node.iter):
                if isinstance(name, ast.Name) and name.id in appended and \
                        name.id in self.lists.grown:
                    raise located(UnsupportedSyntaxError, f"the loop appends to `{name.id}`, "
                                  "the list it goes over: Python would go over the new "
                                  "elements too", node, self.where)
        early = self.returned is not None
        leaves_iteration = any(_leaves(s, early, loops_too=True) for s in node.body)
        leaves_loop = any(_leaves(s, early, loops_too=True, continues=False) for s in node.body)
        loop = _Loop(self.fresh("skip") if leaves_iteration else None,
                     self.fresh("broke") if leaves_loop else None)
        before: list[ast.stmt] = []
        if loop.broke:
            before.append(self.assign(loop.broke, ast.Constant(False), node))
        self.loops.append(loop)
        body: list[ast.stmt] = [self.assign(loop.skip, ast.Constant(False), node)] \
            if loop.skip else []
        with self.nested():
            body += self.block(node.body)
        self.loops.pop()
        if loop.broke:
            body.append(_located(ast.If(_name(loop.broke), [ast.Break()], []), node))
        if isinstance(node, ast.For):
            iterable = self.expression(node.iter, before)
            if self.enumerated_zip(iterable, node.target):  # kept nested (iterate reads
                # the arrays by position)
                target, unpacking = copy_tree(node.target), cast("list[ast.stmt]", [])
            else:
                target, unpacking = self.flat_target(node.target, node)
            new: ast.For | ast.While = ast.For(target, iterable, unpacking + body, [])
        else:
            test = self.fresh("looping")
            computed: list[ast.stmt] = []
            computed.append(self.assign(test, self.expression(node.test, computed), node))
            before += computed
            body += copy_tree(computed)  # computed again at the end of each iteration
            new = ast.While(_name(test), body, [])
        result = before + [_located(new, node)]
        if node.orelse:  # runs unless the loop was left by break (or return)
            with self.nested():
                orelse = self.block(node.orelse)
            if loop.broke:
                orelse = [_located(ast.If(ast.UnaryOp(ast.Not(), _name(loop.broke)),
                                          orelse, []), node.orelse[0])]
            result += orelse
        return result

    # -- simple statements ---------------------------------------------------------
    def simple(self, node: ast.stmt) -> list[ast.stmt]:
        if isinstance(node, ast.Pass) or _is_docstring(node):
            return []
        before: list[ast.stmt] = []
        if isinstance(node, ast.AnnAssign):
            assert node.value is not None  # the fence refuses a bare annotation
            return self.bind(name_id(node.target), node.value, node)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            read = ast.Subscript(copy_tree(node.target.value), copy_tree(node.target.slice),
                                 ast.Load())
            value = _located(ast.BinOp(_located(read, node.target), node.op, node.value), node)
            return self.item_assignment(node.target, value, node)
        if isinstance(node, ast.AugAssign):
            target = name_id(node.target)
            value = _located(ast.BinOp(_name(target), node.op, node.value), node)
            statements = self.bind(target, value, node)
            set_anno(statements[-1], "in_place", True)  # an array changes in place
            return statements
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            return self.define_local(def_of_lambda(node.value), [name_id(t) for t in node.targets],
                                     node)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            return self.item_assignment(node.targets[0], node.value, node)
        if isinstance(node, ast.Assign):
            return self.assignment(node)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(
                node.value.func, ast.Attribute) and node.value.func.attr == "append":
            return self.append(node)  # the fence lets through appends to local names
        from .fence import _is_check
        if isinstance(node, ast.Expr) and not _is_check(self.parsed.resolve(
                cast(ast.Call, node.value).func, self.locals)) and self.callee_of(
                cast(ast.Call, node.value)) is not None:
            # push(out, v): inlined for what it does, its value unused
            _Expressions(self, before).inline_call(cast(ast.Call, node.value),
                                                   [self.fresh("unused")])
            return before
        if isinstance(node, ast.Expr):  # print(...): kept for its effect
            call = cast(ast.Call, node.value)  # the fence keeps only calls of print
            args = [a if isinstance(a, ast.Constant) else self.formatted(a, before)
                    if isinstance(a, ast.JoinedStr) else self.expression(a, before)
                    for a in call.args]
            new = ast.Call(call.func, args, copy_tree(call.keywords))
            return before + [_located(ast.Expr(_located(new, call)), node)]
        if isinstance(node, ast.Delete):  # the fence found nothing reads it again unassigned
            for deleted in node.targets:
                if name_id(deleted) not in self.lists.by_name:  # a list: nothing to do
                    # kept where the name may be unbound, to raise where Python's del does
                    before.append(self.assign(self.fresh("deleted"), _name(name_id(deleted)),
                                              node))
            return before
        if isinstance(node, ast.Assert):
            test = self.expression(node.test, before)
            return before + [_located(ast.Assert(test, copy_tree(node.msg)), node)]
        raise AssertionError(f"the fence let {type(node).__name__} through")

    def formatted(self, node: ast.JoinedStr, before: list[ast.stmt]) -> ast.JoinedStr:
        """A printed f-string, each value it formats rewritten into the core."""
        node = copy_tree(node)
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                part.value = self.expression(part.value, before)
                if part.format_spec is not None:
                    part.format_spec = self.formatted(cast(ast.JoinedStr, part.format_spec),
                                                      before)
        return node

    def item_assignment(self, target: ast.Subscript, value: ast.expr, node: ast.AST) -> list[ast.stmt]:
        """``a[i] = v`` becomes ``a = set_item(a, i, v)``: a new array, so the backward
        sweep can still read the old one (analyse refuses code where the difference
        shows: another name for the same array)."""
        from .array_rules import SET_ITEM, helper_name, index_value
        array = name_id(target.value)
        if array in self.lists.by_name:
            return self.list_item_assignment(target, value, node)
        self.not_structured(array, node)
        if isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
            raise located(UnsupportedSyntaxError, f"`{array}` is not a dict the function makes: "
                          "srcdiff follows dicts made in the function (`d = {\"w\": a}`, "
                          "`dict(w=a)`)", target, self.where)
        before: list[ast.stmt] = []
        index = index_value(self.expression(target.slice, before))
        value = self.expression(value, before)
        func = _name(helper_name(self.function, "set_item"))
        call = _located(ast.Call(func, [_name(array), index, value], []), node)
        set_anno(call, "callee", SET_ITEM.func)
        statement = self.assign(array, call, node)
        set_anno(statement, "in_place", True)
        return before + [statement]

    def assignment(self, node: ast.Assign) -> list[ast.stmt]:
        result = []
        part = self.part(node.value)
        for target in node.targets:  # a = b = e binds a, then b, to the same value
            if part is not None:
                if isinstance(target, ast.Tuple):
                    result.extend(self.unpack_part(target.elts, part, node))
                else:
                    self.not_structured(name_id(target), node)
                    result.extend(self.holds(name_id(target), part, node))
                continue
            if isinstance(target, ast.Tuple):
                result.extend(self.unpack(target, node.value, node))
            else:
                result.extend(self.bind(name_id(target), node.value, node))
        if len(node.targets) > 1 and isinstance(node.targets[0], ast.Name) and part is None:
            first = node.targets[0].id
            result = self.bind(first, node.value, node) + [
                s for t in node.targets[1:] for s in self.bind(name_id(t), _name(first), node)]
        return result

    def unpack(self, target: ast.Tuple, value: ast.expr, node: ast.AST) -> list[ast.stmt]:
        if any(isinstance(element, ast.Starred) for element in target.elts):
            return self.unpack_starred(target, value, node)
        if any(isinstance(element, ast.Tuple) for element in target.elts):
            return self.unpack_nested(target, value, node)
        names = [name_id(element) for element in target.elts]
        for name in names:
            self.not_structured(name, node)
        if len(names) == 2 and names[1] not in self.loads and self.is_eigh(value):
            # w, v = numpy.linalg.eigh(a), v never read: w as eigh(a)[0] (eigvalsh's rule)
            values = _located(ast.Subscript(value, ast.Constant(0), ast.Load()), value)
            return self.bind(names[0], values, node)
        if isinstance(value, (ast.Name, ast.ListComp, ast.Subscript)):
            listed: list[ast.stmt] = []
            made = self.make_list(value, node, None, listed)
            if made is not None and made.keys is not None:  # a, b = d: its keys
                made = _List([ast.Constant(k) for k in made.keys], self.scope, made.what)
            if made is not None:  # a, b = pair: the list's elements
                if len(made.items) != len(names):
                    raise located(UnsupportedSyntaxError, f"{len(names)} names for the "
                                  f"{len(made.items)} elements of {made.what}", node,
                                  self.where)
                for name, item in zip(names, made.items):
                    listed += self.bind(name, copy_tree(item), node)
                return listed
        # W, b = params[0] of a structured argument or a list is unpacked above; a, b =
        # X[0] of an array's row below, as any other value (where X, first taken for a
        # number, turns out to be a structure, indexing the number is the KindError the
        # call wrapper defers, and the structure gets code of its own)
        if not isinstance(value, ast.Tuple) and not (
                isinstance(value, ast.Call) and self.callee_of(value) is not None):
            return self.unpack_items(names, value, node)
        if isinstance(value, ast.Call):  # a, b = f(x): f is inlined with two results
            before: list[ast.stmt] = []
            results = [self.fresh(n + "_result") for n in names]
            _Expressions(self, before).inline_call(value, results)
            return before + [self.assign(n, _name(r), node) for n, r in zip(names, results)]
        direct, deferred = [], []
        # Python evaluates the whole right side first: a target is bound through a
        # temporary when a later element reads it, or calls a function (which may).
        calls = [i for i, element in enumerate(value.elts) if any(
            isinstance(n, ast.Call) and self.callee_of(n) is not None for n in walk(element))]
        for index, (name, element) in enumerate(zip(names, value.elts)):
            read_later = any(i > index for i in calls) or any(
                isinstance(n, ast.Name) and n.id == name
                for later in value.elts[index + 1:] for n in walk(later))
            if read_later:
                temporary = self.fresh(name + "_new")
                direct += self.bind(temporary, element, node)
                deferred += self.bind(name, _name(temporary), node)
            else:
                direct += self.bind(name, element, node)
        return direct + deferred

    def unpack_items(self, names: list[str], value: ast.expr, node: ast.AST) -> list[ast.stmt]:
        """``n, d = X.shape``, ``a, b = X[0]``: the items of a value (a tuple of numbers,
        an array, a NumPy shape), after Python's check that there are as many as names."""
        whole = self.fresh("unpacked")
        result = self.bind(whole, value, node)
        result += self.length_check(whole, len(names), node)
        for index, name in enumerate(names):
            item = _located(ast.Subscript(_name(whole), ast.Constant(index), ast.Load()), node)
            result += self.bind(name, item, node)
        return result

    def length_check(self, whole: str, count: int, node: ast.AST) -> list[ast.stmt]:
        """What Python checks when it unpacks ``whole`` into ``count`` names (``n, d =
        X.shape``, ``a, b = v`` of an array): as many items as names, or ValueError with
        Python's message. Without it, the items read by position would go on where the
        function raises (``a, b = v`` of three numbers). ``len`` and ``ValueError`` are
        the builtins, bound to fresh names (a global of the user's may be called so)."""
        length, error = (self.builtin(name) for name in ("len", "ValueError"))
        found = self.fresh("count")
        # messages written out, one per count below ``count`` (numba raises constants only)
        lines = [f"{found} = {length}({whole})", f"if {found} != {count}:",
                 f"    if {found} > {count}:",
                 f"        raise {error}('too many values to unpack (expected {count})')"]
        for fewer in range(count):
            lines += [f"    if {found} == {fewer}:",
                      f"        raise {error}('not enough values to unpack (expected {count}, "
                      f"got {fewer})')"]
        text = "\n".join(lines) + "\n"
        statements = ast.parse(text).body
        for statement in statements:
            for child in ast.walk(statement):
                ast.copy_location(child, node)
                if hasattr(child, "end_lineno"):
                    child.end_lineno, child.end_col_offset = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        return self.block(statements)

    def builtin(self, name: str) -> str:
        """A fresh name the generated code reads the builtin ``name`` by (once per
        function; ``expr.RUNTIME``'s, which a standalone module imports)."""
        import builtins
        parsed = self.parsed
        for existing, origin in parsed.origins.items():
            if origin == ("runtime", name):
                return existing
        fresh = self.fresh(name)
        parsed.inject(fresh, types.CellType(getattr(builtins, name)), ("runtime", name))
        return fresh

    def is_eigh(self, node: ast.expr) -> bool:
        """Whether ``node`` is a call of ``numpy.linalg.eigh``."""
        numpy = sys.modules.get("numpy")
        return numpy is not None and isinstance(node, ast.Call) and \
            self.parsed.resolve(node.func, self.locals) is numpy.linalg.eigh

    def unpack_starred(self, target: ast.Tuple, value: ast.expr, node: ast.AST) -> list[ast.stmt]:
        """``a, *rest, z = xs``: the elements of xs (every one computed first, as Python
        evaluates the right side first), ``rest`` a list of those between."""
        before: list[ast.stmt] = []
        made = self.make_list(value, node, None, before)
        if made is not None and made.keys is not None:  # a, *rest = d: its keys
            made = _List([ast.Constant(k) for k in made.keys], self.scope, made.what)
        items = list(made.items) if made is not None else self.elements(value, before)
        star = next(i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred))
        after = len(target.elts) - star - 1
        if len(items) < star + after:
            raise located(UnsupportedSyntaxError, f"{len(target.elts) - 1} names and a "
                          f"starred one for {len(items)} elements: Python raises ValueError",
                          node, self.where)
        values = items if made is not None else [  # a followed list's are computed
            e if isinstance(e, _List) else self.item(e, node, before) for e in items]
        starred = name_id(cast(ast.Starred, target.elts[star]).value)

        def copied(item: ast.expr | _List) -> ast.expr | _List:
            return item if isinstance(item, _List) else copy_tree(item)
        for name, item in zip(target.elts[:star], values[:star]):
            before += self.bind(name_id(name), copied(item), node)
        before += self.bind(starred, _List(values[star:len(values) - after], self.scope,
                                           f"`{starred}`"), node)
        for name, item in zip(target.elts[star + 1:], values[len(values) - after:]):
            before += self.bind(name_id(name), copied(item), node)
        return before

    def not_structured(self, name: str, origin: ast.AST) -> None:
        if name in self.structures:
            part = self.structures[name]
            raise located(UnsupportedSyntaxError, f"`{name}` names "
                          f"{text(part.param, part.path)}, a structured argument: srcdiff "
                          "reads structured arguments and does not rebind or change them",
                          origin, self.where)

    def bind(self, target: str, value: ast.expr | _List, origin: ast.AST) -> list[ast.stmt]:
        self.not_structured(target, origin)
        before: list[ast.stmt] = []
        if isinstance(value, ast.ListComp) and self.grown_comprehension(value) and \
                target not in self.lists.by_name and (target not in self.lists.names or
                                                      target in self.lists.grown):
            grown = self.expression(value, before)  # a list grown as the function runs
            self.lists.grown[target] = self.scope
            self.lists.ever_grown.add(target)
            self.lists.names.add(target)
            return before + [self.assign(target, grown, origin)]
        made = self.make_list(value, origin, target, before)
        if made is not None:
            self.bind_list(target, made, origin)
            return before
        if target in self.lists.names:
            raise located(UnsupportedSyntaxError, f"`{target}` stands for a list the "
                          "function makes, and is bound to another value here: srcdiff "
                          "follows a name that stands for a list everywhere", origin,
                          self.where, hint="give the other value a name of its own")
        if target in self.mutated and isinstance(value, ast.Call) and isinstance(
                value.func, ast.Attribute) and value.func.attr == "copy" and \
                not value.args and not value.keywords:
            # b = data.copy(); b[0] = x: an array, changed by item as arrays are (a list's
            # own copy is a list, which srcdiff changes by item only where it follows it)
            value = _located(ast.Call(value.func, [], [ast.keyword("order", _located(
                ast.Constant("C"), value))]), value)
        self.lists.plain.add(target)
        if isinstance(value, (ast.List, ast.Tuple)) and is_literal(value) and \
                self.stores[target] == 1 and not self.depth:
            self.literals[target] = value  # data: loops over it together with lists unroll
        elif isinstance(value, (ast.BinOp, ast.Subscript)) and self.stores[target] == 1 and \
                not self.depth:
            try:  # a = [0.0] * 2: data written out, for b = a * 2 changed after
                written = self.constant_sequence(value, f"`{target}`", origin)
            except UnsupportedSyntaxError:
                written = None
            if written is not None:
                self.literals[target] = written
        value = self.expression(cast(ast.expr, value), before)  # a list returned above
        return before + [self.assign(target, value, origin)]

    def assign(self, target: str, value: ast.expr, origin: ast.AST) -> ast.Assign:
        return _located(ast.Assign([_name(target, store=True)], value), origin)

    # -- calls to user functions: inlined ------------------------------------------------
    def callee_of(self, call: ast.Call) -> tuple[ast.FunctionDef, Parsed | None, types.FunctionType | None] | None:
        """``(def, parsed, function)`` for a call to a user function, else None. A call of
        an object's method (``self.step(x, v)``, ``method_call``) becomes, in place, the
        call of the function its class gives, wherever the call is met first (a tuple it
        returns unpacked, ``x, v = self.step(x, v)``, is met here before the expression)."""
        if not (isinstance(call.func, ast.Name) and call.func.id in self.local_functions):
            method = self.method_call(call)
            if method is not None:
                call.func, call.args, call.keywords = method.func, method.args, method.keywords
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.local_functions:
            tree, _ = self.local_functions[func.id]
            return tree, None, None
        if isinstance(func, ast.Name) and func.id in self.locals and func.id in _defined_functions(
                self.where.tree if self.where is not None else None):
            raise located(UnsupportedSyntaxError, f"`{func.id}` is called before it is "
                          "defined (Python raises UnboundLocalError here)", call, self.where)
        callee = self.parsed.resolve(func, self.locals)
        if callee is UNRESOLVED or not isinstance(callee, types.FunctionType) \
                or RULES.knows(callee) or library_function(callee):
            return None  # (a library's function: a rule, or refused by the fence)
        from .fence import fence  # the callee is checked like the function itself
        parsed = fence(parse(callee), callee=True)
        return parsed.tree, parsed, callee

    def inline(self, call: ast.Call, results: list[str]) -> list[ast.stmt]:
        """The statements computing ``call`` into ``results``: the callee's body, its
        locals renamed fresh, its parameters bound to the call's arguments."""
        tree, callee_parsed, callee = cast(  # inline is asked for calls of user functions
            "tuple[ast.FunctionDef, Parsed | None, types.FunctionType | None]", self.callee_of(call))
        key: tuple[Any, ...] = (callee_parsed.filename, tree.lineno, tree.name) \
            if callee_parsed else ("local", tree.lineno, tree.name)
        bindings = self.bind_arguments(tree, callee, call)
        parts = tuple((part.param, part.path) for part in (
            get_anno(value, "part") for _, value in bindings) if part is not None)
        if parts and key not in self.inlining:
            # a method of an object that holds another of its class (a wrapper around a
            # wrapper): the same function, inlined again for another part of the structure,
            # which is finite; for the same parts it is recursion
            key = key + (parts,)
        if len(self.inlining) > INLINE_LIMIT:
            raise located(UnsupportedSyntaxError, f"calls nested more than {INLINE_LIMIT} "
                          "deep are not supported", call, self.where)
        if key in self.inlining:
            return self.recursive_call(tree, callee, call, bindings, results)
        callee_locals = local_names(tree)
        renames = {name: self.fresh(name) for name in sorted(callee_locals)}
        if callee_parsed is not None:  # a function of its own scope: bring its free names
            for name in sorted(_free_names(tree, callee_locals)):
                value = callee_parsed.lookup(name)
                if name not in self.locals and name not in self.function.synthetic \
                        and self.parsed.lookup(name) is value:
                    self.namer.taken.add(name)  # no temporary may take it later
                    continue  # the same object under the same name here
                fresh = self.namer.fresh(name)
                if name in callee_parsed.closure:
                    self.parsed.inject(fresh, callee_parsed.closure[name],
                                       ("closure", callee, name))
                else:
                    self.parsed.inject(fresh, types.CellType(value),
                                       ("global", callee.__module__, name))
                renames[name] = fresh
        body = [_Rename(renames).visit(copy_tree(s)) for s in tree.body]
        stored = {n.id for s in tree.body for n in walk(s)
                  if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        # a parameter given a constant (softmax(z, axis=-1)) that the callee never rebinds
        # is that constant where it is read: an axis, a shape, an exponent stay constants
        constants = {renames[param]: value for param, value in bindings
                     if param not in stored and is_literal(value)
                     and get_anno(value, "part") is None and get_anno(value, "list") is None}
        if constants:
            body = [_Constants(constants).visit(s) for s in body]
        statements = []
        for param, value in bindings:
            if get_anno(value, "varargs") is not None:  # *args: a tuple srcdiff follows
                statements += self.varargs(renames[param], param, get_anno(value, "varargs"),
                                          call)
            elif get_anno(value, "part") is not None:  # a structure: another name for it
                self.structures[renames[param]] = get_anno(value, "part")
            elif get_anno(value, "list") is not None:  # a list: another name for it
                self.lists.by_name[renames[param]] = get_anno(value, "list")
                self.lists.names.add(renames[param])
            elif renames[param] not in constants:
                statements.append(self.assign(renames[param], value, call))
        inner = Normalizer(self.function, self.inlining + (key,),
                           self.local_functions if callee_parsed is None else None)
        inner.structures = self.structures
        inner.lists, inner.scope = self.lists, self.scope
        inner.locals = self.locals | {renames[name] for name in callee_locals}
        inner.where = callee_parsed or self.where
        inlined = inner.run(body, results)
        for statement in inlined:
            for node in walk(statement):
                if isinstance(node, ast.stmt) and get_anno(node, "where") is None:
                    set_anno(node, "where", inner.where)
        return statements + inlined

    def varargs(self, name: str, parameter: str, values: list[ast.expr],
                call: ast.Call) -> list[ast.stmt]:
        """``*args`` of a function srcdiff inlines, bound to the tuple of the call's
        other positional arguments: a tuple srcdiff follows (``len(args)``, ``args[0]``,
        ``for a in args``, ``np.concatenate(args)``), each item a variable of its own (a
        list passed is the list itself, as in Python)."""
        statements: list[ast.stmt] = []
        items: list[ast.expr | _List] = []
        for index, value in enumerate(values):
            if get_anno(value, "part") is not None:
                raise located(UnsupportedSyntaxError, f"a structured argument passed to "
                              f"*{parameter} is not supported yet", value, self.where,
                              hint="pass it to a named parameter")
            made = get_anno(value, "list")
            if made is not None:
                items.append(made)
            elif isinstance(value, ast.Constant):
                items.append(value)
            else:
                item = self.fresh(f"{name}_{index}")
                statements.append(self.assign(item, value, call))
                items.append(_name(item))
        self.lists.by_name[name] = _List(items, self.scope, f"*{parameter}", is_tuple=True)
        self.lists.names.add(name)
        return statements

    def recursive_call(self, tree: ast.FunctionDef, callee: types.FunctionType | None, call: ast.Call,
                       bindings: list[tuple[str, ast.expr]], results: list[str]) -> list[ast.stmt]:
        """Recursion cannot be inlined: the call stays a call, every argument passed by
        position, and the reverse pass differentiates it with a generated vector-Jacobian
        function (``<name>_vjp``) that recomputes the callee."""
        if callee is None:
            raise located(UnsupportedSyntaxError, f"recursive nested functions ({tree.name}) "
                          "are not supported yet", call, self.where,
                          hint="define the function at module level")
        if len(results) != 1:
            raise located(UnsupportedSyntaxError, f"recursive calls to {tree.name}() that "
                          "return several values are not supported yet", call, self.where)
        if any(get_anno(value, "varargs") is not None for _, value in bindings):
            raise located(UnsupportedSyntaxError, f"recursive calls to {tree.name}(), which "
                          "takes *args, are not supported yet", call, self.where)
        if any(get_anno(value, "part") is not None or get_anno(value, "list") is not None
               for _, value in bindings):
            raise located(UnsupportedSyntaxError, f"recursive calls to {tree.name}() with a "
                          "structured argument or a list are not supported yet", call,
                          self.where)
        func = call.func
        if isinstance(func, ast.Name):
            self.namer.taken.add(func.id)
        if self.parsed.resolve(func, self.locals) is not callee or (
                isinstance(func, ast.Name) and func.id in self.function.synthetic):
            name = self.namer.fresh(callee.__name__)
            self.parsed.inject(name, types.CellType(callee),
                               ("global", callee.__module__, callee.__name__))
            func = _name(name)
        new = _located(ast.Call(copy_tree(func), [value for _, value in bindings], []), call)
        set_anno(new, "recursive", callee)
        return [self.assign(results[0], new, call)]

    def bind_arguments(self, tree: ast.FunctionDef, callee: types.FunctionType | None, call: ast.Call) -> list[tuple[str, ast.expr]]:
        """Each parameter of ``tree`` with the expression it receives from ``call``."""
        args = tree.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        keyword_only = [a.arg for a in args.kwonlyargs]
        if callee is not None:  # the default values the function object holds
            defaults = dict(zip(positional[len(positional) - len(callee.__defaults__ or ()):],
                                callee.__defaults__ or ()))
            defaults.update(callee.__kwdefaults__ or {})
            # (only those the call leaves to their default are read: a helper whose array
            # default every call overrides is inlined with the arguments given)
            given = set(positional[:len(call.args)]) | {k.arg for k in call.keywords}
            defaults = {k: _literal_default(v, k, call, self.where) if k not in given else
                        ast.Constant(None) for k, v in defaults.items()}
        else:  # a local function: its defaults, evaluated where it was defined
            defaults = dict(self.local_functions[name_id(call.func)][1])
        if len(call.args) > len(positional) and args.vararg is None:
            raise located(UnsupportedSyntaxError, f"{tree.name}() takes {len(positional)} "
                          f"positional arguments, {len(call.args)} given", call, self.where)
        bound = dict(zip(positional, call.args))
        for keyword in call.keywords:
            if keyword.arg not in positional + keyword_only or keyword.arg in bound or \
                    keyword.arg in [a.arg for a in args.posonlyargs]:
                raise located(UnsupportedSyntaxError, f"{tree.name}() got an unexpected or "
                              f"repeated argument {keyword.arg!r}", call, self.where)
            bound[keyword.arg] = keyword.value
        result = []
        for name in positional + keyword_only:
            if name not in bound and name not in defaults:
                raise located(UnsupportedSyntaxError, f"{tree.name}() is missing the "
                              f"argument {name!r}", call, self.where)
            # one of the two has it (checked above)
            result.append((name, cast(ast.expr, bound.get(name, defaults.get(name)))))
        if args.vararg is not None:  # *args: the tuple of the other positional arguments
            varargs = _located(_name("varargs"), call)
            set_anno(varargs, "varargs", call.args[len(positional):])
            result.append((args.vararg.arg, varargs))
        return result

    # -- expressions -----------------------------------------------------------------
    def expression(self, node: ast.expr, before: list[ast.stmt]) -> ast.expr:
        """``node`` rewritten into the core; statements it needs first go to ``before``."""
        expressions = _Expressions(self, before)
        if self.walrus:
            expressions.captured = {n.target.id for n in walk(node) if isinstance(
                n, ast.NamedExpr) and isinstance(n.target, ast.Name)}
        return cast(ast.expr, expressions.visit(copy_tree(node)))


class _Constants(ast.NodeTransformer):
    """Reads of the names in ``values`` become those constants."""

    def __init__(self, values: dict[str, ast.expr]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return _located(copy_tree(self.values[node.id]), node)
        return node


class _Rename(ast.NodeTransformer):
    """Renames a callee's local names everywhere they occur: reads and writes, nested
    functions' names and parameters."""

    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        if node.arg in self.renames:
            node.arg = self.renames[node.arg]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name in self.renames:
            node.name = self.renames[node.name]
        self.generic_visit(node)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        if node.name in self.renames:  # except E as name: a local of the callee
            node.name = self.renames[node.name]
        self.generic_visit(node)
        return node

    def visit_alias(self, node: ast.alias) -> ast.alias:
        bound = node.asname or node.name.split(".")[0]
        if bound in self.renames:  # import m as name (in a try; not `import a.b`: fence)
            node.asname = self.renames[bound]
        return node


def _returns(statement: ast.stmt) -> Iterator[ast.Return]:
    """The ``return`` statements of ``statement``, not those of functions nested in it."""
    if isinstance(statement, ast.FunctionDef):
        return
    if isinstance(statement, ast.Return):
        yield statement
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.stmt) and not isinstance(child, ast.FunctionDef):
            yield from _returns(child)


def _tuple_count(normalizer: Normalizer, tree: ast.FunctionDef, parsed: Parsed | None,
                 depth: int) -> int | None:
    """How many values ``tree`` returns when it returns a tuple written out, or returns
    what another function it calls returns (``return inner(x)``; that function defined
    in ``tree`` with ``def``, in the body srcdiff normalizes, or at module level, found
    through ``parsed``, the scope of ``tree``'s names; None: the normalizer's)."""
    returned = [r.value for s in tree.body for r in _returns(s)]
    for value in returned:
        if isinstance(value, ast.Tuple) and not any(isinstance(e, ast.Starred) for e in value.elts):
            return len(value.elts)
    if depth > 8:
        return None
    nested = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    for value in returned:
        if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Name):
            continue
        name = value.func.id
        inner: ast.FunctionDef | None = nested.get(name)
        scope = parsed
        if inner is None and parsed is None:  # a function of the body being normalized
            if name in normalizer.local_functions:
                inner = normalizer.local_functions[name][0]
            elif name in normalizer.defined:
                inner = normalizer.defined[name]
        if inner is None:
            found = (parsed or normalizer.parsed).lookup(name)
            if isinstance(found, types.FunctionType) and not RULES.knows(found):
                try:
                    scope = parse(found)
                except SrcdiffError:
                    continue
                inner = scope.tree
        count = None if inner is None else _tuple_count(normalizer, inner, scope, depth + 1)
        if count is not None:
            return count
    return None


def _defined_functions(tree: ast.FunctionDef | None) -> set[str]:
    """The names a function body binds to nested functions (``def``, ``= lambda``)."""
    if tree is None:
        return set()
    names = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Lambda):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def _free_names(tree: ast.FunctionDef, local: set[str]) -> set[str]:
    return {n.id for s in tree.body for n in walk(s)
            if isinstance(n, ast.Name) and n.id not in local}


_CONSTANT_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_COMPARE: dict[type, Callable[[int, int], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge}


def _constant_truth(test: ast.expr) -> bool | None:
    """What a test of constants written out (``'tanh' == 'relu'``: a string a helper
    was given, compared) always gives, as Python computes it; None for anything else."""
    if isinstance(test, ast.Constant) and isinstance(test.value, bool):
        return test.value
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _constant_truth(test.operand)
        return None if inner is None else not inner
    if isinstance(test, (ast.Tuple, ast.List)) and all(
            isinstance(e, ast.Constant) or (isinstance(e, ast.Name) and not e.id.startswith(
                "_")) for e in test.elts):
        # a list or tuple srcdiff follows, written out (``rest`` of ``*rest``): true when
        # it has elements, as Python tests it; its branch not taken may read an element it
        # does not have (``rest[-1] if rest else 0.0``), which is never run
        return bool(test.elts)
    if isinstance(test, ast.Compare) and all(
            isinstance(op, _CONSTANT_COMPARISONS[:6]) for op in test.ops) and all(
            type(part) is ast.Constant and type(part.value) is int
            for part in [test.left, *test.comparators]):
        # integers compared (``len(rest) == 0`` of a list srcdiff follows): decided too
        values = [cast(int, cast(ast.Constant, part).value)
                  for part in [test.left, *test.comparators]]
        return all(_COMPARE[type(op)](a, b) for op, a, b in zip(test.ops, values, values[1:]))
    if not (isinstance(test, ast.Compare) and all(
            isinstance(op, _CONSTANT_COMPARISONS) for op in test.ops) and all(
            isinstance(part, ast.Constant) and isinstance(part.value, str) or (
                isinstance(part, ast.Tuple) and is_literal(part))
            for part in [test.left, *test.comparators])):
        return None
    if not any(isinstance(part, ast.Constant) and isinstance(part.value, str)
               for part in [test.left, *test.comparators]):
        return None  # numbers keep their tests (as written; nothing to gain)
    try:
        expression = ast.fix_missing_locations(ast.Expression(copy_tree(test)))
        return bool(eval(compile(expression, "<test>", "eval"), {"__builtins__": {}}))
    except Exception:  # a comparison that raises (str < tuple) raises where it is written
        return None


def _literal_default(value: object, name: str, call: ast.Call, parsed: Parsed) -> ast.expr:
    if value is None or isinstance(value, str):
        return ast.Constant(value)  # scale=None, tested with `is None`; kind="tanh"
    from .expr import literal
    if isinstance(value, (int, float)) and not isinstance(value, complex):
        return literal(value)
    if isinstance(value, tuple) and all(type(v) in (int, float, bool, str) or v is None
                                        for v in value):
        return ast.Tuple([literal(v) for v in value], ast.Load())  # shape=(2, 3), axes=(0, 1)
    raise located(UnsupportedSyntaxError, f"the default of parameter {name!r} is a "
                  f"{type(value).__name__}; srcdiff inlines defaults that are numbers, "
                  "strings, None or tuples of them", call, parsed, hint=f"pass {name} "
                  "where the function is called, or make the default None and set it in "
                  f"the function (if {name} is None: ...)")


class _Expressions(ast.NodeTransformer):
    """Conditional expressions and ``and``/``or`` become ``if`` statements on a
    temporary (emitted into ``before``); ``min``/``max`` of several arguments nest."""

    def __init__(self, normalizer: Normalizer, before: list[ast.stmt]) -> None:
        self.normalizer = normalizer
        self.before = before
        # names an assignment expression in this expression binds: Python reads each
        # where it is written, so a read is copied there (``v + (v := 3.0)`` adds the old
        # v; left in the expression, it read the new one, after the hoisted assignment)
        self.captured: set[str] = set()

    def inline_call(self, call: ast.Call, results: list[str]) -> None:
        """Inline ``call`` (its arguments rewritten first) into ``results``."""
        call = copy.copy(call)
        call.args = [self.argument(a) for a in call.args]
        call.keywords = [ast.keyword(k.arg, self.argument(k.value)) for k in call.keywords]
        self.before.extend(self.normalizer.inline(call, results))

    def argument(self, node: ast.expr) -> ast.expr:
        """An argument to an inlined call; a structured one is passed whole (a name
        annotated with the part it stands for)."""
        made = self.normalizer.make_list(node, node, None, self.before)
        if made is not None:  # a list: passed whole, as Python passes it
            marker = _located(_name("list"), node)
            set_anno(marker, "list", made)
            return marker
        part = self.normalizer.part(node)
        if part is None or not is_object(part.value):
            return cast(ast.expr, self.visit(node))
        marker = _located(_name("structured"), node)
        set_anno(marker, "part", part)
        return marker

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if not isinstance(node.ctx, ast.Load):
            return node
        made = self.normalizer.followed(node.id, node)
        if made is not None:  # a list srcdiff follows: its elements, written out
            return _written_out(made, node, self.normalizer.where)
        part = self.normalizer.structures.get(node.id)
        if part is None:
            if node.id in self.captured:  # its value here, before an assignment after it
                n = self.normalizer
                read = n.fresh(f"{node.id}_read")
                self.before.append(n.assign(read, node, node))
                return _located(_name(read), node)
            return node
        return self.normalizer.leaf(part, node)

    def visit_ListComp(self, node: ast.ListComp) -> ast.expr:
        if self.normalizer.grown_comprehension(node):
            return self.normalizer.grow_comprehension(node, self.before)
        return _written_out(self.normalizer.comprehension_list(node, self.before), node,
                            self.normalizer.where)

    def eigenvalues(self, call: ast.Call, origin: ast.AST) -> ast.Call:
        """``numpy.linalg.eigh(a)[0]``: ``srcdiff.runtime.eigenvalues(a)``,
        the same values, differentiated as ``numpy.linalg.eigvalsh`` (the eigenvectors,
        defined up to sign, are not differentiated)."""
        from .array_rules import helper_name
        from .runtime import eigenvalues
        n = self.normalizer
        result = _located(ast.Call(_name(helper_name(n.function, "eigenvalues")),
                                   [self.visit(a) for a in call.args],
                                   [ast.keyword(k.arg, self.visit(k.value)) for k in call.keywords]),
                          origin)
        set_anno(result, "callee", eigenvalues)
        return result

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        n = self.normalizer
        if n.is_eigh(node.value) and _constant_key(node.slice) in (0, -2):
            return self.eigenvalues(cast(ast.Call, node.value), node)
        if isinstance(node.value, ast.Call):  # g(x)[1], g returning a tuple
            returned = n.returned_tuple(node.value, self.before)
            if returned is not None:
                name = n.fresh("returned")
                n.bind_list(name, returned, node)
                node = _located(ast.Subscript(_name(name), node.slice, ast.Load()), node)
        whole = n.list_of(node.value)
        if whole is not None:  # an element of a list srcdiff follows, or a slice of it
            if whole.keys is None and not isinstance(node.slice, ast.Slice) and \
                    _constant_key(node.slice) is None:
                chosen = n.selected(whole, n.position(whole, node, self.before), node)
                return cast(ast.expr, self.visit(chosen))
            if isinstance(node.slice, ast.Slice):
                return _written_out(cast(_List, n.list_of(node)), node, n.where)
            item = n.list_item(whole, node)
            if isinstance(item, _List):
                return _written_out(item, node, n.where)
            return _located(copy_tree(item), node)
        part = n.part(node)
        if part is not None:
            return n.leaf(part, node)
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            n.needs_structure(node)
        self.generic_visit(node)
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            raise located(UnsupportedSyntaxError, "str constants are not supported",
                          node.slice, n.where, hint="srcdiff reads items with str keys of "
                          "structured arguments (dicts, and objects holding them)")
        return node

    def visit_NamedExpr(self, node: ast.NamedExpr) -> ast.Name:
        """``(y := e)``: ``y = e`` first, then ``y``."""
        n = self.normalizer
        n.not_structured(node.target.id, node)
        self.before.append(n.assign(node.target.id, self.visit(node.value), node))
        return _located(_name(node.target.id), node)

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        n = self.normalizer
        test = self.visit(node.test)
        decided = _constant_truth(test)
        if decided is not None:  # the value of the branch taken, alone (as in statements)
            return cast(ast.expr, self.visit(node.body if decided else node.orelse))
        temporary = n.fresh("ifexp")
        body: list[ast.stmt] = []
        body_value = n.expression(node.body, body)
        orelse: list[ast.stmt] = []
        orelse_value = n.expression(node.orelse, orelse)
        self.before.append(_located(ast.If(
            test, body + [n.assign(temporary, body_value, node)],
            orelse + [n.assign(temporary, orelse_value, node)]), node))
        return _located(_name(temporary), node)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.Name:
        """``a and b`` is ``a`` when ``a`` is false, else ``b``; ``b`` is evaluated only then."""
        n = self.normalizer
        temporary = n.fresh("both" if isinstance(node.op, ast.And) else "either")
        self.before.append(n.assign(temporary, self.visit(node.values[0]), node))
        for value in node.values[1:]:
            rest: list[ast.stmt] = []
            rest.append(n.assign(temporary, n.expression(value, rest), node))
            test: ast.expr = _name(temporary)
            if isinstance(node.op, ast.Or):
                test = ast.UnaryOp(ast.Not(), test)
            self.before.append(_located(ast.If(test, rest, []), node))
        return _located(_name(temporary), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        """``x.T``, ``x.shape``: the NumPy function they stand for; ``p.w`` on a
        structured argument: the leaf's parameter."""
        n = self.normalizer
        part = n.part(node)
        if part is not None:
            return n.leaf(part, node)
        if node.attr in ATTRIBUTES and not isinstance(
                n.parsed.resolve(node.value, n.locals), types.ModuleType):
            return self.numpy_call(ATTRIBUTES[node.attr], [self.visit(node.value)], [], node)
        if n.parsed.resolve(node, n.locals) is UNRESOLVED:
            n.needs_structure(node)
            from .errors import SrcdiffNameError
            raise located(SrcdiffNameError, f"cannot resolve `{ast.unparse(node)}`", node,
                          n.where, hint="srcdiff reads attributes of modules (math.pi) and "
                          "of structured arguments (p.w, self.scale)")
        return node

    def reduction(self, call: ast.Call, callee: Callable[..., Any]) -> ast.Name:
        """``sum``, ``min``, ``max``, ``math.prod``, ``any`` or ``all`` of one iterable:
        the loop it stands for, into a fresh variable. Like Python: ``sum`` adds from
        ``start`` (0) left to right, ``math.prod`` multiplies from 1, ``max`` keeps the
        first of equal elements (it replaces only when ``v > best``) and fails on no
        element, ``any``/``all`` stop at the first element that decides."""
        n = self.normalizer
        kind = REDUCTIONS[callee]
        source = call.args[0]
        start = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "start"), None)
        result = n.fresh(kind)
        empty = n.fresh("empty")

        def assign(value: ast.expr) -> ast.stmt:
            return _located(ast.Assign([_name(result, store=True)], value), call)

        def step(element: ast.expr) -> list[ast.stmt]:
            if kind in ("sum", "prod"):
                op = ast.Add() if kind == "sum" else ast.Mult()
                return [assign(_located(ast.BinOp(_name(result), op, element), element))]
            if kind in ("any", "all"):
                test = element if kind == "any" else ast.UnaryOp(ast.Not(), element)
                return [_located(ast.If(test, [assign(ast.Constant(kind == "any"))], []),
                                 element)]
            value = n.fresh("element")
            better = ast.Compare(_name(value), [ast.Gt() if kind == "max" else ast.Lt()],
                                 [_name(result)])
            return [_located(ast.Assign([_name(value, store=True)], element), element),
                    _located(ast.If(_name(empty), [
                        assign(_name(value)),
                        ast.Assign([_name(empty, store=True)], ast.Constant(False))],
                        [ast.If(better, [assign(_name(value))], [])]), element)]

        if isinstance(source, (ast.GeneratorExp, ast.ListComp)):
            comprehension = source
        else:  # sum(xs): the loop over xs
            item = "item"
            comprehension = _located(ast.GeneratorExp(_name(item), [ast.comprehension(
                _name(item, store=True), source, [], 0)]), source)
        guard = None  # any and all look at no element after the one that decides
        if kind in ("any", "all"):
            guard = ast.UnaryOp(ast.Not(), _name(result)) if kind == "any" else _name(result)
        loop = _comprehension_loops(n, comprehension, step, guard)
        if kind in ("min", "max"):
            statements = [_located(ast.Assign([_name(empty, store=True)], ast.Constant(True)),
                                   call), loop,
                          _located(ast.Assert(ast.UnaryOp(ast.Not(), _name(empty)), ast.Constant(
                              f"{kind}() iterable argument is empty")), call)]
        else:
            first = start if start is not None else ast.Constant(
                {"sum": 0, "prod": 1, "any": False, "all": True}[kind])
            statements = [assign(copy_tree(first)), loop]
        self.before.extend(n.block(statements))
        return _located(_name(result), call)

    def of_elements(self, call: ast.Call, callee: Callable[..., Any]) -> ast.expr:
        """``math.fsum(xs)`` of elements known now: ``fsum_of(a, b, c)``, one primitive
        (``math.fsum((a, b, c))`` in generated code, the same value); of a NumPy array
        (its length known only when the function runs), as written: its rule takes 1-D
        arrays. ``math.dist(p, q)`` of points known now: ``math.hypot(p0 - q0, ...)``,
        which CPython computes as ``dist`` does (the same differences, the same norm)."""
        from .rules import fsum_of
        n = self.normalizer
        name = "math.fsum" if callee is math.fsum else "math.dist"
        first = call.args[0]
        if callee is math.fsum and isinstance(first, (ast.ListComp, ast.GeneratorExp)):
            comprehension = _located(ast.ListComp(first.elt, first.generators), first)
            if n.grown_comprehension(comprehension):
                first = self.visit(comprehension)  # a list grown as the function runs
        if callee is math.fsum and isinstance(first, ast.Name) and n.grown(first.id, call):
            call.args = [n.runtime_call("list_array", [first], first)]  # the same sum
            return call
        known = [self.known_elements(argument, name) for argument in call.args]
        if callee is math.fsum:
            if known[0] is None:
                if RULES.lookup(math.fsum, 1) is None:  # no NumPy: no array to add
                    self.unknown_length(call.args[0], name)
                call.args = [self.visit(call.args[0])]
                return call
            if not known[0]:
                return _located(ast.Constant(0.0), call)
            # (a name of its own: the variable its result goes to is named after it)
            result = _located(ast.Call(_name(n.fresh("fsum_of")), known[0], []), call)
            set_anno(result, "callee", fsum_of)
            return result
        for argument, elements in zip(call.args, known):
            if elements is None:
                self.unknown_length(argument, name)
        p, q = cast("list[list[ast.expr]]", known)
        if len(p) != len(q):
            raise located(UnsupportedSyntaxError, f"math.dist of points of {len(p)} and "
                          f"{len(q)} coordinates: Python raises ValueError", call, n.where)
        differences: list[ast.expr] = []
        for a, b in zip(p, q):
            if isinstance(a, ast.Constant) and isinstance(b, ast.Constant) and \
                    isinstance(a.value, (int, float)) and isinstance(b.value, (int, float)):
                # as dist computes it: each converted to a float first
                differences.append(_located(ast.Constant(float(a.value) - float(b.value)), call))
            else:
                differences.append(_located(ast.BinOp(a, ast.Sub(), b), call))
        result = _located(ast.Call(dotted("math.hypot"), differences, []), call)
        set_anno(result, "callee", math.hypot)
        return result

    def known_elements(self, source: ast.expr, name: str) -> list[ast.expr] | None:
        """The elements of ``source`` (normalized) when srcdiff knows them now: a list or
        tuple written out, one the function makes, a comprehension over values it knows,
        a module's tuple of numbers, a list or tuple in a structured argument; None for
        anything else (an array, whose length only the function's run gives)."""
        n = self.normalizer
        part = n.part(source)
        if part is not None and isinstance(part.value, (list, tuple)):
            return [self.visit(_located(ast.Subscript(copy_tree(source), ast.Constant(i),
                                                      ast.Load()), source))
                    for i in range(len(part.value))]
        whole = n.list_of(source) if isinstance(source, (ast.Name, ast.Subscript)) else None
        if isinstance(source, ast.Dict) or (whole is not None and whole.keys is not None) or (
                isinstance(source, ast.Call) and n.parsed.resolve(source.func, n.locals) is dict):
            raise located(UnsupportedSyntaxError, f"{name} of a dict (it goes over the keys): "
                          "not supported", source, n.where, hint="give it the values: "
                          "a list of them written out")
        if isinstance(source, (ast.GeneratorExp, ast.ListComp)) and n.list_iteration(
                source.generators[0].iter, probe=True) is None:
            self.unknown_length(source, name)
        if isinstance(source, ast.GeneratorExp):
            source = _located(ast.ListComp(source.elt, source.generators), source)
        if isinstance(source, (ast.List, ast.Tuple)) and any(
                isinstance(e, ast.Starred) for e in source.elts) or isinstance(source, ast.Call) \
                and n.callee_of(source) is not None:  # [*xs, y], g(x) returning a tuple
            made = n.make_list(source, source, None, self.before)
            values: Any = None if made is None else made.items
        else:
            values = n.list_iteration(source, before=self.before)
        if values is None:
            return None
        for value in values:
            if not isinstance(value, ast.expr):
                raise located(UnsupportedSyntaxError, f"{name} of `{ast.unparse(source)}`, "
                              "whose elements are lists or tuples: Python raises TypeError",
                              source, n.where)
        return [copy_tree(v) for v in values]

    def unknown_length(self, source: ast.expr, name: str) -> None:
        raise located(UnsupportedSyntaxError, f"{name} of `{ast.unparse(source)}`, whose "
                      "elements srcdiff knows only when the function runs: not supported",
                      source, self.normalizer.where, hint="give it elements known when the "
                      "gradient is written (a list or tuple written out, a list the function "
                      "makes, a comprehension over range() of a constant)" + (
                          ", or a 1-D NumPy array" if name == "math.fsum" else
                          "; for arrays, numpy.linalg.norm(p - q)"))

    def clip(self, args: list[ast.expr], keywords: list[ast.keyword], origin: ast.AST) -> ast.Call:
        """``numpy.clip`` and ``x.clip`` with their bounds by position or keyword
        (``a_min``/``a_max``, ``min``/``max``); a missing bound (or ``None``) leaves that
        side open: ``maximum`` or ``minimum`` alone."""
        bounds = list(args[1:3]) + [None] * (3 - len(args))
        for keyword in keywords:
            position = {"a_min": 0, "min": 0, "a_max": 1, "max": 1}.get(keyword.arg)  # type: ignore[arg-type]  # None (**kw): refused below
            if position is None:
                raise located(UnsupportedSyntaxError, f"numpy.clip has no bound "
                              f"{keyword.arg!r} that srcdiff knows", origin,
                              self.normalizer.where)
            bounds[position] = keyword.value
        low, high = [None if b is None or (isinstance(b, ast.Constant) and b.value is None)
                     else b for b in bounds[:2]]
        if low is not None and high is not None:
            return self.numpy_call("clip", [args[0], low, high], [], origin)
        if low is not None:
            return self.numpy_call("maximum", [args[0], low], [], origin)
        if high is not None:
            return self.numpy_call("minimum", [args[0], high], [], origin)
        return self.numpy_call("copy", [args[0]], [], origin)

    def grown_arguments(self, call: ast.Call, callee: object) -> ast.Call:
        """A list grown while the function runs, given to a NumPy (or SciPy) function, is
        the array NumPy makes of it (NumPy's functions take lists as
        ``numpy.asarray`` does): ``numpy.sum(runtime.list_array(xs))``;
        ``numpy.array(xs)`` and ``numpy.asarray(xs)`` are ``list_array(xs)`` itself,
        ``numpy.stack(xs, axis)`` is ``runtime.list_stack(xs, axis)``. Functions that
        take a list of arrays (``concatenate``, ``hstack``...) are left as they are,
        refused after lowering (``analyse.check_grown_lists``)."""
        n = self.normalizer

        def grown(node: ast.expr) -> bool:
            return isinstance(node, ast.Name) and n.grown(node.id, node)
        if not any(grown(a) for a in call.args + [k.value for k in call.keywords]):
            return call
        numpy = sys.modules.get("numpy")
        if numpy is None or (getattr(callee, "__module__", None) or "").split(".")[0] \
                not in ("numpy", "scipy"):
            return call
        first = call.args[0] if call.args else None
        if callee is numpy.stack and first is not None and grown(first) and all(
                k.arg == "axis" for k in call.keywords) and len(call.args) <= 2:
            axis = call.args[1:] + [k.value for k in call.keywords]
            return _located(n.runtime_call("list_stack", [first] + axis, call), call)
        if callee in (numpy.array, numpy.asarray) and first is not None and grown(first) \
                and len(call.args) == 1 and not call.keywords:
            return _located(n.runtime_call("list_array", [first], call), call)
        rule = RULES.lookup(callee, len(call.args))
        if getattr(rule, "sequence", None) is not None and callee not in (
                numpy.array, numpy.asarray) or callee in (
                numpy.column_stack, numpy.dstack, numpy.block):
            return call
        call.args = [n.runtime_call("list_array", [a], a) if grown(a) else a for a in call.args]
        call.keywords = [ast.keyword(k.arg, n.runtime_call("list_array", [k.value], k.value))
                         if grown(k.value) else k for k in call.keywords]
        return call

    def arrays_of_lists(self, call: ast.Call, callee: object) -> ast.Call:
        """A list or tuple of values passed where a NumPy function differentiates an
        array (``numpy.mean([a, b])``) is the array NumPy makes of it:
        ``numpy.mean(numpy.array([a, b]))``, which carries derivatives to each element."""
        from .lower import is_literal
        rule = RULES.lookup(callee, len(call.args))
        if rule is None or (getattr(callee, "__module__", None) or "").split(".")[0] \
                not in ("numpy", "scipy"):
            return call
        params = getattr(rule, "params", ())
        wrt = getattr(rule, "wrt", None)
        args = []
        for index, argument in enumerate(call.args):
            if isinstance(argument, (ast.List, ast.Tuple)) and not is_literal(argument):
                if getattr(rule, "variadic", False):
                    differentiable = index >= 1
                else:
                    param = params[index] if index < len(params) else None
                    differentiable = param is not None and param != getattr(rule, "sequence", None) \
                        and (wrt is None or param in wrt)
                if differentiable:
                    argument = self.numpy_call("array", [argument], [], argument)
            args.append(argument)
        call.args = args
        return call

    def cast(self, call: ast.Call) -> ast.Call:
        """``numpy.array`` and ``numpy.asarray`` (``x.astype``) with a dtype: a floating
        one is a cast the rules differentiate; one of integers or booleans is marked
        ``integer_cast``, which has no derivative. Without NumPy imported there are no
        arrays, and nothing here to do (scalar code never imports NumPy)."""
        numpy = sys.modules.get("numpy")
        if numpy is None:
            return call
        n = self.normalizer
        callee = get_anno(call, "callee") or n.parsed.resolve(call.func, n.locals)
        if callee is not numpy.array and callee is not numpy.asarray:
            return call
        given = [k.value for k in call.keywords if k.arg == "dtype"] + call.args[1:2]
        if not given:
            return call
        node = given[0]
        value: Any = node.value if isinstance(node, ast.Constant) else n.parsed.resolve(
            node, n.locals)  # anything: numpy.dtype says whether it names a dtype
        try:
            kind = numpy.dtype(value).kind
        except TypeError:
            raise located(UnsupportedSyntaxError, f"`{ast.unparse(node)}` is not a dtype "
                          "srcdiff can read where it writes the gradient (float, int, "
                          "numpy.float32, 'float64')", node, n.where) from None
        if kind in "fc":
            return call
        from .array_rules import integer_cast
        if isinstance(call.args[0], (ast.List, ast.Tuple)):
            raise located(UnsupportedSyntaxError, f"a list written out, made an array of "
                          f"{numpy.dtype(value).name}: not supported yet", call, n.where,
                          hint="make the array, then .astype(...) it")
        set_anno(call, "callee", integer_cast)
        return call

    def numpy_call(self, name: str, args: list[ast.expr], keywords: list[ast.keyword], origin: ast.AST) -> ast.Call:
        numpy = sys.modules.get("numpy")
        if numpy is None:  # x.sum() with no NumPy imported: x cannot be an array
            raise located(UnsupportedSyntaxError, f"`numpy.{name}` is what this means on an "
                          "array, and NumPy is not imported", origin, self.normalizer.where,
                          hint="import numpy in the module, or write it without the method")
        call = _located(ast.Call(dotted("numpy." + name), args, keywords), origin)
        set_anno(call, "callee", getattr(numpy, name))
        return call

    def visit_Call(self, node: ast.Call) -> ast.expr:
        n = self.normalizer
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "values",
                                                                       "keys"):
            receiver = node.func.value
            arguments = n.function.args
            if isinstance(receiver, ast.Name) and receiver.id not in n.structures and \
                    receiver.id in {a.arg for a in arguments.posonlyargs + arguments.args
                                    + arguments.kwonlyargs}:
                n.needs_structure(node.func)  # a KindError: the code made for numbers waits
            part = n.part(receiver)
            if part is not None:  # a dict given as an argument, not one the function made
                raise located(UnsupportedSyntaxError, f"`.{node.func.attr}()` of "
                              f"{text(part.param, part.path)}, a structured argument, is "
                              "supported as what a for loop goes over, not as a value", node,
                              n.where, hint=f"for k, v in {text(part.param, part.path)}"
                              f".items(): ..., or read its entries by key "
                              f"({text(part.param, part.path)}['w'])")
            raise located(UnsupportedSyntaxError, f"`.{node.func.attr}()` of a dict srcdiff "
                          "follows is supported where it is looped over (for, comprehensions, "
                          "sum(...))", node, n.where)
        for argument in node.args:
            if isinstance(argument, ast.Starred):  # in a comprehension's element, say
                n.elements(argument.value, [], evaluated=False)  # refuses, located
                raise located(UnsupportedSyntaxError, "`*` arguments here are not supported "
                              "yet", argument, n.where, hint="pass arguments one by one")
        if get_anno(node, "spread") and n.callee_of(node) is None and not (
                isinstance(node.func, ast.Attribute) and node.func.attr == "append"):
            from .fence import Fence  # f(*xs), xs spread: the call checked as written out
            callee = n.parsed.resolve(node.func, n.locals)
            Fence(n.parsed).check_callee(node, callee, ast.unparse(node.func))
        method = n.method_call(node)  # self.forward(x): the class's function, inlined
        if method is not None:
            node = method
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                n.grown(func.value.id, node):
            raise located(UnsupportedSyntaxError, f"`{func.value.id}` is a list grown while "
                          f"the function runs: srcdiff supports `.append` of it, not "
                          f"`.{func.attr}`", node, n.where, hint=f"numpy.array({func.value.id})"
                          f".{func.attr}(...) for the array's method")
        if isinstance(func, ast.Attribute) and func.attr not in METHODS and \
                func.attr != "append" and n.parsed.resolve(func.value, n.locals) is \
                UNRESOLVED and n.part(func.value) is None:  # (a value's: the fence let it by)
            refusal = located(UnsupportedSyntaxError, f"the method `.{func.attr}()` is not "
                              "supported here", func, n.where, hint="srcdiff.grad, "
                              "srcdiff.value_and_grad and srcdiff.jvp inline the methods "
                              "the class of an object given as an argument defines "
                              "(self.forward(x)); srcdiff differentiates the array methods "
                              + ", ".join(sorted(METHODS)))
            if not n.structures:  # code for numbers first (at decoration), for the objects
                setattr(refusal, "depends_on_kinds", True)  # given at the call
            raise refusal
        if isinstance(func, ast.Attribute) and func.attr in METHODS and not isinstance(
                n.parsed.resolve(func.value, n.locals), types.ModuleType):
            # x.sum(axis=0) is numpy.sum(x, axis=0); x.reshape(2, 3) is reshape(x, (2, 3))
            if isinstance(func.value, ast.Constant):  # 3.0.clip(): Python raises
                raise located(UnsupportedSyntaxError, f"a {type(func.value.value).__name__} "
                              f"has no method {func.attr!r}", node, n.where)
            args = [self.visit(a) for a in node.args]
            if func.attr in TUPLE_METHODS and len(args) > 1:
                args = [_located(ast.Tuple(args, ast.Load()), node)]
            keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
            if func.attr == "clip":
                return self.clip([self.visit(func.value)] + args, keywords, node)
            if func.attr == "copy" and not args and not keywords:
                # x.copy() as Python runs it: C-ordered (numpy.copy keeps x's layout: a
                # transposed x summed after gave other last bits, campaign arrays seed
                # 841962), and a list's copy a list (numpy.copy made an array of it:
                # len(b * 2) was 2 where Python's is 4); a list srcdiff follows, a new one
                followed = n.list_of(func.value)
                if followed is not None and followed.keys is None:
                    return _written_out(_List(list(followed.items), n.scope, followed.what,
                                              followed.is_tuple), node, n.where)
                from .array_rules import COPY_OF, helper_name
                helper = _located(ast.Call(_name(helper_name(n.function, "copy_of")),
                                           [self.visit(func.value)], []), node)
                set_anno(helper, "callee", COPY_OF.func)
                return helper
            if func.attr == "item":  # x.item(): srcdiff.runtime.item_of(x)
                from .array_rules import ITEM, helper_name
                if args or keywords:
                    raise located(UnsupportedSyntaxError, "`.item()` is supported without "
                                  "arguments", node, n.where)
                helper = _located(ast.Call(_name(helper_name(n.function, "item_of")),
                                           [self.visit(func.value)], []), node)
                set_anno(helper, "callee", ITEM.func)
                return helper
            return self.cast(self.numpy_call(METHODS[func.attr], [self.visit(func.value)] + args,
                                             keywords, node))
        resolved = n.parsed.resolve(node.func, n.locals)
        if node.keywords:  # numpy.interp(x, xp=xp, fp=fp): the rule's arguments by position
            moved = RULES.positional_keywords(resolved, node)
            if moved:
                given = {k.arg: k.value for k in node.keywords}
                node.args = node.args + [given[name] for name in moved]
                node.keywords = [k for k in node.keywords if k.arg not in moved]
        if resolved is isinstance and isinstance(node.args[1], ast.Tuple):
            # isinstance(x, (A, B)): isinstance(x, A) or isinstance(x, B), as Python
            # tests a tuple of classes (nested ones too); x computed once, first
            before = self.visit(node.args[0])
            if not is_literal(before) and not isinstance(before, ast.Name):
                value = n.fresh("tested")
                self.before.append(n.assign(value, before, node))
                before = _located(_name(value), node)
            classes: list[ast.expr] = []
            pending: list[ast.expr] = [node.args[1]]
            while pending:
                spec = pending.pop(0)
                if isinstance(spec, ast.Tuple):
                    pending[:0] = spec.elts
                else:
                    classes.append(spec)
            tests: list[ast.expr] = [_located(ast.Call(copy.copy(node.func), [
                copy_tree(before), copy_tree(c)], []), node) for c in classes]
            either = _located(ast.BoolOp(ast.Or(), tests), node) if len(tests) > 1 else tests[0]
            return cast(ast.expr, self.visit(either))
        if resolved is isinstance:  # the class: read as it is, not as a value
            return _located(ast.Call(node.func, [self.visit(node.args[0]), node.args[1]], []),
                            node)
        if any(resolved is f for f in REDUCTIONS) and node.args and not (
                resolved in (min, max) and len(node.args) > 1):
            return self.reduction(node, resolved)
        if (resolved is math.fsum and len(node.args) == 1 or
                resolved is math.dist and len(node.args) == 2) and not node.keywords:
            return self.of_elements(node, resolved)
        if len(node.args) == 1 and not node.keywords and resolved is len:
            made = n.list_of(node.args[0])
            if made is not None:
                return _located(ast.Constant(len(made.items)), node)
        if len(node.args) == 1 and not node.keywords and resolved is len:
            part = n.part(node.args[0])
            if part is not None and isinstance(part.value, (list, tuple, dict)):
                return _located(ast.Constant(len(part.value)), node)  # a fact of the code
        if n.callee_of(node) is not None:
            returned = n.returned_tuple(node, self.before)
            if returned is not None:  # g(x) returning a tuple, as a value
                return _written_out(returned, node, n.where)
            result = n.fresh(_callee_name(node))
            self.inline_call(node, [result])
            return _located(_name(result), node)
        if isinstance(node.func, ast.Subscript):  # (the fence let it by)
            refusal = located(UnsupportedSyntaxError, f"`{ast.unparse(node.func)}` is not an "
                              "object whose class defines __call__: calling it is not "
                              "supported", node, n.where, hint="srcdiff inlines the functions "
                              "a module defines, and the methods (and __call__) of objects "
                              "given as arguments")
            if not n.structures:
                setattr(refusal, "depends_on_kinds", True)
            raise refusal
        if isinstance(node.func, ast.Name) and n.parsed.resolve(node.func, n.locals) is \
                UNRESOLVED:  # a variable (the fence let it by)
            refusal = located(UnsupportedSyntaxError, f"`{node.func.id}` is a local variable; "
                              "calling it is not supported", node, n.where, hint="srcdiff "
                              "inlines the functions a module defines, and the methods (and "
                              "__call__) of objects given as arguments")
            if not n.structures:  # code for numbers first, for objects at the call
                setattr(refusal, "depends_on_kinds", True)
            raise refusal
        self.generic_visit(node)
        callee = n.parsed.resolve(node.func, n.locals)
        if "numpy" in sys.modules and callee is getattr(sys.modules["numpy"], "clip", None):
            return self.clip(node.args, node.keywords, node)
        grown = self.grown_arguments(node, callee)
        if grown is not node:
            return grown
        node = self.cast(self.arrays_of_lists(node, callee))
        if len(node.args) > 2 and n.parsed.resolve(node.func, n.locals) in (min, max):
            nested = node.args[0]
            for argument in node.args[1:]:
                nested = _located(ast.Call(copy.copy(node.func), [nested, argument], []), node)
            return nested
        return node


def _has_methods(value: object) -> bool:
    """Whether ``value`` is an object whose class's methods ``method_call`` may inline:
    not a number, an array, a dict, a list or a plain tuple (a NamedTuple has them)."""
    return is_object(value) and not isinstance(value, (dict, list)) and not (
        isinstance(value, tuple) and not hasattr(type(value), "_fields"))


def _written_out(made: _List, origin: ast.AST, where: Parsed) -> ast.expr:
    """A list (or tuple) srcdiff follows, as the literal of its elements; a dict is
    refused (read by key, looped over, given to a function, not used as a value)."""
    if made.keys is not None:
        raise located(UnsupportedSyntaxError, f"{made.what} is a dict srcdiff follows: it is "
                      "read by key, looped over and given to functions, not used as a value",
                      origin, where, hint="read its items by key")
    items = [_written_out(item, origin, where) if isinstance(item, _List) else copy_tree(item)
             for item in made.items]
    node = ast.Tuple(items, ast.Load()) if made.is_tuple else ast.List(items, ast.Load())
    return _located(node, origin)


def _constants_of(target: ast.expr, value: Any) -> list[tuple[str, ast.expr]]:
    """The names of a loop's target bound to constants by ``value`` (what
    ``list_iteration`` gives: an expression, or a tuple of them)."""
    if isinstance(target, ast.Name):
        return [(target.id, value)] if isinstance(value, ast.Constant) else []
    if isinstance(target, ast.Tuple) and isinstance(value, tuple) and len(value) == len(target.elts):
        return [pair for t, v in zip(target.elts, value) for pair in _constants_of(t, v)]
    return []


def _evaluated(node: ast.stmt) -> list[ast.AST]:
    """What a statement evaluates itself: an ``if``'s or ``while``'s test, a ``for``'s
    iterable, all of a simple statement (its blocks are statements of their own)."""
    if isinstance(node, (ast.If, ast.While)):
        return [node.test]
    return [node.iter] if isinstance(node, ast.For) else [node]


def _spreads(node: ast.AST) -> bool:
    """Whether ``node`` is a call with ``*`` arguments or a list or tuple (read, not
    assigned to) with ``*`` elements."""
    return any(isinstance(e, ast.Starred) for e in _spread_parts(node))


def _spread_parts(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load):
        return node.elts
    return []


def _constant_int(node: ast.expr, normalizer: Normalizer) -> int | None:
    """An int the code gives as a constant (``3``, ``-1``, a module's ``N``), else None."""
    key = _constant_key(node)
    if isinstance(key, int):
        return key
    if isinstance(node, (ast.Name, ast.Attribute)) and not (
            isinstance(node, ast.Name) and node.id in normalizer.locals):
        value = normalizer.parsed.resolve(node, normalizer.locals)
        if type(value) is int:
            return value
    return None


def _names_list(node: ast.expr, normalizer: Normalizer) -> bool:
    """Whether ``node`` reads a list srcdiff follows (``xs``, ``rows[0]``, ``xs[1:]``)."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id in normalizer.lists.by_name


def _changed_lists(body: list[ast.stmt]) -> tuple[set[str], set[str]]:
    """The names ``body`` appends to (``out.append(v)``), and those and the names it
    assigns items of (``out[0] = v``)."""
    appended, changed = set(), set()
    for statement in body:
        for node in walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "append" and isinstance(node.func.value, ast.Name):
                appended.add(node.func.value.id)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Name):
                changed.add(node.value.id)
    return appended, appended | changed


def _appended_in_branches(body: list[ast.stmt]) -> set[str]:
    """The names ``body`` appends to inside an ``if`` (``out.append(v)``)."""
    result: set[str] = set()
    for statement in body:
        for node in walk(statement):
            if isinstance(node, ast.If):
                result |= _changed_lists(node.body + node.orelse)[0]
    return result


def _comprehension_loops(normalizer: Normalizer, node: ast.GeneratorExp | ast.ListComp,
                         body: Callable[[ast.expr], list[ast.stmt]],
                         guard: ast.expr | None = None) -> ast.For:
    """The loops a comprehension stands for, innermost running ``body(element)``; its
    variables renamed fresh (a comprehension has a scope of its own); with ``guard``, each
    loop's body (conditions included) runs only while ``guard`` holds."""
    renames = {}
    for generator in node.generators:
        for name in walk(generator.target):
            if isinstance(name, ast.Name) and name.id not in renames:
                renames[name.id] = normalizer.fresh(name.id)
    rename = _Rename(renames)
    inner: list[ast.stmt] = body(rename.visit(copy_tree(node.elt)))
    for index in reversed(range(len(node.generators))):
        generator = node.generators[index]
        for condition in reversed(generator.ifs):
            inner = [_located(ast.If(rename.visit(copy_tree(condition)), inner, []), condition)]
        if guard is not None:
            inner = [_located(ast.If(copy_tree(guard), inner, []), node)]
        source = copy_tree(generator.iter)
        if index:  # the first iterable is evaluated outside the comprehension's scope
            source = rename.visit(source)
        inner = [_located(ast.For(rename.visit(copy_tree(generator.target)), source, inner, []),
                          node)]
    return cast(ast.For, inner[0])


def _constant_key(index: ast.expr) -> str | int | None:
    """The key a constant index gives (``"w"``, ``0``, ``-1``), else None."""
    if isinstance(index, ast.Constant) and isinstance(index.value, (str, int)) and not isinstance(
            index.value, bool):
        return index.value
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(
            index.operand, ast.Constant) and type(index.operand.value) is int:
        return -index.operand.value
    return None


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else name_id(func)


def _leaves(statement: ast.stmt, returns_early: bool, loops_too: bool,
            continues: bool = True) -> bool:
    """Whether ``statement`` contains a ``return`` (when the function returns early) or
    a ``break`` (and, if ``continues``, a ``continue``) that leaves the enclosing block.
    ``loops_too``: ``statement`` is itself in the body of the loop being left."""
    def visit(node: ast.AST, in_inner_loop: bool) -> bool:
        if isinstance(node, ast.Return):
            return returns_early
        if isinstance(node, ast.Break) or (continues and isinstance(node, ast.Continue)):
            return loops_too and not in_inner_loop
        if isinstance(node, (ast.For, ast.While)):
            # a break in the body leaves that loop; one in its else clause, this one
            return any(visit(child, True) for child in node.body) or \
                any(visit(child, in_inner_loop) for child in node.orelse)
        return any(visit(child, in_inner_loop) for child in ast.iter_child_nodes(node)
                   if isinstance(child, ast.stmt) and not isinstance(child, ast.FunctionDef))
    return visit(statement, False)


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)
