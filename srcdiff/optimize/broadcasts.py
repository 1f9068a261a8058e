"""Optimisation pass (array code): adjoints that only stretch or sum are not materialised
where the statement reading them stretches or sums anyway.

**Stretched.** The rules of ``sum`` and ``mean`` give the adjoint of their input its shape:
``b_a = numpy.full_like(a, s)`` (all axes), ``b_a = numpy.broadcast_to(e, numpy.shape(a))``
(some). When every read of ``b_a`` is a product ``b_a * p`` (or ``p * b_a``) whose other
factor ``p`` provably has ``a``'s shape, the product is written ``s * p`` (or ``e * p``):

* ``e * p`` has ``p``'s shape, since ``e`` broadcasts to it, and the same elements and
  dtype as ``broadcast_to(e, shape(a)) * p`` (a view of ``e``);
* ``s * p`` the same elements and dtype as ``full_like(a, s) * p`` when ``s`` is a Python
  number (an expression of number constants and ``numpy.size``, which NumPy converts to
  ``p``'s dtype: it is weak) and ``p`` also has ``a``'s dtype: ``full_like`` rounds ``s`` to
  ``a``'s dtype, the product to ``p``'s, and these are one dtype (float32 stays float32).

A constant power of two in ``p`` (``2 * x``, the rule of ``x ** 2``) moves onto the
stretched factor, the smaller one (scaling by a power of two is exact, short of overflow
and subnormals). The shape of ``a`` is then read from the first variable known to have it
(``numpy.size(a)`` becomes ``numpy.size(x)`` for ``a = x ** 2``), so that ``a`` itself,
which the gradient computed only for its shape (the loss array of a mean), is left for
dead-code elimination.

**Summed.** ``unbroadcast(a * b, x)`` where the product is summed over leading axes (``x``
has a lower rank, or is ``v[None, ...]``) becomes ``unbroadcast_product(a, b, x)``, which
adds the products up with ``numpy.einsum`` without making their array (and is
``unbroadcast(a * b, x)`` wherever that would not pay or not be the same). In a function
without loops or branches, ``b_t = unbroadcast(g, t)`` read only by ``unbroadcast(b_t, y)``,
``y`` an operand of ``t``'s elementwise operation, is summed once: ``unbroadcast(g, y)``
(adjoints have their variable's shape there, so ``g`` spans ``t``'s, which spans ``y``'s;
the same numbers are added, in another order).

What is known of shapes and dtypes comes from the top-level statements that assign a
variable once: ``y = f(x, c)``, with ``f`` arithmetic or a NumPy ufunc of one float (a
derivative flows through it) array ``x`` and number constants ``c``, has ``x``'s shape and
dtype; so does ``f(x, z)`` when ``z`` has them. Nothing else is assumed: where a fact is
not proved, the code is left as it is.

>>> import ast
>>> from srcdiff.ir import Function, Namer, set_anno
>>> from srcdiff.kinds import array
>>> body = ast.parse('''
... power = sub ** 2
... b_power = numpy.full_like(power, 1.0 / numpy.size(power))
... b_sub = b_power * (2 * sub)
... return b_sub
... ''').body
>>> for statement in body[1:3]:
...     set_anno(statement, "grad_of", "...")
>>> function = Function("f", ast.parse("def f(sub): pass").body[0].args, body, None,
...                     Namer(), synthetic={"power", "b_power", "b_sub"},
...                     active=frozenset({"sub", "power"}))
>>> function.kinds.update(sub=array(1), power=array(1))
>>> print(fold_broadcasts(function).source())
def f(sub):
    power = sub ** 2
    b_sub = 2 * (1.0 / numpy.size(sub)) * sub
    return b_sub
"""

from __future__ import annotations

import ast
import copy
import math
from typing import Any, cast

from ..dataflow import COMPOUND
from ..ir import Function, copy_tree, get_anno, name_counts, walk_code

# NumPy ufuncs whose result has the shape and dtype of their float operands (all of one
# shape and dtype, or number constants), by name (NumPy is imported only for array code)
_SAME_DTYPE_NAMES = (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "cbrt", "square", "absolute", "fabs", "reciprocal", "negative", "positive", "power",
    "maximum", "minimum", "fmax", "fmin", "logaddexp", "logaddexp2", "hypot", "arctan2",
    "copysign", "deg2rad", "rad2deg", "add", "subtract", "multiply", "divide")
_same_dtype: list[frozenset[Any]] = []


def _same_dtype_ufuncs() -> frozenset[Any]:
    if not _same_dtype:
        import numpy
        _same_dtype.append(frozenset(getattr(numpy, name) for name in _SAME_DTYPE_NAMES))
    return _same_dtype[0]


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_CONSTANT = "<constant>"  # what ``_Shapes.like`` says of a number constant


class _Shapes:
    """Classes of variables of one shape and one dtype (union-find), from the
    top-level assignments of variables assigned once (``fixed``: those, and parameters
    nothing assigns); ``first`` gives each class the variable bound first."""

    def __init__(self, function: Function, fixed: set[str], order: dict[str, int]) -> None:
        self.function = function
        self.fixed = fixed
        self.order = order
        self.parent: dict[str, str] = {}
        self.floats: set[str] = set()  # roots of classes holding a differentiated variable
        self.definitions: dict[str, ast.expr] = {}  # fixed variable -> its value
        # variables assigned a number constant somewhere (adjoints initialised to 0.0)
        self.numbers: set[str] = set()

    def find(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def union(self, a: str, b: str) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if self.order[b] < self.order[a]:
            a, b = b, a
        self.parent[b] = a  # the root is the variable bound first
        if b in self.floats:
            self.floats.add(a)

    def learn(self, name: str, value: ast.expr) -> None:
        self.definitions[name] = value
        self.parent.setdefault(name, name)
        if name in self.function.active:
            self.floats.add(self.find(name))
        found = self.like(value)
        if found is not None and found != _CONSTANT:
            self.union(name, found)

    def like(self, node: ast.expr) -> str | None:
        """The root of the class whose shape and dtype ``node`` has; ``_CONSTANT`` for
        a number constant; None when not known."""
        if isinstance(node, ast.Constant):
            return _CONSTANT if type(node.value) in (int, float) else None
        if isinstance(node, ast.Name):
            kind = self.function.kinds.get(node.id)
            if node.id not in self.fixed or kind is None or not kind.is_array:
                return None
            self.parent.setdefault(node.id, node.id)
            if node.id in self.function.active:
                self.floats.add(self.find(node.id))
            return self.find(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.like(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            return self._joined([node.left, node.right])
        if isinstance(node, ast.Call) and not node.keywords and (
                _ufunc(node) in _same_dtype_ufuncs() or self.logistic(node)):
            return self._joined(node.args)
        return None

    def logistic(self, call: ast.Call) -> bool:
        """A call of ``runtime.expit`` (through the name the code calls it by): of one
        float array, an array of its shape and dtype."""
        func = call.func
        parsed = self.function.parsed
        return isinstance(func, ast.Name) and len(call.args) == 1 and parsed is not None \
            and parsed.origins.get(func.id) == ("helper", "expit")

    def _joined(self, operands: list[ast.expr]) -> str | None:
        found = {self.like(o) for o in operands}
        if None in found:
            return None
        found.discard(_CONSTANT)
        if not found:
            return _CONSTANT
        if len(found) > 1:
            return None
        root = cast(str, found.pop())
        # of a float array: an integer array divided, or passed to exp, is float64
        return root if self.find(root) in self.floats else None

    def same(self, node: ast.expr, name: str) -> bool:
        """Whether ``node`` has the shape and dtype of the variable ``name``, a float."""
        found = self.like(node)
        return found not in (None, _CONSTANT) and name in self.fixed and \
            self.find(name) == found and found in self.floats


def _ufunc(call: ast.Call) -> Any:
    """The NumPy function a call calls: the callee the parser resolved (the program's
    own statements), or ``numpy.<name>`` (the code srcdiff writes)."""
    callee = get_anno(call, "callee")
    if callee is not None:
        return callee
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
            func.value.id == "numpy":
        import numpy
        return getattr(numpy, func.attr, None)
    return None


def _numpy_call(node: ast.expr, name: str, arity: int) -> list[ast.expr] | None:
    """The arguments of ``numpy.<name>(...)`` with ``arity`` positional arguments."""
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == arity and \
            isinstance(node.func, ast.Attribute) and node.func.attr == name and \
            isinstance(node.func.value, ast.Name) and node.func.value.id == "numpy" and \
            get_anno(node, "callee") is None:
        return node.args
    return None


def _weak_number(node: ast.expr) -> bool:
    """A Python number whatever the arrays: number constants, ``numpy.size`` of a
    variable, and arithmetic of those (NumPy converts such a number to the array's
    dtype, where a NumPy float64 would promote a float32 array)."""
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _weak_number(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _weak_number(node.left) and _weak_number(node.right)
    arguments = _numpy_call(node, "size", 1)
    return arguments is not None and isinstance(arguments[0], ast.Name)


def _cheap(node: ast.expr) -> bool:
    """Worth computing again at each of several reads: a name, a number, a view."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if _weak_number(node):
        return True
    arguments = _numpy_call(node, "expand_dims", 2)
    return arguments is not None and isinstance(arguments[0], ast.Name)


def _power_of_two(node: ast.expr) -> bool:
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
        return False
    value = abs(float(cast(float, node.value)))
    return value != 0 and math.isfinite(value) and math.frexp(value)[0] == 0.5


def fold_broadcasts(function: Function) -> Function:
    if not any(k.is_array for k in function.kinds.values()):
        return function
    body = function.body
    stores, loads = name_counts(body)
    args = function.args
    parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    order = {p: -1 for p in parameters if p not in stores}
    fixed = set(order)
    for position, statement in enumerate(body):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and \
                stores.get(statement.targets[0].id) == 1:
            order[statement.targets[0].id] = position
            fixed.add(statement.targets[0].id)
    shapes = _Shapes(function, fixed, order)
    for statement in body:  # (top-level: _sum_again works on functions without compounds)
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and \
                isinstance(statement.value, ast.Constant):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            shapes.numbers.update(n.id for t in targets for n in ast.walk(t)
                                  if isinstance(n, ast.Name))
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and statement.targets[0].id in fixed:
            shapes.learn(statement.targets[0].id, statement.value)

    new = list(body)
    changed = False
    for position, statement in enumerate(body):
        folded = _fold(statement, position, new, shapes, loads)
        if folded:
            changed = True
    helpers = _Helpers(function)
    # (a function with no loop or branch has no adjoint initialised to a plain zero)
    if helpers.unbroadcast is not None and not any(isinstance(s, COMPOUND) for s in body):
        for position, statement in enumerate(body):
            if new[position] is statement and _sum_again(statement, position, new, helpers,
                                                         stores, loads, shapes):
                changed = True
        products = _Products(helpers, shapes)
        new = [products.block(s) if s is not None else None for s in new]
        changed = changed or products.changed
    # shapes read from the first variable that has them
    for position, statement in enumerate(new):
        if statement is None or isinstance(statement, COMPOUND) or not get_anno(statement, "grad_of"):
            continue
        shape = _Shape(shapes, position)
        if any(isinstance(n, ast.Call) and shape.first(n) is not None for n in walk_code(statement)):
            new[position] = shape.visit(copy_tree(statement))
            changed = True
    if not changed:
        return function
    return function.replace(body=[s for s in new if s is not None])


def _fold(statement: ast.stmt, position: int, new: list[Any], shapes: _Shapes,
          loads: dict[str, int]) -> bool:
    """``b = numpy.full_like(a, s)`` or ``b = numpy.broadcast_to(e, numpy.shape(a))``,
    every read of ``b`` a product with a factor of ``a``'s shape (and dtype): the reads
    multiply by ``s`` or ``e`` instead, and the statement goes."""
    if not (isinstance(statement, ast.Assign) and get_anno(statement, "grad_of") and
            len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
        return False
    target = statement.targets[0].id
    if target not in shapes.fixed or not loads.get(target):
        return False
    value = statement.value
    full = _numpy_call(value, "full_like", 2)
    stretched = _numpy_call(value, "broadcast_to", 2)
    if full is not None and isinstance(full[0], ast.Name) and _weak_number(full[1]):
        like, factor = full[0].id, full[1]
    elif stretched is not None and (shape := _numpy_call(stretched[1], "shape", 1)) is not None \
            and isinstance(shape[0], ast.Name):
        like, factor = shape[0].id, stretched[0]
    else:
        return False
    if loads[target] > 1 and not _cheap(factor):
        return False
    factor_names = {n.id for n in walk_code(factor) if isinstance(n, ast.Name)}
    readers: list[tuple[int, ast.stmt]] = []
    found = 0
    for later in range(position + 1, len(new)):
        other = new[later]
        if other is None:
            continue
        reads = sum(1 for n in walk_code(other) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load) and n.id == target)
        if reads:
            if isinstance(other, COMPOUND):
                return False
            readers.append((later, other))
            found += reads
        if found == loads[target]:
            break
        # what the factor reads must hold the same values at the readers
        if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in factor_names
               for n in walk_code(other)):
            return False
    if found != loads[target]:
        return False
    replaced = []
    for later, reader in readers:
        rewriter = _Product(target, like, factor, shapes)
        rewritten = rewriter.visit(copy_tree(reader))
        if rewriter.failed or rewriter.count == 0:
            return False
        replaced.append((later, rewritten))
    for later, rewritten in replaced:
        new[later] = rewritten
    new[position] = None
    return True


class _Product(ast.NodeTransformer):
    """Rewrites ``target * p`` and ``p * target`` (``p`` of ``like``'s shape and dtype)
    to ``factor * p``; any other read of ``target`` sets ``failed``."""

    def __init__(self, target: str, like: str, factor: ast.expr, shapes: _Shapes) -> None:
        self.target, self.like, self.factor, self.shapes = target, like, factor, shapes
        self.failed = False
        self.count = 0

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if isinstance(node.op, ast.Mult):
            for mine, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(mine, ast.Name) and mine.id == self.target and \
                        not (isinstance(other, ast.Name) and other.id == self.target):
                    other = self.visit(other)
                    if not self.shapes.same(other, self.like):
                        self.failed = True
                        return node
                    self.count += 1
                    return self.product(other)
        self.generic_visit(node)
        return node

    def product(self, other: ast.expr) -> ast.expr:
        """``factor * other``, written as it reads (no other algebra: ``e * (1 / n)`` is
        not ``e / n`` to the last bit)."""
        factor = copy_tree(self.factor)
        # a power of two moves onto the stretched factor (exact): 2 * x -> (2 * e) * x
        while isinstance(other, ast.BinOp) and isinstance(other.op, ast.Mult):
            if _power_of_two(other.left) and self.shapes.same(other.right, self.like):
                two, other = other.left, other.right
            elif _power_of_two(other.right) and self.shapes.same(other.left, self.like):
                two, other = other.right, other.left
            else:
                break
            if isinstance(factor, ast.Constant):
                factor = ast.Constant(float(cast(float, factor.value)) *
                                      float(cast(float, cast(ast.Constant, two).value)))  # exact
            else:
                factor = ast.BinOp(copy_tree(two), ast.Mult(), factor)
        if isinstance(factor, ast.Constant) and factor.value == 1 and \
                not isinstance(other, ast.Name):
            return other  # 1.0 * p is p (a new array: nothing else holds it)
        return ast.BinOp(factor, ast.Mult(), other)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.target:
            self.failed = True
        return node


class _Shape(ast.NodeTransformer):
    """``numpy.size(a)`` and ``numpy.shape(a)`` read the variable of ``a``'s class bound
    first, when it is bound before ``position``."""

    def __init__(self, shapes: _Shapes, position: int) -> None:
        self.shapes, self.position = shapes, position

    def first(self, node: ast.Call) -> str | None:
        """The variable ``numpy.size(a)`` or ``numpy.shape(a)`` is to read instead of
        ``a`` (None: none)."""
        for name in ("size", "shape"):
            arguments = _numpy_call(node, name, 1)
            if arguments is not None and isinstance(arguments[0], ast.Name):
                variable = arguments[0].id
                if variable in self.shapes.fixed and variable in self.shapes.parent:
                    first = self.shapes.find(variable)
                    if first != variable and self.shapes.order[first] < self.position:
                        return first
        return None

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        first = self.first(node)
        if first is not None:
            node.args = [ast.Name(first, ast.Load())]
        return node


class _Helpers:
    """The names generated code calls ``unbroadcast`` and ``unbroadcast_product`` by
    (``array_rules.helper_name``); the second is made when first needed."""

    def __init__(self, function: Function) -> None:
        self.function = function
        origins = function.parsed.origins if function.parsed is not None else {}
        names = {origin[1]: name for name, origin in origins.items()
                 if len(origin) == 2 and origin[0] == "helper"}
        self.unbroadcast: str | None = names.get("unbroadcast")
        self._product: str | None = names.get("unbroadcast_product")

    @property
    def product(self) -> str:
        if self._product is None:
            from ..array_rules import helper_name
            self._product = helper_name(self.function, "unbroadcast_product")
        return self._product

    def summed(self, node: ast.expr) -> list[ast.expr] | None:
        """The arguments of ``unbroadcast(g, x)`` or ``unbroadcast_product(a, b, x)``."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                not node.keywords and isinstance(node.args[-1], ast.Name) and (
                    (node.func.id == self.unbroadcast and len(node.args) == 2) or
                    (node.func.id == self._product and len(node.args) == 3)):
            return node.args
        return None


class _Products:
    """``unbroadcast(a * b, x)`` -> ``unbroadcast_product(a, b, x)`` in the backward
    sweep, where the product is summed over leading axes (``x`` has a lower rank than the
    product, or is ``v[None, ...]``): the same value, the helper making the product
    itself unless ``numpy.einsum`` can add it up row by row without making it."""

    def __init__(self, helpers: _Helpers, shapes: _Shapes) -> None:
        self.helpers = helpers
        self.shapes = shapes
        function = shapes.function
        self.variable_of = {b: v for v, b in function.namer.adjoints.items()}
        self.changed = False

    def _rank(self, name: str) -> int | None:
        kind = self.shapes.function.kinds.get(self.variable_of.get(name, name))
        if kind is None:
            return None
        return kind.ndim if kind.is_array else 0

    def _leading(self, operands: list[ast.expr], like: str) -> bool:
        """Whether summing to ``like``'s shape sums leading axes (as far as known)."""
        definition = self.shapes.definitions.get(like)
        if isinstance(definition, ast.Subscript):
            index = definition.slice
            first = index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index
            if isinstance(first, ast.Constant) and first.value is None:
                return True  # v[None, ...]: its first axis has length 1
        ranks = [self._rank(n.id) for o in operands for n in walk_code(o)
                 if isinstance(n, ast.Name)]
        mine = self._rank(like)
        return bool(ranks) and None not in ranks and mine is not None and \
            max(cast("list[int]", ranks)) > mine

    def block(self, statement: ast.stmt) -> ast.stmt:
        if isinstance(statement, COMPOUND):
            body = [self.block(s) for s in statement.body]
            orelse = [self.block(s) for s in statement.orelse]
            if any(a is not b for a, b in zip(body + orelse, statement.body + statement.orelse)):
                statement = copy.copy(statement)
                statement.body, statement.orelse = body, orelse
            return statement
        if not get_anno(statement, "grad_of") or not any(
                isinstance(n, ast.Call) and self._product_sum(n) for n in walk_code(statement)):
            return statement
        self.changed = True
        return cast(ast.stmt, _Rewrite(self._product_sum).visit(copy_tree(statement)))

    def _product_sum(self, node: ast.Call) -> ast.expr | None:
        arguments = self.helpers.summed(node)
        if arguments is None or len(arguments) != 2:
            return None
        product = arguments[0]
        if not (isinstance(product, ast.BinOp) and isinstance(product.op, ast.Mult)) or \
                not self._leading([product.left, product.right], cast(ast.Name, arguments[1]).id):
            return None
        return ast.Call(ast.Name(self.helpers.product, ast.Load()),
                        [product.left, product.right, arguments[1]], [])


class _Rewrite(ast.NodeTransformer):
    def __init__(self, rewrite: Any) -> None:
        self.rewrite = rewrite

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return self.rewrite(node) or node


def _sum_again(statement: ast.stmt, position: int, new: list[Any], helpers: _Helpers,
               stores: dict[str, int], loads: dict[str, int], shapes: _Shapes) -> bool:
    """``b_t = unbroadcast(g, t)`` read once, by ``unbroadcast(b_t, y)`` where ``y`` is an
    operand of ``t``'s elementwise operation (``t = y - z``): the reader sums ``g`` to
    ``y``'s shape at once, ``unbroadcast(g, y)``, and ``b_t`` is not computed. An adjoint
    has its variable's shape (``srcdiff.adjoints``), so ``g`` spans ``t``'s, which spans
    ``y``'s: summing in two steps or one adds the same numbers (in another order). Only in
    functions without loops or branches, where no adjoint is initialised to the plain
    zero that has no shape (nor is ``g`` to read a name assigned a number anywhere), and
    ``g`` must read no name assigned between."""
    if not (isinstance(statement, ast.Assign) and get_anno(statement, "grad_of") and
            len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
        return False
    adjoint = statement.targets[0].id
    arguments = helpers.summed(statement.value)
    if arguments is None or stores.get(adjoint) != 1 or loads.get(adjoint) != 1:
        return False
    variable = cast(ast.Name, arguments[-1]).id
    definition = shapes.definitions.get(variable)
    if definition is None or not _elementwise(definition):
        return False
    operands = {n.id for n in _operands(definition) if isinstance(n, ast.Name)}
    names = {n.id for a in arguments[:-1] for n in walk_code(a) if isinstance(n, ast.Name)}
    if names & shapes.numbers:
        return False
    for later in range(position + 1, len(new)):
        reader = new[later]
        if reader is None:
            continue
        if any(isinstance(n, ast.Name) and n.id == adjoint for n in walk_code(reader)):
            if isinstance(reader, COMPOUND) or not get_anno(reader, "grad_of"):
                return False
            found: list[bool] = []

            def again(node: ast.Call) -> ast.expr | None:
                inner = helpers.summed(node)
                if inner is None or len(inner) != 2 or not (
                        isinstance(inner[0], ast.Name) and inner[0].id == adjoint) or \
                        cast(ast.Name, inner[1]).id not in operands:
                    return None
                found.append(True)
                call = cast(ast.Call, statement.value)
                return ast.Call(copy_tree(call.func),
                                [copy_tree(a) for a in arguments[:-1]] + [inner[1]], [])

            rewritten = _Rewrite(again).visit(copy_tree(reader))
            if not found:
                return False
            new[later] = rewritten
            new[position] = None
            return True
        if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in names
               for n in walk_code(reader)):
            return False
    return False


def _elementwise(value: ast.expr) -> bool:
    """A broadcasting operation: arithmetic, or a NumPy ufunc."""
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, _ARITHMETIC)
    if isinstance(value, ast.Call) and not value.keywords:
        import numpy
        return isinstance(_ufunc(value), numpy.ufunc)
    return False


def _operands(value: ast.expr) -> list[ast.expr]:
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    return list(cast(ast.Call, value).args)
