"""Stage 1, parse: a function object to its AST, with true file positions and the
objects its free names refer to.

Contract: returns a :class:`Parsed` whose ``tree`` is the ``ast.FunctionDef`` with the
line and column numbers of the file it came from, and whose ``lookup`` resolves a free
name through the function's closure cells, its module globals and the builtins, in that
order, as Python does. ``resolve`` follows attribute chains through modules, so
``math.sin``, ``from math import sin`` and ``import math as m; m.sin`` all resolve to
the same object.

>>> import math
>>> def f(x):
...     return math.sin(x)
>>> parsed = parse(f)
>>> call = parsed.tree.body[0].value
>>> parsed.resolve(call.func) is math.sin
True
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import inspect
import linecache
import types
from dataclasses import dataclass, field
from collections.abc import Collection, Iterator
from typing import Any, Callable, cast

from .errors import NoSourceError, SrcdiffError
from .ir import def_of_lambda, walk

_UNRESOLVED = object()


@dataclass
class Parsed:
    """A parsed function: its ``def`` node and everything needed to read its names."""

    func: types.FunctionType
    tree: ast.FunctionDef
    filename: str
    firstlineno: int
    globals: dict[str, Any]
    closure: dict[str, types.CellType] = field(default_factory=dict)  # free name -> cell
    # Names the generated code needs that the function's own scope does not have (the
    # free variables of inlined callees), each with its cell; compile puts them in the
    # generated function's closure.
    injected: dict[str, types.CellType] = field(default_factory=dict)
    # Where each injected name comes from, for writing standalone modules:
    # ("global", module, attribute) | ("closure", function, variable) | ("vjp" or "jvp", function, wrt, kinds)
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def inject(self, name: str, cell: types.CellType, origin: tuple[Any, ...]) -> None:
        self.injected[name] = cell
        self.origins[name] = origin

    def local_names(self) -> frozenset[str]:
        """``local_names(self.tree)``, computed once: every pass asks, the tree never
        changes."""
        cached = self.__dict__.get("_local_names")
        if cached is None or cached[0] is not self.tree:
            cached = self.__dict__["_local_names"] = (self.tree, frozenset(local_names(self.tree)))
        return cached[1]

    def line(self, lineno: int) -> str:
        return linecache.getline(self.filename, lineno).rstrip("\n")

    def lookup(self, name: str) -> Any:
        """The object a free ``name`` refers to now, or ``UNRESOLVED`` (recorded as a
        dependency of the gradient being generated: see ``recording``)."""
        if name in self.injected:
            return self.injected[name].cell_contents
        if name in self.closure:
            try:
                value = self.closure[name].cell_contents
            except ValueError:  # empty cell: the enclosing variable is not set yet
                value = _UNRESOLVED
            _record("cell", self.closure[name], name, value)
            return value
        if name in self.globals:
            value = self.globals[name]
            _record("global", self.globals, name, value)
            return value
        namespace = self.globals.get("__builtins__", builtins)
        if isinstance(namespace, types.ModuleType):
            namespace = vars(namespace)
        value = namespace.get(name, _UNRESOLVED)
        _record("builtin", self.globals, name, value)
        return value

    def resolve(self, node: ast.expr, local_names: Collection[str] = ()) -> Any:
        """The object a ``Name`` or a dotted ``Attribute`` chain over modules refers to."""
        if isinstance(node, ast.Name):
            if node.id in local_names:
                return _UNRESOLVED
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value, local_names)
            if isinstance(base, types.ModuleType):
                value = getattr(base, node.attr, _UNRESOLVED)
                if not _library(base):  # math.sin is not rebound; a user module's may be
                    _record("attribute", base, node.attr, value)
                return value
            if isinstance(base, type):
                # Model.forward, a function the class defines (or a staticmethod's)
                found = inspect.getattr_static(base, node.attr, None)
                if isinstance(found, staticmethod):
                    found = found.__func__
                if isinstance(found, types.FunctionType) and not library_function(found):
                    _record("attribute", base, node.attr, getattr(base, node.attr))
                    return found
                if type(found) in (int, float) and base.__module__ != "builtins":
                    # K.EPS, a number a class holds: read live, as a module's number is
                    _record("attribute", base, node.attr, found)
                    return found
        return _UNRESOLVED


UNRESOLVED = _UNRESOLVED

# The names resolved while a gradient is generated, so that the gradient can notice when
# one of them is rebound (a helper redefined in a notebook, a global number become an
# array) and generate again: (kind, namespace, name, value) tuples.
_dependencies: contextvars.ContextVar[list[tuple[str, Any, str, Any]] | None] = contextvars.ContextVar("srcdiff_dependencies",
                                                               default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[str, Any, str, Any]]]:
    """Collect the dependencies of what is generated inside the ``with`` block."""
    found: list[tuple[str, Any, str, Any]] = []
    token = _dependencies.set(found)
    try:
        yield found
    finally:
        _dependencies.reset(token)


def library_function(function: types.FunctionType) -> bool:
    """A function of the standard library, NumPy or SciPy (a method of one's classes)."""
    import sys
    module = sys.modules.get(function.__module__)
    return module is not None and _library(module)


def _library(module: types.ModuleType) -> bool:
    """A module of the standard library, NumPy or SciPy."""
    import sys
    root = module.__name__.partition(".")[0]
    return root in sys.stdlib_module_names or root in ("numpy", "scipy")


def _record(kind: str, where: Any, name: str, value: Any) -> None:
    found = _dependencies.get()
    if found is not None:
        found.append((kind, where, name, value))


def parse(func: Callable[..., Any]) -> Parsed:
    """Parse ``func``'s source; raise :class:`NoSourceError` when there is none."""
    if isinstance(func, types.MethodType):
        raise SrcdiffError(f"srcdiff differentiates plain functions; {func.__qualname__} is "
                           "a bound method: differentiate the function it wraps, passing "
                           "the instance as an argument")
    if getattr(func, "__srcdiff_recursive__", None) is not None:
        raise SrcdiffError(f"{func.__srcdiff_recursive__.__qualname__} calls itself: srcdiff "  # type: ignore[attr-defined]  # set by srcdiff on a recursive gradient
                           "differentiates recursion once (grad, jvp), not twice (hessian, "
                           "hvp and grad(grad(f)) of recursive functions are not supported "
                           "yet); write the recursion as a loop")
    if hasattr(func, "__srcdiff__"):
        raise SrcdiffError(f"{func.__name__} was made by srcdiff: srcdiff differentiates "
                           "srcdiff.grad(f, wrt=<one parameter>) once more (grad(grad(f))), "
                           "not this; srcdiff.hessian and srcdiff.hvp give second "
                           "derivatives")
    if hasattr(func, "__wrapped__"):
        raise SrcdiffError(f"{func.__qualname__} wraps another function (it has "
                           "__wrapped__, as functools.wraps sets): its source is not the "
                           "code that runs; differentiate the undecorated function")
    if not isinstance(func, types.FunctionType):
        raise SrcdiffError(f"srcdiff differentiates Python functions, not {type(func).__name__} "
                           f"objects ({func!r})")
    name = func.__name__
    found = _quick_source(func)
    if found is not None:
        filename, firstlineno, module = found
    else:
        try:
            lines, firstlineno = inspect.getsourcelines(func)
            filename = inspect.getsourcefile(func) or func.__code__.co_filename
        except (OSError, TypeError) as error:
            raise NoSourceError(
                f"cannot read the source of {name}(): srcdiff needs a function defined in "
                f"a file, not one typed at the interactive prompt or made with exec "
                f"({error})") from None
        try:
            module = _parse_at(lines, firstlineno, filename)
        except SyntaxError as error:
            raise NoSourceError(f"cannot parse the source of {name}() in {filename}: "
                                f"{error.msg}") from None
    tree = _find_def(module, func)
    if tree is None:
        what = ("the lambda (several on its line take the same parameters)"
                if name == "<lambda>" else f"the definition of {name}()")
        raise NoSourceError(f"cannot find {what} in the source {filename}:{firstlineno}")
    closure = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    return Parsed(func, tree, filename, firstlineno, func.__globals__, closure)


def _parse_at(lines: list[str], firstlineno: int, filename: str) -> ast.Module:
    """``lines``, the file's from line ``firstlineno`` on, parsed with the file's line
    numbers and columns: blank lines before them stand for the lines above (quicker than
    ``ast.increment_lineno`` after), and an indented ``def`` (a method or a nested
    function) is parsed inside a dummy block."""
    offset = firstlineno - 1
    head = ""
    if lines and lines[0][:1] in (" ", "\t"):
        head = "if 1:\n"
        offset -= 1
    return ast.parse("\n" * offset + head + "".join(lines), filename=filename)


def _quick_source(func: types.FunctionType) -> tuple[str, int, ast.Module] | None:
    """``func``'s file name, first line and parsed source, without ``inspect``'s
    tokenizer (which costs more than the parse: 13 ms for a function of 333 lines). The
    block is the lines from ``co_firstlineno`` up to the first line, neither blank nor a
    comment, indented no deeper than the first: every line of the function below it is
    deeper, except a line continuing a bracket, a string or a backslash of an earlier
    line, and cutting there leaves that bracket, string or backslash unfinished, which
    does not parse. None (``inspect`` then reads it as it always did) when anything
    differs from that plain case: no lines in ``linecache``, a lambda, a first line that
    is neither the ``def`` nor its decorators, or a block that does not parse."""
    code = func.__code__
    filename = code.co_filename
    linecache.checkcache(filename)  # as inspect does: an edited file is read again
    lines = linecache.getlines(filename, func.__globals__)
    start = code.co_firstlineno - 1  # the first decorator's line, if any
    if not 0 <= start < len(lines):
        return None  # no source there (a function made by exec, typed at the prompt)
    first = lines[start]
    indent = len(first) - len(first.lstrip())

    def next_statement(index: int) -> int:
        """The first line after ``index``, neither blank nor a comment, indented no
        deeper than the definition (``len(lines)`` when there is none)."""
        index += 1
        while index < len(lines):
            line = lines[index]
            text = line.lstrip()
            if text and text[0] != "#" and len(line) - len(text) <= indent:
                return index
            index += 1
        return index

    header = start
    while header < len(lines) and lines[header].lstrip().startswith("@"):
        header = next_statement(header)  # past the decorators
    text = lines[header].lstrip() if header < len(lines) else ""
    if func.__name__ == "<lambda>" or not text.startswith(("def ", "async ")) or \
            len(lines[header]) - len(text) != indent:
        # a lambda (inside a longer line), anything unusual: inspect finds it
        return None
    end = next_statement(header)
    try:
        module = _parse_at(lines[start:end], start + 1, filename)
    except SyntaxError:
        return None
    return filename, start + 1, module


def _find_def(module: ast.Module, func: Callable[..., Any]) -> ast.FunctionDef | None:
    if func.__name__ == "<lambda>":
        return _find_lambda(module, func)
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef) and node.name == func.__name__:
            return node
        if isinstance(node, ast.AsyncFunctionDef) and node.name == func.__name__:
            # the fence refuses it with a located error, before any pass reads it
            return cast(ast.FunctionDef, node)
    return None


def _find_lambda(module: ast.Module, func: Callable[..., Any]) -> ast.FunctionDef | None:
    """The lambda that made ``func``, as a ``def`` returning its body, when its line and
    parameter names single it out."""
    code = func.__code__
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [node for node in ast.walk(module) if isinstance(node, ast.Lambda)
             and node.lineno == code.co_firstlineno
             and [a.arg for a in node.args.posonlyargs + node.args.args
                  + node.args.kwonlyargs] == params]
    return def_of_lambda(found[0]) if len(found) == 1 else None


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Names bound inside the function: its parameters and assignment targets."""
    args = tree.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):  # parameters of nested functions and lambdas
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef) and node is not tree:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:  # in a try run as written
            names.add(node.name)
        elif isinstance(node, ast.alias) and node.name != "*":  # import m (in a try)
            names.add(node.asname or node.name.split(".")[0])
    return names


def all_names(tree: ast.AST) -> set[str]:
    """Every identifier mentioned anywhere in ``tree``."""
    names = set()
    for node in walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return names
