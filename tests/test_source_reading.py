"""srcdiff.parse reads a function's lines itself (``_quick_source``: from its first line
to the first line indented no deeper, which must parse) instead of through inspect's
tokenizer. Every function here is read both ways; where the quick way answers, the
trees are the same, line numbers and columns included."""
import ast
import importlib
import inspect
import sys
import textwrap
import types

import pytest

import srcdiff
from srcdiff import parse
from srcdiff.errors import NoSourceError
from tests import programs, programs_calls, programs_control, programs_lists, source_shapes


def by_inspect(func):
    lines, first = inspect.getsourcelines(func)
    return first, parse._parse_at(lines, first, inspect.getsourcefile(func))


def definition(module, func):
    return ast.dump(parse._find_def(module, func), include_attributes=True)


def functions_of(module):
    found = []
    for value in vars(module).values():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            found.append(value)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            found.extend(v.__func__ if isinstance(v, staticmethod) else v
                         for v in vars(value).values()
                         if isinstance(v, (types.FunctionType, staticmethod)))
    return found


SHAPES = functions_of(source_shapes) + [source_shapes.make_inner()]
assert len(SHAPES) == 22
QUICK = {"plain", "decorated", "decorated_over_lines",
         "comment_at_column_zero", "blank_lines_inside", "method", "static", "outer",
         "inner", "one_liner", "ends_the_file", "tagged", "tagging", "make_inner"}
# a line at column 0 inside them: the quick cut leaves a string, a bracket or a
# backslash unfinished, which does not parse, and inspect reads them
INSPECTED = {"decorator_at_column_zero", "docstring_at_column_zero", "string_at_column_zero", "bracket_at_column_zero",
             "backslash_at_column_zero", "parameters_at_column_zero",
             "method_with_column_zero", "<lambda>"}


@pytest.mark.parametrize("func", SHAPES, ids=lambda f: f.__qualname__)
def test_the_quick_reading_is_inspects(func):
    quick = parse._quick_source(func)
    if func.__name__ in INSPECTED:
        assert quick is None
    else:
        assert func.__name__ in QUICK and quick is not None
        filename, first, module = quick
        assert filename == inspect.getsourcefile(func)
        expected_first, expected = by_inspect(func)
        assert first == expected_first
        assert definition(module, func) == definition(expected, func)
    tree = parse.parse(func).tree  # either way, the definition, at its own lines
    if func.__name__ == "<lambda>":
        assert tree.lineno == func.__code__.co_firstlineno
        return
    assert (tree.decorator_list or [tree])[0].lineno == func.__code__.co_firstlineno
    assert definition(ast.Module([tree], []), func) == definition(by_inspect(func)[1], func)


def test_every_function_of_the_test_programs_reads_the_same():
    count = 0
    for module in (programs, programs_calls, programs_control, programs_lists):
        for func in functions_of(module):
            try:
                expected_first, expected = by_inspect(func)
            except (OSError, TypeError):
                continue
            quick = parse._quick_source(func)
            if quick is None:
                continue
            count += 1
            assert quick[1] == expected_first, func.__qualname__
            assert definition(quick[2], func) == definition(expected, func), func.__qualname__
    assert count > 100


def test_a_module_edited_after_import_is_read_again_as_inspect_does(tmp_path, monkeypatch):
    path = tmp_path / "edited_module.py"
    path.write_text("def f(x):\n    return x * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_module")
    try:
        assert srcdiff.grad(module.f)(3.0) == 6.0
        path.write_text("def f(x):\n    return x * x * x\n")  # longer: a new size
        quick = parse._quick_source(module.f)
        assert quick is not None
        assert definition(quick[2], module.f) == definition(by_inspect(module.f)[1], module.f)
        assert "Mult" in ast.dump(quick[2]) and ast.dump(quick[2]).count("Mult") == 2
    finally:
        sys.modules.pop("edited_module", None)


def test_a_function_without_a_file_is_still_refused():
    namespace = {}
    exec(textwrap.dedent("""
        def made(x):
            return x * x
    """), namespace)
    assert parse._quick_source(namespace["made"]) is None
    with pytest.raises(NoSourceError, match="cannot read the source of made"):
        srcdiff.grad(namespace["made"])


@pytest.mark.parametrize("name", ["decorated", "bracket_at_column_zero", "method_with_column_zero",
                                  "string_at_column_zero", "outer"])
def test_gradients_of_the_shapes(name):
    func = getattr(source_shapes, name, None) or getattr(source_shapes.Holder, name)
    if name == "method_with_column_zero":
        derivative = srcdiff.grad(func, wrt=1)(None, 1.5)
    else:
        derivative = srcdiff.grad(func)(1.5)
    expected = {"decorated": source_shapes.math.cos(1.5), "bracket_at_column_zero": 2.0,
                "method_with_column_zero": 3.0, "string_at_column_zero": float(len("\nnot code\n")),
                "outer": 3.0}[name]
    assert derivative == pytest.approx(expected, rel=1e-15)
