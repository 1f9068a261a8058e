"""Tracebacks that show generated code's lines on every supported Python.

Generated functions are compiled under file names such as ``<srcdiff generated df_dx of
f #1>`` whose text ``linecache`` holds (``srcdiff.compile``): ``inspect``, ``pdb`` and the
``traceback`` module read it there. The traceback the interpreter itself prints for an
uncaught exception reads files instead on Python 3.11 and 3.12 (3.13 prints through the
``traceback`` module), so a failure inside a gradient showed no line of the code that
failed. ``install`` puts a ``sys.excepthook`` in front of the interpreter's own, on those
versions and only while the hook is the default one (IPython, pytest and other tools
that set their own keep theirs): a traceback passing through generated code is printed
by the ``traceback`` module, with those lines; any other is handed to the default hook
unchanged.
"""

from __future__ import annotations

import sys
import traceback
import types

PREFIX = "<srcdiff "  # the file names generated code is compiled under


def passes_through_generated_code(error: BaseException | None) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith(PREFIX):
                return True
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    return False


def _hook(kind: type[BaseException], error: BaseException,
          tb: types.TracebackType | None) -> None:
    if error is not None and passes_through_generated_code(error):
        traceback.print_exception(kind, error, tb)
    else:
        sys.__excepthook__(kind, error, tb)


def install() -> None:
    if sys.version_info < (3, 13) and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook
