"""Stage 8, emit: an ``ir.Function`` to source text, with provenance comments.

Contract: returns the text of one ``def``, formatted by the standard library's
``ast.unparse`` statement by statement (not astor, which fails on current Python), with
a docstring naming what it computes and, on the first statement of each backward block,
a comment naming the primal statement it differentiates. Deterministic: the same
function always gives the same text.
"""

from __future__ import annotations

import ast

from .ir import Function, function_def, get_anno, quick_unparse

INDENT = "    "


def emit(function: Function, docstring: str | None = None) -> str:
    # the header alone: unparsing the whole function for its first line cost a third of emit
    header = ast.unparse(ast.fix_missing_locations(
        function_def(function.name, function.args, [ast.Pass()]))).splitlines()[0]
    lines = [header]
    if docstring:
        lines.append(f'{INDENT}"""{docstring}"""')
    _block(function.body, lines, INDENT)
    return "\n".join(lines) + "\n"


def _block(statements: list[ast.stmt], lines: list[str], indent: str) -> None:
    previous = None
    for statement in statements:
        if isinstance(statement, (ast.If, ast.For, ast.While)):
            _compound(statement, lines, indent)
            previous = None
            continue
        text = _unparse(statement)
        origin = get_anno(statement, "grad_of")
        if origin is not None and origin != previous:
            text += f"  # grad of: {origin}"
        previous = origin
        lines.extend(indent + line for line in text.splitlines())


def _unparse(statement: ast.stmt) -> str:
    """``ast.unparse`` of one statement, which reads its ``lineno`` (for type comments):
    a statement the passes built has none, and fixing every location first cost as much
    as the unparsing. The statements generated code is mostly made of are written by
    ``ir.quick_unparse``, as ``ast.unparse`` writes them."""
    text = quick_unparse(statement)
    if text is not None:
        return text
    if hasattr(statement, "lineno"):
        return ast.unparse(statement)
    statement.lineno = 0
    try:
        return ast.unparse(statement)
    finally:
        del statement.lineno


def _compound(statement: ast.If | ast.For | ast.While, lines: list[str], indent: str, keyword: str = "if") -> None:
    if isinstance(statement, ast.If):
        lines.append(f"{indent}{keyword} {ast.unparse(statement.test)}:")
    elif isinstance(statement, ast.For):
        target = statement.target
        names = (", ".join(ast.unparse(e) for e in target.elts)
                 if isinstance(target, ast.Tuple) else ast.unparse(target))
        lines.append(f"{indent}for {names} in {ast.unparse(statement.iter)}:")
    else:
        lines.append(f"{indent}while {ast.unparse(statement.test)}:")
    _block(statement.body or [ast.Pass()], lines, indent + INDENT)
    orelse = statement.orelse
    if len(orelse) == 1 and isinstance(orelse[0], ast.If) and isinstance(statement, ast.If):
        _compound(orelse[0], lines, indent, keyword="elif")
    elif orelse:
        lines.append(f"{indent}else:")
        _block(orelse, lines, indent + INDENT)
