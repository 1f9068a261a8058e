"""Shrinking: a failing program made small, keeping its class of failure.

Greedy and syntactic, over the module's AST: delete statements (helpers and module-level
data included), replace an ``if``/loop by its body, replace an expression by one of its
operands or by a constant, drop unused parameters' defaults... A candidate is kept when
the harness gives it the same verdict and the same failure class (``key``) as the
original; candidates that do not parse, raise in the primal or fail otherwise are
dropped. The point is never changed.
"""

from __future__ import annotations

import ast
import copy
import time
import warnings
from dataclasses import replace

from .case import Case
from .harness import Result, Run


def key(result: Result) -> str:
    """The class of a failure, without the details that change as the program shrinks
    (which optimisations are to blame)."""
    parts = result.category.split(":")
    if len(parts) > 3 and parts[0] == "wrong" and parts[2] == "optimizer":
        parts = parts[:3]
    return ":".join(parts)


def _bodies(tree):
    """Every statement list in the tree, as (owner, field)."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield node, name


def _statement_sites(tree):
    for owner, name in _bodies(tree):
        for index in range(len(getattr(owner, name))):
            yield owner, name, index


def _delete(tree, site):
    owner, name, index = site
    body = getattr(owner, name)
    statement = body[index]
    if isinstance(owner, ast.Module) and isinstance(statement, (ast.Import, ast.ImportFrom)):
        return False
    if isinstance(statement, ast.FunctionDef) and statement.name == "program":
        return False
    del body[index]
    if not body and name == "body" and not isinstance(owner, ast.Module):
        body.append(ast.Pass())
    return True


def _inline(tree, site):
    """``if``/``for``/``while``/``with``: replaced by its body (or its else branch)."""
    owner, name, index = site
    body = getattr(owner, name)
    statement = body[index]
    if isinstance(statement, ast.If):
        replacement = statement.body
    elif isinstance(statement, (ast.For, ast.While)):
        replacement = [s for s in statement.body if not isinstance(s, (ast.Break, ast.Continue))]
    else:
        return False
    body[index:index + 1] = replacement or [ast.Pass()]
    return True


def _inline_else(tree, site):
    owner, name, index = site
    body = getattr(owner, name)
    statement = body[index]
    if not isinstance(statement, (ast.If, ast.For, ast.While)) or not statement.orelse:
        return False
    if isinstance(statement, ast.If):
        body[index:index + 1] = statement.orelse
    else:
        statement.orelse = []
    return True


_SIMPLE = (ast.Name, ast.Constant)


def _expression_sites(tree):
    """Expressions that can be replaced: (parent, field, index or None)."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(parent, (ast.arguments, ast.keyword)) and field in ("defaults", "kw_defaults"):
                continue
            if isinstance(value, ast.expr) and not isinstance(value, _SIMPLE) \
                    and not isinstance(parent, (ast.Attribute,)) and field not in ("func", "ctx"):
                if isinstance(parent, (ast.Assign, ast.AugAssign, ast.For)) and field == "target":
                    continue
                yield parent, field, None, value
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.expr) and not isinstance(item, _SIMPLE) \
                            and field not in ("targets",):
                        yield parent, field, k, item


def _replacements(node: ast.expr):
    """Simpler expressions to put in ``node``'s place: its operands, then constants."""
    children = []
    if isinstance(node, ast.BinOp):
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        children = [node.operand]
    elif isinstance(node, ast.Call):
        children = list(node.args) + [k.value for k in node.keywords]
    elif isinstance(node, ast.IfExp):
        children = [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        children = list(node.values)
    elif isinstance(node, ast.Compare):
        children = []
    elif isinstance(node, ast.Subscript):
        children = [node.value]
    elif isinstance(node, (ast.List, ast.Tuple)):
        children = list(node.elts)[:1]
    for child in children:
        if not isinstance(child, ast.Starred):
            yield child
    if not isinstance(node, ast.Compare):
        yield ast.Constant(1.0)


def _set(parent, field, index, value):
    if index is None:
        setattr(parent, field, value)
    else:
        getattr(parent, field)[index] = value


class Shrinker:
    def __init__(self, case: Case, result: Result, seconds=60.0, attempts=400, passes=None):
        self.case = case
        self.target = (result.verdict, key(result))
        self.result = result
        self.deadline = time.monotonic() + seconds
        self.attempts = attempts
        self.tries = 0
        # the pipeline variants the failure needs (a failing variant), else none
        self.passes = passes if passes is not None else ("variant" in result.category)

    def out_of_budget(self):
        return self.tries >= self.attempts or time.monotonic() > self.deadline

    def check(self, source: str):
        self.tries += 1
        candidate = replace(self.case, source=source)
        run = Run(candidate, passes=self.passes, culprits=False)
        result = run.run()
        if (result.verdict, key(result)) == self.target:
            return candidate, result
        return None

    def shrink(self):
        tree = ast.parse(self.case.source)
        best_source, best_result = self.case.source, self.result
        progress = True
        while progress and not self.out_of_budget():
            progress = False
            for transform, sites in ((_delete, _statement_sites), (_inline, _statement_sites),
                                     (_inline_else, _statement_sites), (None, _expression_sites)):
                index = 0
                while not self.out_of_budget():
                    all_sites = list(sites(tree))
                    if index >= len(all_sites):
                        break
                    accepted = False
                    if transform is None:
                        count = len(list(_replacements(all_sites[index][3])))
                        for choice in range(count):
                            if self.out_of_budget():
                                break
                            trial = copy.deepcopy(tree)
                            parent, field, k, node = list(sites(trial))[index]
                            _set(parent, field, k, list(_replacements(node))[choice])
                            found = self._try(trial)
                            if found:
                                tree, best_source, best_result = found
                                accepted = progress = True
                                break
                    else:
                        trial = copy.deepcopy(tree)
                        if transform(trial, list(sites(trial))[index]):
                            found = self._try(trial)
                            if found:
                                tree, best_source, best_result = found
                                accepted = progress = True
                    if not accepted:
                        index += 1
        return replace(self.case, source=best_source), best_result

    def _try(self, trial):
        try:
            ast.fix_missing_locations(trial)
            source = ast.unparse(trial) + "\n"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "float is not subscriptable"...
                compile(source, "<shrink>", "exec")
        except (SyntaxError, ValueError, TypeError, RecursionError):
            return None
        found = self.check(source)
        if found is None:
            return None
        return ast.parse(source), source, found[1]


def shrink(case: Case, result: Result, seconds=60.0, attempts=400):
    """(smaller case, its result); the original when nothing smaller fails the same way."""
    if result.verdict not in ("wrong", "internal"):
        return case, result
    return Shrinker(case, result, seconds=seconds, attempts=attempts).shrink()
