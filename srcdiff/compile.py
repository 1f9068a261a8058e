"""Stage 9, compile: generated source to a function object Python tools can read.

Contract: takes the emitted text of one ``def`` and the primal function, and returns a
function whose globals are the primal's module globals (so module-level names stay live),
whose closure holds the primal's closure cells and the modules the derivatives need
(``math``), and whose source is registered in ``linecache`` under a unique file name, so
``inspect.getsource``, tracebacks and ``pdb`` show the generated lines.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import math
import types
import weakref

from .ir import function_def

# Modules generated derivatives may call, by the name they use for them (``numpy`` is
# added once a program has imported it: array code calls ``numpy.<function>``).
MODULES: dict[str, types.ModuleType] = {"math": math}


def modules() -> dict[str, types.ModuleType]:
    import sys
    if "numpy" not in MODULES and "numpy" in sys.modules:
        MODULES["numpy"] = sys.modules["numpy"]
    return MODULES
_counter = itertools.count(1)


def register_source(text: str, label: str) -> str:
    """Register ``text`` in ``linecache`` under a new file name and return that name."""
    filename = f"<srcdiff generated {label} #{next(_counter)}>"
    # An mtime of None tells linecache.checkcache never to evict the entry.
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return filename


def compile_function(text: str, primal: types.FunctionType, label: str,
                     injected: dict[str, types.CellType] | None = None, defaults: bool = True) -> types.FunctionType:
    """``injected``: further closure cells by name (free variables of inlined callees);
    ``defaults``: give the function the primal's default argument values."""
    filename = register_source(text, label)
    module = ast.parse(text, filename=filename)
    inner = module.body[0]
    assert isinstance(inner, ast.FunctionDef)  # the text is one def
    # Compiled under a private name, renamed after: bound in the factory's scope, the
    # def's own name would capture a global of that name the code reads (a user function
    # named like the gradient, dfn_dx).
    own, inner.name = inner.name, "__srcdiff_generated__"
    closure_cells = dict(zip(primal.__code__.co_freevars, primal.__closure__ or ()))
    closure_cells.update(injected or {})
    # Wrap the def in a factory whose parameters become the inner function's free
    # variables; the inner function keeps the line numbers of the registered text.
    # (not a module name the primal's globals give another meaning: the code reads the
    # user's `numpy = 3.0` there; generated references to the module are bound under
    # names of their own, ``hygiene.bind_runtime_names``)
    available = {name: module for name, module in modules().items()
                 if primal.__globals__.get(name, module) is module}
    free = sorted(set(closure_cells) | set(available))
    factory = function_def("__srcdiff_factory__", ast.arguments(
        posonlyargs=[], args=[ast.arg(n) for n in free], vararg=None, kwonlyargs=[],
        kw_defaults=[], kwarg=None, defaults=[]),
        [ast.Return(ast.Name(inner.name, ast.Load()))])
    wrapper = ast.Module([factory], type_ignores=[])
    ast.fix_missing_locations(wrapper)  # before the parsed def goes in: it has its locations
    factory.body.insert(0, inner)
    code = compile(wrapper, filename, "exec")
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner_code = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType)
                      and c.co_name == inner.name)
    inner_code = inner_code.replace(co_name=own, co_qualname=own)
    cells = tuple(closure_cells[name] if name in closure_cells else types.CellType(available[name])
                  for name in inner_code.co_freevars)
    function = types.FunctionType(inner_code, primal.__globals__, own,
                                  primal.__defaults__ if defaults else None, cells)
    if defaults:
        function.__kwdefaults__ = primal.__kwdefaults__
    function.__qualname__ = own
    function.__module__ = primal.__module__
    # the source lives as long as the function: a process that generates many gradients
    # (a fuzzer, a notebook redefining functions) does not keep every text it ever made
    weakref.finalize(function, linecache.cache.pop, filename, None)
    return function
