"""Errors srcdiff raises for user input.

Every error caused by the function being differentiated is a :class:`SrcdiffError`.
Errors tied to a place in the user's source carry the file, line, column, the source
line itself and a caret, and render like a compiler diagnostic::

    model.py:12:4: `while` loops are not supported yet
        while x > 0:
        ^
    hint: ...
"""

from __future__ import annotations

import ast
import linecache
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .parse import Parsed


class SrcdiffError(Exception):
    """Base of every error srcdiff raises for user input."""


class NoSourceError(SrcdiffError):
    """The function's source code cannot be read (REPL, ``exec``, builtins)."""


class LocatedError(SrcdiffError):
    """An error at a place in the user's source.

    Attributes: ``filename``, ``lineno`` (1-based), ``col`` (0-based, in the file's own
    line), ``source_line`` (that line, without its newline), ``message`` and ``hint``.
    """

    def __init__(self, message: str, *, filename: str, lineno: int, col: int,
                 source_line: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        if source_line is None:
            source_line = linecache.getline(filename, lineno).rstrip("\n")
        self.source_line = source_line
        self.hint = hint
        super().__init__(self._render())

    def __reduce__(self) -> tuple[Callable[..., LocatedError], tuple[Any, ...]]:
        """Errors travel to and from worker processes (``multiprocessing``, Dask):
        rebuilt from their fields, with their location."""
        return (_rebuild_located, (type(self), self.message, self.filename, self.lineno,
                                   self.col, self.source_line, self.hint))

    def _render(self) -> str:
        parts = [f"{self.filename}:{self.lineno}:{self.col + 1}: {self.message}"]
        if self.source_line:
            parts.append("    " + self.source_line)
            parts.append("    " + " " * self.col + "^")
        if self.hint:
            parts.append("hint: " + self.hint)
        return "\n".join(parts)


class UnsupportedSyntaxError(LocatedError):
    """A construct outside the language srcdiff supports (refused by the fence)."""


class MissingRuleError(LocatedError):
    """A call to a function that has no derivative rule."""


class SrcdiffNameError(LocatedError):
    """A name the function uses cannot be resolved when the gradient is generated."""


class KindError(LocatedError):
    """An operation srcdiff cannot differentiate for the kinds of values it is applied
    to (a ``math`` function of an array, an array result where a number is needed...)."""


class ArgumentKindError(SrcdiffError, TypeError):
    """A gradient was called with an argument of a kind it cannot differentiate."""


class InternalError(SrcdiffError):
    """srcdiff failed on input it accepted: a bug in srcdiff, please report it."""


def _rebuild_located(cls: type[LocatedError], message: str, filename: str, lineno: int, col: int,
                     source_line: str | None, hint: str | None) -> LocatedError:
    return cls(message, filename=filename, lineno=lineno, col=col, source_line=source_line,
               hint=hint)


def located(cls: type[LocatedError], message: str, node: ast.AST, where: Parsed, *,
            hint: str | None = None) -> LocatedError:
    """Build ``cls`` for ``node`` of the parsed function ``where`` (a ``parse.Parsed``)."""
    lineno = getattr(node, "lineno", where.firstlineno)
    col = getattr(node, "col_offset", 0)  # parse keeps true file columns
    return cls(message, filename=where.filename, lineno=lineno, col=col,
               source_line=where.line(lineno), hint=hint)


class CompileError(LocatedError):
    """A gradient asked for compiled (``compile="numba"``) that uses a construct outside
    what the compiler accepts; located in the user's source, or in the generated line
    the compiler refused."""


class CompilerMissingError(SrcdiffError, ImportError):
    """``compile="numba"`` where numba is not installed."""
