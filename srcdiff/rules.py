"""The derivative rules: one table, one entry per primitive, one line each.

An entry pairs a Python callable with two lambdas in the rule language (``srcdiff.expr``):

* ``primal`` — the primitive itself, written so SymPy can evaluate it;
* ``partials`` — its partial derivative with respect to each parameter (a tuple when
  there are several). A partial may take the primitive's result as a last parameter
  named ``out`` (``exp``'s derivative is ``out``), which saves recomputing it.

``srcdiff.verify`` proves every ``partials`` against ``sympy.diff(primal)`` and checks
``primal`` against the Python callable numerically; the reverse pass emits the very same
``partials`` as code. There is no second copy of a rule that could drift.

Primitives whose result is piecewise constant (``floor``, ``round``, ``//``,
comparisons...) sit in ``NONDIFFERENTIABLE``: their results carry no derivative.

>>> RULES.lookup(math.sin, 1).name
'math.sin'
>>> from srcdiff.expr import Code, render
>>> y, x = Code.name("y"), Code.name("x")
>>> [render(p) for p in RULES.lookup(math.atan2, 2).partials_at((y, x), None)]
['x / (x * x + y * y)', '-(y / (x * x + y * y))']
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, cast

from .expr import (acos, acosh, asin, asinh, atan, atan2, atanh, copysign, cos, cosh, cbrt, equal,
                   erf, erfc, exp, log, nearest, pi, select, sign, sin, sinh, sqrt, tan, tanh)

if TYPE_CHECKING:
    from .array_rules import ArrayRule


@dataclass(frozen=True)
class Domain:
    """Where a parameter is sampled for numeric checks, and what SymPy may assume."""

    low: float
    high: float
    positive: bool = False
    nonzero: bool = False  # sample |x| in [low, high] with either sign

    def assumptions(self) -> dict[str, bool]:
        result = {"real": True}
        if self.positive:
            result["positive"] = True
        if self.nonzero:
            result["nonzero"] = True
        return result


REAL = Domain(-3.0, 3.0)
POSITIVE = Domain(0.1, 4.0, positive=True)
NONZERO = Domain(0.2, 3.0, nonzero=True)
UNIT = Domain(-0.95, 0.95)             # open interval (-1, 1): asin, atanh
ABOVE_ONE = Domain(1.1, 4.0, positive=True)
ABOVE_MINUS_ONE = Domain(-0.9, 3.0)    # log1p


@dataclass(frozen=True)
class Rule:
    """The derivative rule of one primitive at one arity."""

    func: Callable[..., Any] | None  # None: the recursive call's rule (analyse.RECURSIVE)
    name: str
    primal: Callable[..., Any] | None  # None: no SymPy counterpart, checked numerically only
    partials: Callable[..., Any]
    domain: tuple[Domain, ...]
    builtin: bool = True  # False for rules users registered
    # set by __post_init__; declared for mypy only (at run time they are not fields: not
    # in the repr, the comparison or dataclasses.fields)
    if TYPE_CHECKING:
        uses_out: bool = field(init=False)  # the partials' last parameter is the result, out
        params: tuple[str, ...] = field(init=False)  # the partials' other parameters

    def __post_init__(self) -> None:
        # the partials' signature, read once (generation asks for it at every primitive)
        names = tuple(inspect.signature(self.partials).parameters)
        object.__setattr__(self, "uses_out", bool(names) and names[-1] == "out")
        object.__setattr__(self, "params", names[:-1] if self.uses_out else names)

    @property
    def arity(self) -> int:
        return len(self.params)

    def partials_at(self, args: tuple[Any, ...], out: Any) -> tuple[Any, ...]:
        """The partials evaluated at ``args`` (numbers, SymPy symbols or ``Code``)."""
        result = self.partials(*args, out) if self.uses_out else self.partials(*args)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self.arity:
            raise ValueError(f"rule for {self.name} gives {len(result)} partials "
                             f"for {self.arity} parameters")
        return cast("tuple[Any, ...]", result)

    def zero_partials(self) -> frozenset[int]:
        """The positions of the parameters whose partial is identically zero (written
        as ``0``: ``copysign``'s sign argument, ``where``'s condition)."""
        if "_zero" not in self.__dict__:
            from .expr import Code
            try:
                values = self.partials_at(tuple(Code.name(p) for p in self.params),
                                          Code.name("out"))
            except Exception:  # a rule the code generator reports on when it is used
                values = ()
            zero = frozenset(i for i, v in enumerate(values)
                             if isinstance(v, (int, float)) and v == 0)
            object.__setattr__(self, "_zero", zero)
        return cast("frozenset[int]", self.__dict__["_zero"])

    def formula(self) -> str:
        """The partials as readable text, e.g. ``d/dx = math.cos(x)``."""
        from .expr import Code, render
        args = tuple(Code.name(p) for p in self.params)
        values = self.partials_at(args, Code.name("out"))
        return ", ".join(f"d/d{p} = {render(v)}" for p, v in zip(self.params, values))


@dataclass
class RuleTable:
    """Rules keyed by ``(callable, arity)``; non-differentiable callables in a set."""

    rules: dict[tuple[Any, int], Rule | ArrayRule] = field(default_factory=dict)
    nondifferentiable: set[Any] = field(default_factory=set)
    variadic: dict[Any, ArrayRule] = field(default_factory=dict)  # callable -> rule taking any count
    # callable -> a family of scalar rules, one per number of arguments (``family``);
    # those made on demand, by (callable, arity), outside ``rules`` (not listed)
    families: dict[Any, Family] = field(default_factory=dict)
    made: dict[tuple[Any, int], Rule] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)  # extensions loaded: "numpy", "scipy"
    # bumped whenever a user's rule is added or any rule removed: gradients generated
    # before then generate again (``dependencies``), so they use the rules as they are now
    user_version: int = 0

    def load_extensions(self, everything: bool = False) -> None:
        """Load the NumPy (and SciPy) rules once the program has imported NumPy (SciPy);
        with ``everything``, import them if they are installed (``verify`` does)."""
        import sys
        if "numpy" not in self.loaded and (everything or "numpy" in sys.modules):
            try:
                from . import array_rules  # noqa: F401  (registers its rules)
            except ImportError:
                return
            self.loaded.add("numpy")
        if "numpy" in self.loaded and "scipy" not in self.loaded and (
                everything or "scipy.special" in sys.modules):
            from .array_rules import load_scipy
            if load_scipy():
                self.loaded.add("scipy")

    def add(self, func: Callable[..., Any], primal: Callable[..., Any] | None,
            partials: Callable[..., Any], domain: Iterable[Domain] | None = None, *,
            name: str | None = None, builtin: bool = True) -> Rule:
        rule = Rule(func, name or qualified_name(func), primal, partials, (), builtin)
        arity = rule.arity
        if primal is not None and len(inspect.signature(primal).parameters) != arity:
            raise ValueError(f"primal and partials of {rule.name} take different parameters")
        domain = tuple(domain) if domain is not None else (REAL,) * arity
        if len(domain) != arity:
            raise ValueError(f"{len(domain)} domains for {arity} parameters")
        rule = Rule(func, rule.name, primal, partials, domain, builtin)
        self.rules[(func, arity)] = rule
        if not builtin:
            self.user_version += 1
        return rule

    def family(self, func: Callable[..., Any], primal: Callable[[tuple[Any, ...]], Any],
               partials: Callable[[tuple[Any, ...], Any], tuple[Any, ...]], domain: Domain,
               least: int, shown: tuple[int, ...], name: str | None = None) -> None:
        """Rules of ``func`` at every number of arguments from ``least`` (``math.hypot(*xs)``):
        ``primal(xs)`` and ``partials(xs, out)`` take the arguments as a tuple. The rule of
        each arity is made when a call asks for it (``lookup``); those of the arities in
        ``shown`` are in the table, listed and verified like any other."""
        family = Family(func, name or qualified_name(func), primal, partials, domain, least)
        self.families[func] = family
        for arity in shown:
            self.rules[(func, arity)] = family.rule(arity)

    def alias(self, func: Callable[..., Any], same_as: Callable[..., Any], arity: int,
              name: str | None = None) -> None:
        """``func`` is the same primitive as ``same_as`` (``pow`` is ``**``)."""
        rule = cast(Rule, self.rules[(same_as, arity)])  # aliases are of scalar rules
        self.rules[(func, arity)] = Rule(func, name or qualified_name(func), rule.primal,
                                         rule.partials, rule.domain, rule.builtin)

    def arrays(self) -> Any:
        """``srcdiff.array_rules`` if the program has imported NumPy, else None (scalar
        code never imports NumPy)."""
        import sys
        if "numpy" not in self.loaded and "numpy" in sys.modules:
            self.load_extensions()
        return sys.modules.get(__package__ + ".array_rules") if "numpy" in self.loaded else None

    def lookup(self, func: object, arity: int) -> Rule | ArrayRule | None:
        try:
            rule = self.rules.get((func, arity))
            if rule is None and len(self.loaded) < 2:
                self.load_extensions()
                rule = self.rules.get((func, arity))
            if rule is None and func in self.families and arity >= self.families[func].least:
                rule = self.made.get((func, arity))
                if rule is None:
                    rule = self.made[(func, arity)] = self.families[func].rule(arity)
            return rule if rule is not None else self.variadic.get(func)
        except TypeError:  # unhashable callable
            return None

    def positional_keywords(self, func: object, call: ast.Call) -> list[str]:
        """The keywords of ``call`` that give the rest of the arguments ``func``'s array
        rule requires, after its positional ones (``numpy.interp(x, xp=xp, fp=fp)``: xp
        and fp), in the rule's order: ``normalize`` passes them by position, and the rule
        for that many arguments applies. Each must name the function's own parameter at
        that position (its signature, read by ``inspect``). Empty where there is no such
        rule, or the keywords do not give all the required arguments."""
        if not call.keywords or any(k.arg is None for k in call.keywords):
            return []
        given = {k.arg for k in call.keywords}
        count = len(call.args)
        for arity in range(count, count + len(given) + 1):
            rule = self.lookup(func, arity)
            params = getattr(rule, "params", None)
            if params is not None:
                break
        else:
            return []
        needed = getattr(rule, "required", 0) - count  # only those: options stay keywords
        if needed <= 0:
            return []
        try:  # the function's own parameters, by position: the rule's must be the same
            actual = [p for p in inspect.signature(func).parameters.values()  # type: ignore[arg-type]
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):  # no signature (a ufunc): operands by position only
            return []
        names = list(params[count:count + needed])
        if len(names) < needed or len(actual) < count + needed or any(
                name not in given or parameter.name != name
                or parameter.kind is not parameter.POSITIONAL_OR_KEYWORD
                for name, parameter in zip(names, actual[count:])):
            return []  # the rule's required arguments are not all given so
        return names

    def remove(self, func: object, arity: int) -> None:
        self.rules.pop((func, arity), None)
        self.user_version += 1

    def is_nondifferentiable(self, func: object) -> bool:
        try:
            if hasattr(func, "__srcdiff_returns__"):  # srcdiff.nondifferentiable
                return True
        except Exception:  # an object whose attributes raise: not marked
            pass
        try:
            if func not in self.nondifferentiable and len(self.loaded) < 2:
                self.load_extensions()
            return func in self.nondifferentiable
        except TypeError:
            return False

    def knows(self, func: object) -> bool:
        return self.is_nondifferentiable(func) or func in self.families or any(
            key[0] is func for key in self.rules) or func in self.variadic

    def __iter__(self) -> Iterator[Rule]:
        """The rules written as partial derivatives (verified by SymPy), each once."""
        return iter([r for r in self.rules.values() if isinstance(r, Rule)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def array_rules(self) -> list[ArrayRule]:
        """The vector-Jacobian rules of NumPy functions (``srcdiff.array_rules``), each once."""
        found = {id(r): r for r in list(self.rules.values()) + list(self.variadic.values())
                 if not isinstance(r, Rule)}
        return list(found.values())


@dataclass(frozen=True)
class Family:
    """Rules of one primitive at any number of arguments (``RuleTable.family``)."""

    func: Callable[..., Any]
    name: str
    primal: Callable[[tuple[Any, ...]], Any]
    partials: Callable[[tuple[Any, ...], Any], tuple[Any, ...]]
    domain: Domain
    least: int  # the fewest arguments it takes

    def rule(self, arity: int) -> Rule:
        """The rule at ``arity``: its primal and partials take parameters ``x1 ... xn``
        (and ``out``), declared by an explicit ``__signature__``."""
        from inspect import Parameter, Signature
        names = [Parameter(f"x{i}", Parameter.POSITIONAL_ONLY) for i in range(1, arity + 1)]
        family = self

        def primal(*xs: Any) -> Any:
            return family.primal(xs)

        def partials(*args: Any) -> tuple[Any, ...]:
            return family.partials(args[:-1], args[-1])
        setattr(primal, "__signature__", Signature(names))
        setattr(partials, "__signature__",
                Signature(names + [Parameter("out", Parameter.POSITIONAL_ONLY)]))
        return Rule(self.func, self.name, primal, partials, (self.domain,) * arity)


def qualified_name(func: object) -> str:
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
    if module in (None, "builtins"):
        return name
    if module == "_operator":
        module = "operator"
    return f"{module}.{name}"


# The operators srcdiff lowers ``ast`` operators to.
BINARY_OPERATORS = {
    "Add": operator.add, "Sub": operator.sub, "Mult": operator.mul,
    "Div": operator.truediv, "Pow": operator.pow, "FloorDiv": operator.floordiv,
    "Mod": operator.mod, "MatMult": operator.matmul,
}
UNARY_OPERATORS = {"USub": operator.neg, "UAdd": operator.pos, "Not": operator.not_}

def fsum_of(*xs: Any) -> float:
    """``math.fsum`` of its arguments: the primitive ``math.fsum([a, b, c])`` becomes
    when srcdiff knows the elements (its rule: a family, one per count)."""
    return math.fsum(xs)


def _total(terms: list[Any]) -> Any:
    """``terms`` added left to right (numbers, SymPy expressions or code)."""
    result = terms[0]
    for term in terms[1:]:
        result = result + term
    return result


RULES = RuleTable()
_ = RULES.add

# --- operators -------------------------------------------------------------
_(operator.add, lambda a, b: a + b, lambda a, b: (1, 1), name="a + b")
_(operator.sub, lambda a, b: a - b, lambda a, b: (1, -1), name="a - b")
_(operator.mul, lambda a, b: a * b, lambda a, b: (b, a), name="a * b")
_(operator.truediv, lambda a, b: a / b, lambda a, b, out: (1 / b, -out / b), (REAL, NONZERO), name="a / b")
# x ** 0 is 1 everywhere (its slope 0, even at x = 0), and 0 ** b is 0 for b > 0.
_(operator.pow, lambda a, b: a ** b, lambda a, b, out: (select(equal(b, 0), 0, b * a ** (b - 1)), select(equal(a, 0), 0, out * log(a))), (POSITIVE, REAL), name="a ** b")
# a % b == a - b * floor(a / b): slope 1 in a, -floor(a / b) in b, between the jumps.
_(operator.mod, lambda a, b: a % b, lambda a, b: (1, -(a // b)), (REAL, POSITIVE), name="a % b")
_(operator.neg, lambda a: -a, lambda a: -1, name="-a")
_(operator.pos, lambda a: +a, lambda a: 1, name="+a")

# --- builtins --------------------------------------------------------------
_(abs, lambda x: abs(x), lambda x: sign(x), (NONZERO,))
# Ties go to the argument Python returns: min(a, b) is a when a <= b.
_(min, lambda a, b: select(a <= b, a, b), lambda a, b: (select(a <= b, 1, 0), select(a <= b, 0, 1)))
_(max, lambda a, b: select(a >= b, a, b), lambda a, b: (select(a >= b, 1, 0), select(a >= b, 0, 1)))
_(float, lambda x: x, lambda x: 1)
RULES.alias(builtins.pow, operator.pow, 2, name="pow")

# --- math: trigonometric ---------------------------------------------------
_(math.sin, lambda x: sin(x), lambda x: cos(x))
_(math.cos, lambda x: cos(x), lambda x: -sin(x))
_(math.tan, lambda x: tan(x), lambda x, out: 1 + out ** 2, (UNIT,))
_(math.asin, lambda x: asin(x), lambda x: 1 / sqrt(1 - x ** 2), (UNIT,))
_(math.acos, lambda x: acos(x), lambda x: -1 / sqrt(1 - x ** 2), (UNIT,))
_(math.atan, lambda x: atan(x), lambda x: 1 / (1 + x ** 2))
_(math.atan2, lambda y, x: atan2(y, x), lambda y, x: (x / (x ** 2 + y ** 2), -y / (x ** 2 + y ** 2)), (NONZERO, NONZERO))
_(math.degrees, lambda x: x * 180 / pi, lambda x: 180 / pi)
_(math.radians, lambda x: x * pi / 180, lambda x: pi / 180)

# --- math: hyperbolic ------------------------------------------------------
_(math.sinh, lambda x: sinh(x), lambda x: cosh(x))
_(math.cosh, lambda x: cosh(x), lambda x: sinh(x))
_(math.tanh, lambda x: tanh(x), lambda x, out: 1 - out ** 2)
_(math.asinh, lambda x: asinh(x), lambda x: 1 / sqrt(x ** 2 + 1))
_(math.acosh, lambda x: acosh(x), lambda x: 1 / sqrt(x ** 2 - 1), (ABOVE_ONE,))
_(math.atanh, lambda x: atanh(x), lambda x: 1 / (1 - x ** 2), (UNIT,))

# --- math: exponentials, logarithms, roots ---------------------------------
_(math.exp, lambda x: exp(x), lambda x, out: out)
_(math.exp2, lambda x: 2 ** x, lambda x, out: out * log(2))
_(math.expm1, lambda x: exp(x) - 1, lambda x, out: out + 1)
_(math.log, lambda x: log(x), lambda x: 1 / x, (POSITIVE,))
_(math.log, lambda x, base: log(x) / log(base), lambda x, base: (1 / (x * log(base)), -log(x) / (base * log(base) ** 2)), (POSITIVE, ABOVE_ONE))
_(math.log2, lambda x: log(x) / log(2), lambda x: 1 / (x * log(2)), (POSITIVE,))
_(math.log10, lambda x: log(x) / log(10), lambda x: 1 / (x * log(10)), (POSITIVE,))
_(math.log1p, lambda x: log(1 + x), lambda x: 1 / (1 + x), (ABOVE_MINUS_ONE,))
_(math.sqrt, lambda x: sqrt(x), lambda x, out: 1 / (2 * out), (POSITIVE,))
_(math.cbrt, lambda x: cbrt(x), lambda x, out: 1 / (3 * out ** 2), (POSITIVE,))
RULES.alias(math.pow, operator.pow, 2, name="math.pow")
# hypot of any number of arguments: a family, listed and verified at 2, 3, 4, 5 and 8.
RULES.family(math.hypot, lambda xs: sqrt(_total([x ** 2 for x in xs])),
             lambda xs, out: tuple(x / out for x in xs), NONZERO, 0, (2, 3, 4, 5, 8))

# math.fsum of elements srcdiff knows when it writes the gradient: normalize calls
# fsum_of(a, b, c), which is math.fsum((a, b, c)) (generated code calls that); its
# derivative is 1 in each element.
RULES.family(fsum_of, lambda xs: _total(list(xs)), lambda xs, out: (1,) * len(xs), REAL, 1,
             (1, 2, 5), name="math.fsum")

# --- math: special functions and sign manipulation -------------------------
_(math.erf, lambda x: erf(x), lambda x: 2 / sqrt(pi) * exp(-x ** 2))
_(math.erfc, lambda x: erfc(x), lambda x: -2 / sqrt(pi) * exp(-x ** 2))
_(math.fabs, lambda x: abs(x), lambda x: sign(x), (NONZERO,))
# copysign reads the sign *bit* of y: at y = -0.0 it still negates.
# fmod(x, y) == x - y * q, q the integer x / y truncated (the dividend's sign): slope 1
# in x, -q in y, between the jumps at x = k y. At a jump, the side whose q fmod takes
# there (fmod(x, y) == 0 at x = k y: -k in y). q is read back from the result,
# (x - out) / y, rounded to the integer it stands for (``nearest``).
_(math.fmod, lambda x, y: sign(x) * (abs(x) % abs(y)), lambda x, y, out: (1, -nearest((x - out) / y)), (REAL, NONZERO))
_(math.copysign, lambda x, y: copysign(x, y), lambda x, y: (sign(x) * copysign(1, y), 0), (NONZERO, NONZERO))

del _

# Piecewise-constant primitives: their results carry no derivative (zero almost
# everywhere). ``//`` is here; ``%`` is differentiable almost everywhere (above).
RULES.nondifferentiable.update({
    operator.floordiv, math.floor, math.ceil, math.trunc, round, int, bool,
    math.isclose, math.isfinite, math.isinf, math.isnan, math.factorial, math.gcd,
    math.comb, math.perm, len, range, enumerate, zip, reversed, operator.not_, isinstance,
})
# srcdiff.stop_gradient: the identity, whose derivative is taken as zero (generated code
# reads its argument directly: ``finish`` drops the call).
from .stop import stop_gradient  # noqa: E402

RULES.nondifferentiable.add(stop_gradient)

# Primitives that never raise on real numbers. Others (``/``, ``**``, ``log``, ``sqrt``,
# ``exp``, even ``sin`` of infinity) can, so the optimiser keeps them even when their
# value is unused: the gradient then fails exactly where the function does, instead of
# returning a number at a point where the function is undefined.
TOTAL = {operator.add, operator.sub, operator.mul, operator.neg, operator.pos, abs, min,
         max, float, stop_gradient, math.fabs, math.copysign, math.atan, math.tanh, math.erf, math.erfc,
         math.degrees, math.radians, math.hypot, math.atan2, math.asinh, operator.not_}


def register_rule(func: Callable[..., Any], partials: Callable[..., Any], *,
                  primal: Callable[..., Any] | None = None,
                  domain: Iterable[Domain] | None = None) -> Rule:
    """Teach srcdiff the derivative of ``func``.

    ``partials`` takes ``func``'s parameters (and optionally ``out``, its result) and
    returns the partial derivative, or a tuple of them, written with operators and the
    functions of ``srcdiff.expr`` (``sin``, ``exp``, ``log``, ``select``...). ``primal``
    is ``func`` written the same way, when it has a SymPy counterpart; ``srcdiff.verify``
    then proves the rule symbolically, and numerically otherwise. ``domain`` is a tuple of
    ``Domain`` to sample each parameter from (default: the reals in [-3, 3]).

    >>> import srcdiff
    >>> def softplus(x):
    ...     return math.log1p(math.exp(x))
    >>> rule = srcdiff.register_rule(softplus, lambda x: 1 / (1 + exp(-x)),
    ...                              primal=lambda x: log(1 + exp(x)))
    >>> RULES.remove(softplus, 1)
    """
    from .errors import SrcdiffError
    from .expr import Code
    if not callable(func):
        raise SrcdiffError(f"register_rule needs a callable, not {func!r}")
    rule = Rule(func, qualified_name(func), primal, partials, (), builtin=False)
    try:  # the partials must be expressible as generated code
        rule.partials_at(tuple(Code.name(p) for p in rule.params), Code.name("out"))
    except Exception as error:
        raise SrcdiffError(
            f"the partials given for {rule.name} cannot be turned into code ({error}); "
            "write them with operators and the functions of srcdiff.expr (sin, exp, log, "
            "sqrt, select...), not math.<function>") from None
    return RULES.add(func, primal, partials, domain, builtin=False)
