"""Random scalar programs, the way people write them: loops, branches, helpers,
closures and recursion mixed, over every primitive srcdiff has a rule for.

``generate(seed)`` returns a :class:`~fuzz.case.Case`: the source of a small module
(imports, module-level data, helpers and ``program``) and a point. A program is a pure
function of its seed.

Every value has an interval (``intervals.Interval``) that is an invariant of its
variable: each assignment is checked to stay inside it (and squashed with tanh, sin,
atan... when it would not), so every primitive is applied inside its domain and loops
cannot overflow, whatever path the program takes. Accumulators (``acc += e``) have a
budget: the number of times the statement can run times the size of ``e``.
"""

from __future__ import annotations

import math
import random
import re

from .case import SNAP, Case, Drawing
from .intervals import (Interval, UNIT, absolute, cosh, floor, maximum, minimum, monotone,
                        pow_real, sin_cos)

ISINSTANCE_RATE = 0.1  # of the others, where an int is in scope: with isinstance of it
IDENTITY_RATE = 0.06  # of the conditions drawn: with a test of a number against None
WALRUS_RATE = 0.04    # of the others: bound to a name by `:=`, then read
NESTED_TARGET_RATE = 0.3  # of zip loops: enumerate(zip(...)) unpacked as i, (a, b)
LIST_RATE = 0.1  # of the statements drawn: lists, comprehensions and reductions (st_list)
GROWN_RATE = 0.4  # of lists appended to or comprehensions: of a length known only when run
FOREVER_RATE = 0.08  # of programs: the last statement a `while True:` left by return only
REPEAT_RATE = 0.25  # of list literals: `[0.0] * 3` first, its items assigned after
TRY_RATE = 0.03  # of the statements drawn: a `try` around constants (st_try)
RAISE_RATE = 0.015  # of the statements drawn: `if <test>: raise ...` (st_raise)
FLAG_RATE = 0.2  # of programs: a helper taking a string, mode="tanh", tested by == and in
VARARGS_RATE = 0.15  # of programs: a helper taking *args, def total(a, *rest)
FMOD_RATE = 0.4  # of remainders: math.fmod(a, b) in place of a % b (its own stream)

PARAM_RANGE = Interval(-2.0, 2.0)     # parameters: drawn in [-1.5, 1.5]
HELPER_PARAM = Interval(-4.0, 4.0)    # arguments of helpers are squashed into this
MEMBER_RATE = 0.08  # of conditions: `in` a tuple or list written out with variables
LOOP_INDEX = Interval(0, 4)           # every loop index and int parameter lies here
ACC_INIT = Interval(-2.0, 2.0)        # plain writes to an accumulator
ACC_BUDGET = 40.0                     # what += may add, over every run of the statement
NEW_VAR_LIMIT = 10.0
CONSTANT_RATE = 0.04  # of new variables: a constant from math's functions without a rule
# math's functions without a derivative rule, on constants (st_constant), by the feature
# each counts as: {a} a number (a literal or the module's), {p} a positive one, {k} an
# int (a loop's index, or a literal); the generator runs each for its value
CONSTANT_FORMS = {
    "lgamma({p})": "special", "gamma({c})": "special", "fmod({a}, 0.7)": "remainder",
    "remainder({a}, 0.7)": "remainder", "ldexp({a}, 1)": "float",
    "nextafter({a}, 0.0)": "float", "isqrt({k} + 2) * 0.5": "integer",
    "lcm({k} + 1, 2) * 0.25": "integer",
}

# names that look like the ones srcdiff generates (adjoints, tapes, flags, temporaries)
TRICKY = ["b_x", "b_s", "tape", "iterations", "skip", "broke", "returned", "taken", "mul",
          "add", "sin", "t", "value", "x_1", "d_x0", "unpacked", "ifexp", "b_x0", "power",
          "b_mul", "sin_1", "program", "numpy", "range", "grad_program", "g_1", "math_1"]
PARAM_TRICKY = ["b_x0", "tape", "b_x1", "iterations", "x0_1", "b_n"]
GLOBAL_TRICKY = ["dprogram_dx0", "grad_program", "value_and_grad_program", "tape", "b_x0",
                 "iterations", "b_program", "dprogram_dx1"]
NAME_POOL = ["s", "y", "z", "u", "acc", "p", "q", "r", "h", "c", "d", "v", "total", "prod",
             "cur", "prev", "tmp", "res", "f", "g0", "w", "e", "out", "mid", "lo", "hi"]
MATH_FUNCTIONS = ["sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
                  "asinh", "acosh", "atanh", "exp", "exp2", "expm1", "log", "log2", "log10",
                  "log1p", "sqrt", "cbrt", "pow", "hypot", "erf", "erfc", "fabs", "copysign",
                  "degrees", "radians", "floor"]

# Every construct the generator can produce; the CI test checks each appears.
FEATURES = (
    [f"prim:{p}" for p in ["add", "sub", "mul", "truediv", "pow", "mod", "floordiv", "neg",
                           "pos", "abs", "min2", "min3", "max2", "max3", "builtin_pow", "float",
                           "cmp_number", "ifexp", "log_base"]]
    + [f"prim:math.{f}" for f in MATH_FUNCTIONS] + ["prim:math.fmod", "fmod_negative_divisor"]
    + ["pow_int_index", "pow_index_zero_base", "pow_zero_base", "zero_pow", "pow_half",
       "int_floordiv", "self_update", "loop_self_update", "augassign:+=", "augassign:-=",
       "augassign:*=", "augassign:/=", "augassign:**=", "swap", "self_copy", "tuple_assign",
       "tuple_assign_closure", "logistic", "continued_fraction", "horner", "cube_update",
       "newton", "bisection", "for_range", "for_tuple", "for_list", "enumerate", "zip",
       "while", "while_true", "nested_loop", "break", "continue", "early_return",
       "return_in_nested_loop", "loop_else", "break_in_inner_else", "if", "elif", "else",
       "nested_if", "and", "or", "not", "if_pass", "chained_cmp", "branch_define",
       "helper", "helper_default", "helper_keyword", "tuple_return", "helper_early_return",
       "helper_loop", "helper_calls_helper", "helper_called_twice", "recursion",
       "tree_recursion", "lambda", "nested_def", "rebind", "default_capture", "closure_late",
       "ident", "callee_local_lambda", "callee_nested_def", "clip", "module_lambda",
       "underscore_after_loop", "tricky_local", "local_range", "local_numpy",
       "global_like_gradient", "global_range", "print", "possibly_unbound", "int_param",
       "from_import", "math_alias", "tricky_param", "global_tuple", "tuple_index",
       "zero_point", "len", "stop_gradient", "nondifferentiable", "is_none", "walrus", "isinstance",
       "print_fstring", "assert_message", "nested_target", "sum_generator", "sum_dynamic",
       "sum_condition", "min_max_generator", "prod_generator", "any_all", "zip_generator",
       "list_append", "grown_list", "grown_counted", "list_literal", "list_item_assignment", "list_unpack",
       "list_comprehension", "loop_over_list", "list_of_lists", "list_to_helper", "hypot3",
       "starred_unpack", "starred_call", "starred_element", "del_name", "dict_made",
       "dict_to_helper", "list_position", "try_division", "try_parse", "try_index",
       "try_key", "try_import", "try_raise", "try_else_finally", "try_nested",
       "try_overwrites", "fsum_generator", "fsum_list", "fsum_literal", "hypot_many", "dist",
       "tuple_call_index", "tuple_call_held", "nested_def_tuple", "raise", "raise_may_fire",
       "raise_bound", "raise_nan", "raise_int", "raise_computes", "string_flag",
       "string_flag_default", "string_flag_passed", "constant_of_index"]
    + [f"constant:{name}" for name in sorted(set(CONSTANT_FORMS.values()))])


def generate(seed: int) -> Case:
    return ScalarGenerator(seed).case()


# -- expressions -------------------------------------------------------------------


class Expr:
    __slots__ = ("code", "iv", "atomic")

    def __init__(self, code, iv, atomic=False):
        self.code, self.iv, self.atomic = code, iv, atomic


def par(e: Expr) -> str:
    return e.code if e.atomic else f"({e.code})"


def fmt(c: float) -> str:
    text = repr(float(c))
    return text


def const(c: float) -> Expr:
    return Expr(fmt(c), Interval(c), c >= 0)


class Var:
    __slots__ = ("name", "iv", "is_int", "budget", "readonly")

    def __init__(self, name, iv, is_int=False, budget=None, readonly=False):
        self.name, self.iv, self.is_int = name, iv, is_int
        self.budget, self.readonly = budget, readonly


class Sig:
    """A callable's signature: what its arguments must lie in, what it returns."""

    def __init__(self, name, params, ivs, ret, kind, n_defaults=0, int_params=(),
                 reads=(), defaults=None, options=()):
        self.name, self.params, self.ivs, self.ret, self.kind = name, params, ivs, ret, kind
        self.n_defaults, self.int_params, self.reads = n_defaults, set(int_params), set(reads)
        self.defaults = defaults or {}
        self.options = options  # a "flag" helper's strings


class Scope:
    def __init__(self, is_program=False, outer=None, ret=None):
        self.vars: dict[str, Var] = {}
        self.bound: set[str] = set()
        self.callables: dict[str, Sig] = {}
        self.loops: list[int] = []       # max iterations of each enclosing loop
        self.ret = ret                   # Interval, a tuple of them, or None (program)
        self.is_program = is_program
        self.outer = outer               # (vars, bound) readable from a closure
        self.depth = 0
        self.maybe: list[str] = []       # assigned on some paths only
        self.reads_outer: set[str] = set()

    def executions(self) -> int:
        result = 1
        for count in self.loops:
            result *= count
        return result

    def readable(self, ints=False):
        names = [v for n, v in self.vars.items() if n in self.bound and v.is_int == ints]
        if self.outer is not None:
            vars_, bound = self.outer
            names += [v for n, v in vars_.items() if n in bound and v.is_int == ints
                      and n not in self.vars]
        return names


class ScalarGenerator(Drawing):
    def __init__(self, seed: int):
        super().__init__(seed)
        self.used: set[str] = {"math", "m", "program", "print", "range", "len", "abs", "min",
                               "max", "pow", "float", "enumerate", "zip", "True", "False",
                               "None", "n", "i", "j", "k", "ident", "clip", "numpy", "np",
                               "srcdiff"}
        self.pool = list(NAME_POOL)
        self.rng.shuffle(self.pool)
        style = self.rng.random()
        self.math_style = "plain" if style < 0.7 else ("from" if style < 0.85 else "alias")
        self.bare = set(self.rng.sample(MATH_FUNCTIONS, 6)) if self.math_style == "from" else set()
        self.bare_used: set[str] = set()
        self.no_range = self.rng.random() < 0.08
        self.global_lines: list[str] = []
        self.global_numbers: dict[str, Interval] = {}
        self.global_tuples: dict[str, list[float]] = {}
        self.helpers: list[str] = []
        self.module_callables: dict[str, Sig] = {}
        self.unbound_budget = 1 if self.rng.random() < 0.08 else 0
        self.loop_names = 0
        self.print_budget = 1 if self.rng.random() < 0.15 else 0
        self.isinstance_rng = random.Random(f"isinstance/{seed}")
        self.identity_rng = random.Random(f"identity/{seed}")  # `x is None` in conditions
        self.lists_rng = random.Random(f"lists/{seed}")  # when to draw a list statement
        self.star_rng = random.Random(f"star/{seed}")  # `*` unpacking, `del` of a list
        self.try_rng = random.Random(f"try/{seed}")  # `try` around constants
        self.grown_rng = random.Random(f"grown/{seed}")  # lists of run-time length
        self.fsum_rng = random.Random(f"fsum/{seed}")  # math.fsum, hypot of many, dist
        self.tuple_rng = random.Random(f"tuple/{seed}")  # calls returning tuples as values
        self.raise_rng = random.Random(f"raise/{seed}")  # `raise` under a test
        self.flags_rng = random.Random(f"flags/{seed}")  # helpers taking strings
        self.varargs_rng = random.Random(f"varargs/{seed}")  # helpers taking *args
        self.rebind_rng = random.Random(f"rebind/{seed}")  # t = 0.5 * t + 0.5 * (t := e)
        self.start_rng = random.Random(f"start/{seed}")  # enumerate(xs, start)
        self.member_rng = random.Random(f"member/{seed}")  # i in (0, n), x in (a, b)
        self.constant_rng = random.Random(f"constant/{seed}")  # st_constant
        self.forever_rng = random.Random(f"forever/{seed}")  # `while True:` left by return
        self.repeat_rng = random.Random(f"repeat/{seed}")  # `[0.0] * 3`, then items set
        self.fmod_rng = random.Random(f"fmod/{seed}")  # math.fmod in place of %

    # -- utilities -------------------------------------------------------------
    def fresh(self, base=None):
        if base is None:
            while self.pool:
                name = self.pool.pop()
                if name not in self.used:
                    self.used.add(name)
                    return name
            base = "v"
        if base not in self.used and base != "v":
            self.used.add(base)
            return base
        k = 0
        while f"{base}{k}" in self.used:
            k += 1
        self.used.add(f"{base}{k}")
        return f"{base}{k}"

    def m(self, name):
        self.feat(f"prim:math.{name}")
        if name in self.bare:
            self.bare_used.add(name)
            self.feat("from_import")
            return name
        if self.math_style == "alias":
            self.feat("math_alias")
            return f"m.{name}"
        return f"math.{name}"

    def mcall(self, name, *args: Expr, iv=None) -> Expr:
        return Expr(f"{self.m(name)}({', '.join(a.code for a in args)})", iv, True)

    def constant(self, lo=-2.0, hi=2.0, digits=2) -> float:
        c = round(self.rng.uniform(lo, hi), digits)
        return c if c != 0 else 0.5

    # -- domain guards ---------------------------------------------------------------
    def positive(self, e: Expr, margin=0.05) -> Expr:
        """``e`` made positive (>= margin), unchanged when it already is."""
        if e.iv.lo >= margin and e.iv.finite():
            return e
        options = ["abs", "sin", "exp", "hypot", "cosh"]
        if len(e.code) <= 24 and e.iv.finite(1e3):
            options += ["square", "square"]
        kind = self.choice(options)
        if kind == "square":
            return Expr(f"1.0 + {par(e)} * {par(e)}", 1.0 + e.iv.power_int(2))
        if kind == "abs":
            self.feat("prim:abs")
            return Expr(f"abs({e.code}) + 0.5", absolute(e.iv) + 0.5)
        if kind == "sin":
            return Expr(f"2.0 + {self.m('sin')}({e.code})", Interval(1.0, 3.0))
        if kind == "exp":
            return self.mcall("exp", self.mcall("tanh", e, iv=UNIT), iv=Interval(1 / math.e, math.e))
        if kind == "hypot" and e.iv.finite():
            return self.mcall("hypot", e, const(1.0), iv=Interval(1.0, math.hypot(e.iv.mag, 1.0)))
        inner = self.mcall("atan", e, iv=Interval(-math.pi / 2, math.pi / 2))
        return self.mcall("cosh", inner, iv=Interval(1.0, math.cosh(math.pi / 2)))

    def nonzero(self, e: Expr) -> Expr:
        if e.iv.away_from_zero(0.2) and e.iv.finite():
            return e
        if self.r() < 0.2:
            return Expr(f"1.5 + {self.m('cos')}({e.code})", Interval(0.5, 2.5))
        return self.positive(e, 0.2)

    def unit(self, e: Expr, r=0.9) -> Expr:
        """|e| <= r (asin, acos, atanh)."""
        if e.iv.within(Interval(-r, r)):
            return e
        kind = self.choice(["tanh", "sin", "erf", "ratio"])
        if kind == "ratio" and e.iv.finite() and len(e.code) <= 30:
            bound = e.iv.mag / (1 + e.iv.mag)
            return Expr(f"{par(e)} / (1.0 + abs({e.code}))", Interval(-bound, bound))
        if kind == "ratio":
            kind = "tanh"
        return Expr(f"0.9 * {self.m(kind)}({e.code})", Interval(-0.9, 0.9))

    def at_least_one(self, e: Expr) -> Expr:
        """e >= 1.05 (acosh)."""
        if e.iv.lo >= 1.05 and e.iv.finite():
            return e
        kind = self.choice(["square", "abs", "cosh", "hypot"])
        if kind == "square" and len(e.code) <= 24 and e.iv.finite(1e3):
            return Expr(f"1.5 + {par(e)} * {par(e)}", 1.5 + e.iv.power_int(2))
        if kind == "cosh" and e.iv.finite(20):
            return Expr(f"{self.m('cosh')}({e.code}) + 0.1", cosh(e.iv) + 0.1)
        if kind == "hypot" and e.iv.finite():
            return self.mcall("hypot", e, const(1.5), iv=Interval(1.5, math.hypot(e.iv.mag, 1.5)))
        return Expr(f"2.0 + abs({e.code})", absolute(e.iv) + 2.0)

    def bounded(self, e: Expr, limit: float) -> Expr:
        """|e| <= limit (exp, sinh, cosh, tan...)."""
        if e.iv.within(Interval(-limit, limit)):
            return e
        kind = self.choice(["tanh", "sin", "atan", "erf"])
        scale = min(limit, 3.0) if kind != "atan" else min(limit, 3.0) / (math.pi / 2)
        scale = round(scale * 0.95, 2)
        bound = scale * (math.pi / 2 if kind == "atan" else 1.0)
        return Expr(f"{fmt(scale)} * {self.m(kind)}({e.code})", Interval(-bound, bound))

    def squash_into(self, e: Expr, target: Interval) -> Expr:
        """An expression of ``e`` whose interval lies in ``target``."""
        if e.iv.within(target) and e.iv.finite():
            return e
        if Interval(-1.6, 1.6).within(target):
            kind = self.choice(["tanh", "sin", "atan", "erf", "cos", "tanh"])
            iv = Interval(-math.pi / 2, math.pi / 2) if kind == "atan" else UNIT
            return self.mcall(kind, e, iv=iv)
        mid = (target.lo + target.hi) / 2
        rad = (target.hi - target.lo) / 2 * 0.9
        mid, rad = round(mid, 3), math.floor(rad * 1000) / 1000
        iv = Interval(mid - rad, mid + rad)
        if not iv.within(target) or rad <= 0:
            return const(mid if target.lo <= mid <= target.hi else target.lo)
        return Expr(f"{fmt(mid)} + {fmt(rad)} * {self.m('tanh')}({e.code})", iv)

    # -- leaves ----------------------------------------------------------------
    def leaf(self, scope: Scope, must=None) -> Expr:
        if must is not None:
            var = scope.vars.get(must)
            return Expr(must, var.iv, True)
        floats = scope.readable()
        ints = scope.readable(ints=True)
        roll = self.r()
        if roll < 0.6 and floats:
            var = self.choice(floats)
            if var.name != "_" and scope.outer is not None and var.name not in scope.vars:
                scope.reads_outer.add(var.name)
            return Expr(var.name, var.iv, True)
        if roll < 0.7 and ints:
            var = self.choice(ints)
            return Expr(var.name, var.iv, True)
        if roll < 0.75 and self.global_numbers:
            name = self.choice(sorted(self.global_numbers))
            if name in GLOBAL_TRICKY:
                self.feat("global_like_gradient")
            return Expr(name, self.global_numbers[name], True)
        if roll < 0.78 and self.global_tuples:
            name = self.choice(sorted(self.global_tuples))
            values = self.global_tuples[name]
            index = self.rng.randrange(len(values))
            self.feat("tuple_index")
            return Expr(f"{name}[{index}]", Interval(min(values), max(values)), True)
        if roll < 0.8 and scope.maybe and self.unbound_budget and scope.is_program:
            self.unbound_budget -= 1
            self.feat("possibly_unbound")
            name = self.choice(scope.maybe)
            return Expr(name, scope.vars[name].iv, True)
        if floats and roll < 0.9:
            var = self.choice(floats)
            return Expr(var.name, var.iv, True)
        return const(self.constant())

    def int_expr(self, scope: Scope, nonneg=True) -> Expr:
        """An integer in [0, 4] (loop bounds, exponents, recursion depths)."""
        ints = scope.readable(ints=True)
        roll = self.r()
        if ints and roll < 0.55:
            var = self.choice(ints)
            return Expr(var.name, var.iv, True)
        if ints and roll < 0.75:
            var = self.choice(ints)
            kind = self.choice(["half", "mod", "plus", "minus"])
            if kind == "half":
                self.feat("int_floordiv")
                return Expr(f"{var.name} // 2", Interval(0, 2))
            if kind == "mod":
                return Expr(f"{var.name} % 3", Interval(0, 2))
            if kind == "plus" and var.iv.hi <= 3:
                return Expr(f"{var.name} + 1", var.iv + 1)
            if not nonneg:
                return Expr(f"3 - {var.name}", 3 - var.iv)
            return Expr(f"{var.name} // 2", Interval(0, 2))
        if self.global_tuples and roll < 0.8:
            self.feat("len")
            name = self.choice(sorted(self.global_tuples))
            return Expr(f"len({name})", Interval(len(self.global_tuples[name])), True)
        c = self.rng.randint(0, 4)
        return Expr(str(c), Interval(c), True)

    # -- expressions -------------------------------------------------------------
    def expr(self, scope: Scope, depth=2, must=None) -> Expr:
        if depth <= 0 or (must is None and self.r() < 0.25):
            return self.leaf(scope, must)
        for _ in range(4):
            op = self.choice(OPS)
            result = op(self, scope, depth, must)
            if result is not None:
                stopped = self.maybe_stopped(result.code)
                if stopped is not result.code:
                    return Expr(stopped, result.iv, True)
                snapped = self.maybe_marked(result.code)
                if snapped is not result.code:
                    return Expr(snapped, floor(result.iv * 64.0) / 64.0, True)
                return result
        return self.leaf(scope, must)

    def sub(self, scope, depth, must=None):
        return self.expr(scope, depth - 1, must)

    def operands(self, scope, depth, must, count):
        which = self.rng.randrange(count) if must is not None else -1
        return [self.sub(scope, depth, must if k == which else None) for k in range(count)]

    def value_for(self, scope: Scope, target: Interval, depth=2, must=None) -> Expr:
        """An expression whose interval lies in ``target`` (retrying, then squashing)."""
        e = self.expr(scope, depth, must)
        if not (e.iv.within(target) and e.iv.finite()) and self.r() < 0.5:
            e = self.expr(scope, depth, must)
        return self.squash_into(e, target)

    def condition(self, scope: Scope) -> str:
        test = self.comparison(scope)
        if self.identity_rng.random() < IDENTITY_RATE:  # its own stream: the rest unchanged
            var = self.identity_rng.choice(sorted(scope.readable(), key=lambda v: v.name))
            self.feat("is_none")
            return self.identity_rng.choice([f"({test}) and {var.name} is not None",
                                             f"{var.name} is None or ({test})",
                                             f"not {var.name} is None and ({test})"])
        if self.identity_rng.random() < WALRUS_RATE:
            self.feat("walrus")
            name = self.fresh("held")
            return f"({name} := ({test})) and {name}"
        ints = scope.readable(ints=True)
        if self.member_rng.random() < MEMBER_RATE:  # its own stream
            # `in` a tuple or list written out, with variables in it: of ints (exact
            # equality is common), or of numbers (equal only by chance: the rarely taken
            # branch), or a float's own name among them (`in` asks `is` first)
            rng = self.member_rng
            self.feat("member")
            floats = sorted(scope.readable(), key=lambda v: v.name)
            if ints and rng.random() < 0.7:
                var = rng.choice(sorted(ints, key=lambda v: v.name))
                others = [rng.choice(sorted(ints, key=lambda v: v.name)).name
                          for _ in range(rng.randint(0, 2))] + [str(rng.randint(0, 3))]
                if rng.random() < 0.5:
                    others.append(f"{rng.choice(others)} + 1")
                written = ", ".join(others)
            elif floats:
                var = rng.choice(floats)
                chosen = [rng.choice(floats).name for _ in range(rng.randint(1, 2))]
                written = ", ".join(chosen + [fmt(self.constant(-1.0, 1.0))])
            else:
                return test
            brackets = "[{}]" if rng.random() < 0.3 else "({},)" if written.count(",") == 0 \
                else "({})"
            negated = "not in" if rng.random() < 0.3 else "in"
            member = f"{var.name} {negated} {brackets.format(written)}"
            return rng.choice([member, f"{member} and ({test})", f"({test}) or {member}"])
        if ints and self.isinstance_rng.random() < ISINSTANCE_RATE:  # its own stream
            # of an int (a loop index, a count): never a dual number, whose oracle runs
            # the program on objects that are no float
            rng = self.isinstance_rng
            var = rng.choice(sorted(ints, key=lambda v: v.name))
            classes = rng.choice(["int", "float", "bool", "(int, float)", "(float, (bool, int))"])
            self.feat("isinstance")
            return rng.choice([f"isinstance({var.name}, {classes}) and ({test})",
                               f"({test}) or not isinstance({var.name}, {classes})"])
        return test

    def comparison(self, scope: Scope) -> str:
        roll = self.r()
        ints = scope.readable(ints=True)
        if ints and roll < 0.12:
            var = self.choice(ints)
            return self.choice([f"{var.name} % 2 == 0", f"{var.name} == 2", f"{var.name} > 1",
                                f"{var.name} < 2", f"{var.name} != 0"])
        a, b = self.expr(scope, 1), self.expr(scope, 1)
        op = self.choice([">", "<", ">=", "<="])
        simple = f"{par(a)} {op} {par(b)}"
        if roll < 0.45:
            return simple
        if roll < 0.55:
            self.feat("chained_cmp")
            lo = self.constant(-1.5, 0.0)
            return f"{fmt(lo)} < {par(a)} < {fmt(round(lo + self.rng.uniform(0.3, 2.0), 2))}"
        if roll < 0.68:
            self.feat("and")
            c = self.expr(scope, 1)
            return f"{simple} and {par(c)} > {fmt(self.constant(-1.0, 1.0))}"
        if roll < 0.8:
            self.feat("or")
            c = self.expr(scope, 1)
            return f"{simple} or {par(c)} < {fmt(self.constant(-1.0, 1.0))}"
        if roll < 0.9:
            self.feat("not")
            return f"not {simple}" if self.r() < 0.5 else f"not ({simple} or {par(b)} > 1.0)"
        if roll < 0.95:
            self.feat("and")
            return f"{par(a)} and {par(b)}"  # truthiness of numbers
        return f"{par(a)} * {par(b)} > 0"

    # -- calls ---------------------------------------------------------------------
    def call(self, scope: Scope, sig: Sig, depth: int, must=None) -> Expr:
        if sig.kind == "flag":  # the number, then the string: left out, by position, by name
            rng = self.flags_rng
            e = self.value_for(scope, sig.ivs[0], depth - 1, must)
            option, style = rng.choice(sig.options), rng.random()
            text = e.code if style < 0.3 else f'{e.code}, "{option}"' if style < 0.65 else \
                f'{e.code}, {sig.params[1]}="{option}"'
            self.feat("string_flag_default" if style < 0.3 else "string_flag_passed")
            return Expr(f"{sig.name}({text})", sig.ret, True)
        if sig.kind == "varargs":  # one to four arguments; some spread from a list
            rng = self.varargs_rng
            count = rng.randint(1, 4)
            at = rng.randrange(count) if must is not None else -1
            args = [self.value_for(scope, HELPER_PARAM, depth - 1, must if k == at else None).code
                    for k in range(count)]
            if count >= 2 and rng.random() < 0.3:
                cut = rng.randint(1, count - 1)
                self.feat("varargs_spread")
                text = ", ".join(args[:cut]) + ", *[" + ", ".join(args[cut:]) + "]"
            else:
                text = ", ".join(args)
            return Expr(f"{sig.name}({text})", sig.ret, True)
        args = []
        positions = [k for k in range(len(sig.params)) if k not in sig.int_params]
        which = self.choice(positions) if (must is not None and positions) else -1
        for k, (param, iv) in enumerate(zip(sig.params, sig.ivs)):
            if k in sig.int_params:
                args.append(self.int_expr(scope).code)
            else:
                e = self.value_for(scope, iv, depth - 1, must if k == which else None)
                args.append(e.code)
        n = len(args)
        omit = 0
        if sig.kind == "closure" and sig.n_defaults:
            omit = sig.n_defaults  # the captured default (a rebinding may not have it)
        elif sig.n_defaults and self.r() < 0.5 and which < n - sig.n_defaults:
            omit = self.rng.randint(1, sig.n_defaults)
            self.feat("helper_default")
        keep = n - omit
        if sig.kind in ("helper", "tuple_helper") and keep >= 2 and self.r() < 0.35:
            self.feat("helper_keyword")
            parts = [args[k] for k in range(keep - 1)] + [f"{sig.params[keep - 1]}={args[keep - 1]}"]
            if self.r() < 0.4:
                parts = [f"{sig.params[k]}={args[k]}" for k in range(keep)]
                self.rng.shuffle(parts)
            text = ", ".join(parts)
        else:
            text = ", ".join(args[:keep])
        for name in sig.reads:
            scope.reads_outer.add(name)
        return Expr(f"{sig.name}({text})", sig.ret, True)

    # -- statements ------------------------------------------------------------------
    def block(self, scope: Scope, indent: int, count=None, first=None):
        """Statements; returns (lines, terminated)."""
        lines = []
        if first is not None:
            lines += first(scope, indent)
        count = count if count is not None else self.rng.choice([1, 1, 1, 2, 2, 3])
        for _ in range(count):
            new, terminated = self.statement(scope, indent)
            lines += new
            if terminated:
                return lines, True
        if not lines:
            lines.append(" " * indent + "pass")
        return lines, False

    def statement(self, scope: Scope, indent: int):
        if self.try_rng.random() < TRY_RATE:  # its own stream: other programs unchanged
            return self.st_try(scope, indent)
        if self.raise_rng.random() < RAISE_RATE:  # its own stream too
            return self.st_raise(scope, indent)
        if self.lists_rng.random() < LIST_RATE:  # its own stream: other programs unchanged
            return self.st_list(scope, indent)
        options = [("assign", 6), ("self_update", 5), ("augassign", 3), ("tuple", 1.5),
                   ("call_stmt", 2 if self.callables(scope) else 0)]
        if scope.depth < 3:
            options += [("if", 3), ("branch_define", 1)]
            if len(scope.loops) < 2:
                options += [("for", 3), ("while", 1.5)]
                if len(scope.loops) == 0:
                    options += [("template", 1.5)]
        if scope.loops:
            options += [("break", 1.2), ("continue", 1)]
        options += [("return", 0.8 if scope.loops or scope.depth else 0.3)]
        if self.print_budget and scope.is_program:
            options.append(("print", 1))
        kinds, weights = zip(*options)
        kind = self.rng.choices(kinds, weights)[0]
        return getattr(self, "st_" + kind)(scope, indent)

    def callables(self, scope):
        return [s for s in scope.callables.values() if s.kind not in ("rec_internal",)]

    def writable(self, scope, floats=True):
        return [v for n, v in scope.vars.items() if n in scope.bound and not v.readonly
                and not v.is_int]

    def declare(self, scope, name, iv, budget=None):
        scope.vars[name] = Var(name, iv, budget=budget)

    def new_var_interval(self, e: Expr) -> Interval:
        if self.r() < 0.3 and e.iv.within(UNIT) and e.iv.hi - e.iv.lo > 0.1:
            return e.iv  # a tight invariant: a ** 3, a **= 2 stay inside
        return e.iv.hull(Interval(-2.0, 2.0))

    def assign_to(self, scope, target: Var, e: Expr) -> Expr:
        allowed = ACC_INIT if target.budget is not None else target.iv
        return self.squash_into(e, allowed)

    def st_assign(self, scope, indent, must=None):
        if self.constant_rng.random() < CONSTANT_RATE:  # its own stream: others unchanged
            return self.st_constant(scope, indent)
        pad = " " * indent
        targets = self.writable(scope)
        if targets and self.r() < 0.45:
            target = self.choice(targets)
            e = self.value_for(scope, ACC_INIT if target.budget is not None else target.iv, 2)
            self.feat("assign")
            return [f"{pad}{target.name} = {e.code}"], False
        e = self.expr(scope, self.rng.randint(1, 3))
        e = self.squash_into(e, Interval(-NEW_VAR_LIMIT, NEW_VAR_LIMIT))
        name = self.fresh()
        if self.r() < 0.15 and e.iv.within(ACC_INIT):
            self.declare(scope, name, Interval(-2 - ACC_BUDGET, 2 + ACC_BUDGET), ACC_BUDGET)
        else:
            self.declare(scope, name, self.new_var_interval(e))
        scope.bound.add(name)
        return [f"{pad}{name} = {e.code}"], False

    def st_constant(self, scope, indent):
        """``c = math.lgamma(2.5)``, ``g = math.lgamma(i + 1.5)``: a function of math
        without a derivative rule, on constants (a loop's index, the module's numbers),
        its result a constant read afterwards like any variable. Its own stream."""
        rng = self.constant_rng
        ints = [v for v in scope.readable(ints=True) if v.iv.hi <= 4]
        form = rng.choice(sorted(CONSTANT_FORMS))
        index = rng.choice(ints) if ints and rng.random() < 0.7 else None
        numbers = [(fmt(v), Interval(v)) for v in (self.constant(), self.constant())] + [
            (n, iv) for n, iv in sorted(self.global_numbers.items())]
        a = rng.choice(numbers)[0]
        p = f"{index.name} + 1.5" if index is not None else fmt(round(rng.uniform(0.5, 3.5), 2))
        k = index.name if index is not None else str(rng.randint(0, 4))
        code = form.format(a=a, p=p, k=k, c=fmt(round(rng.uniform(0.5, 3.0), 2)))
        if "{p}" not in form and "{k}" not in form:
            index = None  # (the form reads no index)
        namespace = {"math": math, **{n: float(iv.lo) for n, iv in self.global_numbers.items()}}
        values = [float(eval("math." + code, namespace, {index.name: i} if index else {}))
                  for i in (range(int(index.iv.hi) + 1) if index is not None else [0])]
        name = self.fresh()
        call = code.split("(")[0]
        self.declare(scope, name, Interval(min(values), max(values)).hull(Interval(-2.0, 2.0)))
        scope.bound.add(name)
        self.feat(f"constant:{CONSTANT_FORMS[form]}")
        if index is not None:
            self.feat("constant_of_index")
        return [f"{' ' * indent}{name} = {self.m(call)}({code.split('(', 1)[1]}"], False

    def st_self_update(self, scope, indent):
        pad = " " * indent
        targets = self.writable(scope)
        if not targets:
            return self.st_assign(scope, indent)
        target = self.choice(targets)
        allowed = ACC_INIT if target.budget is not None else target.iv
        e = self.expr(scope, self.rng.randint(1, 3), must=target.name)
        if not e.iv.within(allowed):
            retry = self.expr(scope, self.rng.randint(1, 3), must=target.name)
            if retry.iv.within(allowed):
                e = retry
        e = self.squash_into(e, allowed)
        self.feat("self_update")
        if scope.loops:
            self.feat("loop_self_update")
        if target.budget is None and self.rebind_rng.random() < 0.08:  # its own stream
            # the old value read, then rebound inside the same expression: Python reads
            # it where it is written (within target.iv: a mean of two values in it)
            self.feat("walrus_rebinds_read")
            t = target.name
            return [f"{pad}{t} = 0.5 * {t} + 0.5 * ({t} := {e.code})"], False
        return [f"{pad}{target.name} = {e.code}"], False

    def st_augassign(self, scope, indent):
        pad = " " * indent
        targets = self.writable(scope)
        if not targets:
            return self.st_assign(scope, indent)
        target = self.choice(targets)
        op = self.choice(["+=", "-=", "*=", "/=", "**=", "%=", "+=", "-=", "*="])
        runs = scope.executions()
        if op in ("+=", "-="):
            if target.budget is not None:
                e = self.value_for(scope, Interval(-1.0, 1.0), 2)
                cost = runs * e.iv.mag
                if cost <= target.budget:
                    target.budget -= cost
                    self.feat("augassign:" + op)
                    return [f"{pad}{target.name} {op} {e.code}"], False
                return self.st_self_update(scope, indent)
            e = self.expr(scope, 2)
            new = target.iv + e.iv if op == "+=" else target.iv - e.iv
            if new.within(target.iv):  # only when e is 0 ... practically never
                self.feat("augassign:" + op)
                return [f"{pad}{target.name} {op} {e.code}"], False
            # a contraction first, then the increment: t = t * 0.5; t += e
            scale = (target.iv.mag - 0.5) / (2 * target.iv.mag)
            if scale <= 0.05:
                return self.st_self_update(scope, indent)
            scale = math.floor(scale * 100) / 100
            inc = self.squash_into(e, Interval(-0.45, 0.45))
            inc = Expr(f"0.5 * {par(inc)}", inc.iv * 0.5) if inc.iv.mag > 0.5 else inc
            if not (target.iv * scale + absolute(inc.iv) * Interval(-1.0, 1.0)).within(target.iv):
                return self.st_self_update(scope, indent)
            self.feat("augassign:" + op)
            return [f"{pad}{target.name} *= {fmt(scale)}", f"{pad}{target.name} {op} {inc.code}"], False
        if op == "*=":
            e = self.value_for(scope, Interval(-1.0, 1.0), 2)
            if (target.iv * e.iv).within(target.iv):
                self.feat("augassign:*=")
                return [f"{pad}{target.name} *= {e.code}"], False
            return self.st_self_update(scope, indent)
        if op == "/=":
            e = self.expr(scope, 1)
            d = self.positive(e, 0.05)
            d = Expr(f"1.0 + {par(d)}", d.iv + 1.0) if d.iv.lo < 1.0 else d
            if (target.iv / d.iv).within(target.iv):
                self.feat("augassign:/=")
                return [f"{pad}{target.name} /= {d.code}"], False
            return self.st_self_update(scope, indent)
        if op == "**=":
            k = self.choice([2, 3, 2])
            if target.budget is None and target.iv.power_int(k).within(target.iv):
                self.feat("augassign:**=")
                return [f"{pad}{target.name} **= {k}"], False
            if target.budget is None and target.iv.lo >= 0.5 and target.iv.hi <= 4:
                new = pow_real(target.iv, Interval(0.5))
                if new.within(target.iv):
                    self.feat("augassign:**=")
                    return [f"{pad}{target.name} **= 0.5"], False
            return self.st_self_update(scope, indent)
        if op == "%=":
            c = self.choice([1.0, 1.5, 0.75])
            if target.budget is None and Interval(0, c).within(target.iv):
                self.feat("prim:mod")
                return [f"{pad}{target.name} %= {fmt(c)}"], False
        return self.st_self_update(scope, indent)

    def st_tuple(self, scope, indent):
        pad = " " * indent
        targets = [v for v in self.writable(scope) if v.budget is None]
        roll = self.r()
        if len(targets) >= 2 and roll < 0.35:
            a, b = self.rng.sample(targets, 2)
            ea, eb = Expr(b.name, b.iv, True), Expr(a.name, a.iv, True)
            if ea.iv.within(a.iv) and eb.iv.within(b.iv):
                self.feat("swap")
                return [f"{pad}{a.name}, {b.name} = {b.name}, {a.name}"], False
            ea, eb = self.squash_into(ea, a.iv), self.squash_into(eb, b.iv)
            self.feat("tuple_assign")
            return [f"{pad}{a.name}, {b.name} = {ea.code}, {eb.code}"], False
        if targets and roll < 0.5:
            a = self.choice(targets)
            self.feat("self_copy")
            if len(targets) >= 2 and self.r() < 0.5:
                b = self.choice([t for t in targets if t is not a])
                return [f"{pad}{a.name}, {b.name} = {a.name}, {b.name}"], False
            return [f"{pad}{a.name} = {a.name}"], False
        # new or existing targets from a tuple of expressions
        count = self.rng.randint(2, 3)
        names, values = [], []
        for _ in range(count):
            if targets and self.r() < 0.5:
                t = self.choice(targets)
                if t.name in names:
                    continue
                values.append(self.value_for(scope, t.iv, 2))
                names.append(t.name)
            else:
                e = self.squash_into(self.expr(scope, 2), Interval(-NEW_VAR_LIMIT, NEW_VAR_LIMIT))
                name = self.fresh()
                names.append(name)
                values.append(e)
                self.declare(scope, name, self.new_var_interval(e))
        if len(names) < 2:
            return self.st_assign(scope, indent)
        scope.bound.update(names)
        self.feat("tuple_assign")
        return [f"{pad}{', '.join(names)} = {', '.join(v.code for v in values)}"], False

    def st_call_stmt(self, scope, indent):
        pad = " " * indent
        sigs = self.callables(scope)
        sig = self.choice(sigs)
        if isinstance(sig.ret, tuple) and self.tuple_rng.random() < 0.3:
            call = self.call(scope, sig, 2)  # the tuple held, or reduced, as a value
            name, held = self.fresh(), self.fresh("returned")
            self.feat("tuple_call_held")
            use = self.tuple_rng.choice(["ends", "fsum", "sum"])
            if use == "ends":
                lines = [f"{pad}{held} = {call.code}",
                         f"{pad}{name} = {held}[0] - {held}[-1] * len({held})"]
                iv = sig.ret[0] - sig.ret[-1] * float(len(sig.ret))
            else:
                total = self.m("fsum") if use == "fsum" else "sum"
                lines = [f"{pad}{name} = {total}({call.code})"]
                iv = sig.ret[0]
                for other in sig.ret[1:]:
                    iv = iv + other
            self.declare(scope, name, iv)
            scope.bound.add(name)
            return lines, False
        if isinstance(sig.ret, tuple):
            call = self.call(scope, sig, 2)
            names = []
            for iv in sig.ret:
                targets = [v for v in self.writable(scope) if v.budget is None
                           and iv.within(v.iv) and v.name not in names]
                if targets and self.r() < 0.4:
                    names.append(self.choice(targets).name)
                else:
                    name = self.fresh()
                    self.declare(scope, name, iv.hull(Interval(-2.0, 2.0)))
                    names.append(name)
            scope.bound.update(names)
            self.feat("tuple_return")
            return [f"{pad}{', '.join(names)} = {call.code}"], False
        e = self.expr(scope, 2)
        call = self.call(scope, sig, 2)
        combined = self.choice(["{c}", "{c} * {e}", "{c} + {e}", "{c} - {c2}"])
        if "{c2}" in combined:
            other = self.call(scope, sig, 2)
            self.feat("helper_called_twice")
            code = f"{call.code} - {other.code}"
            iv = call.iv - other.iv
        elif combined == "{c}":
            code, iv = call.code, call.iv
        elif "*" in combined:
            code, iv = f"{call.code} * {par(e)}", call.iv * e.iv
        else:
            code, iv = f"{call.code} + {par(e)}", call.iv + e.iv
        value = Expr(code, iv)
        name = self.fresh()
        value = self.squash_into(value, Interval(-NEW_VAR_LIMIT, NEW_VAR_LIMIT))
        self.declare(scope, name, self.new_var_interval(value))
        scope.bound.add(name)
        return [f"{pad}{name} = {value.code}"], False

    def st_if(self, scope, indent, define=None):
        pad = " " * indent
        before = set(scope.bound)
        scope.depth += 1
        if scope.depth >= 2:
            self.feat("nested_if")
        lines = []
        ends = []
        first = (lambda s, i: self.define_line(s, i, define)) if define else None
        if self.r() < 0.06 and define is None:
            cond = self.condition(scope)
            self.feat("if_pass")
            scope.depth -= 1
            return [f"{pad}if {cond}:", f"{pad}    pass"], False
        self.feat("if")
        lines.append(f"{pad}if {self.condition(scope)}:")
        body, term = self.block(scope, indent + 4, first=first)
        lines += body
        ends.append(None if term else scope.bound)
        new_in_body = set(scope.bound) - before
        if self.r() < 0.2:
            self.feat("elif")
            scope.bound = set(before)
            lines.append(f"{pad}elif {self.condition(scope)}:")
            body, term = self.block(scope, indent + 4, first=first)
            lines += body
            ends.append(None if term else scope.bound)
        if define or self.r() < 0.5:
            self.feat("else")
            scope.bound = set(before)
            lines.append(f"{pad}else:")
            body, term = self.block(scope, indent + 4, first=first)
            lines += body
            ends.append(None if term else scope.bound)
        else:
            ends.append(before)
            scope.maybe += [n for n in sorted(new_in_body) if not scope.vars[n].is_int]
        scope.depth -= 1
        live = [e for e in ends if e is not None]
        if not live:
            scope.bound = before
            return lines, True
        scope.bound = set.intersection(*live)
        return lines, False

    def define_line(self, scope, indent, name):
        e = self.value_for(scope, scope.vars[name].iv, 2)
        scope.bound.add(name)
        return [f"{' ' * indent}{name} = {e.code}"]

    def st_branch_define(self, scope, indent):
        name = self.fresh()
        self.declare(scope, name, Interval(-2.0, 2.0))
        self.feat("branch_define")
        return self.st_if(scope, indent, define=name)

    def loop_body(self, scope, indent, count, loop_var=None):
        """A loop's body and its optional else clause; restores definite bindings."""
        before = set(scope.bound)
        scope.loops.append(count)
        scope.depth += 1
        if len(scope.loops) >= 2:
            self.feat("nested_loop")
        if loop_var is not None:
            scope.bound.add(loop_var)
        body, _ = self.block(scope, indent + 4)
        scope.loops.pop()
        new_in_body = set(scope.bound) - before - {loop_var}
        scope.bound = set(before)
        lines = body
        if self.r() < 0.25:
            self.feat("loop_else")
            lines.append(" " * indent + "else:")
            if scope.loops and self.r() < 0.4:
                self.feat("break_in_inner_else")
                self.feat("break")
                if self.r() < 0.5:
                    lines.append(" " * (indent + 4) + f"if {self.condition(scope)}:")
                    lines.append(" " * (indent + 8) + "break")
                else:
                    lines += self.block(scope, indent + 4, count=1)[0]
                    lines.append(" " * (indent + 4) + "break")
            else:
                lines += self.block(scope, indent + 4)[0]
            scope.bound = set(before)
        scope.depth -= 1
        scope.maybe += [n for n in sorted(new_in_body) if n in scope.vars and not scope.vars[n].is_int]
        return lines

    def loop_name(self, scope):
        taken = {n for n in scope.vars if scope.vars[n].is_int and n in scope.bound}
        for name in ["i", "j", "k", "i2", "j2", "k2", "i3", "j3"]:
            if name not in taken:
                self.used.add(name)
                return name
        return self.fresh("i")

    def st_for(self, scope, indent):
        pad = " " * indent
        forms = ["range", "range", "range", "tuple", "list", "enumerate", "zip"]
        if self.no_range:
            forms = ["tuple", "list", "enumerate", "zip"]
        form = self.choice(forms)
        if form == "range":
            var = "_" if self.r() < 0.12 and "_" not in scope.bound else self.loop_name(scope)
            count = 4
            choice = self.rng.randrange(8)
            if choice == 0:
                c = self.rng.randint(0, 4)
                iterable, count = f"range({c})", c
            elif choice == 1 and scope.readable(ints=True):
                iterable = f"range({self.choice(scope.readable(ints=True)).name})"
            elif choice == 2:
                iterable = f"range(1, {self.int_expr(scope).code})"
            elif choice == 3:
                c = self.rng.randint(1, 4)
                iterable, count = f"range({c}, 0, -1)", c
            elif choice == 4:
                iterable, count = "range(0, 4, 2)", 2
            elif choice == 5 and self.global_tuples:
                name = self.choice(sorted(self.global_tuples))
                iterable, count = f"range(len({name}))", len(self.global_tuples[name])
                self.feat("len")
            else:
                c = self.rng.randint(1, 4)
                iterable, count = f"range({c})", c
            self.feat("for_range")
            scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
            lines = [f"{pad}for {var} in {iterable}:"]
            lines += self.loop_body(scope, indent, max(count, 0), var)
            if iterable.startswith("range(") and iterable[6:-1].isdigit() and count >= 1 \
                    and var == "_":
                scope.bound.add(var)
                self.feat("underscore_after_loop")
                scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
            return lines, False
        values = [self.constant(-1.5, 1.5) for _ in range(self.rng.randint(1, 4))]
        iv = Interval(min(values), max(values)).hull(Interval(-2.0, 2.0))
        literal = ", ".join(fmt(v) for v in values)
        # enumerate/zip of a literal are refused by srcdiff today: mostly module-level data
        wants_global = 0.5 if form == "tuple" else (0.8 if form in ("enumerate", "zip") else 0.0)
        if form in ("enumerate", "zip") and not self.global_tuples:
            self.make_global_tuple()
        if self.global_tuples and self.r() < wants_global:
            name = self.choice(sorted(self.global_tuples))
            values = self.global_tuples[name]
            literal = None
            iterable = name
            iv = Interval(min(values), max(values)).hull(Interval(-2.0, 2.0))
            self.feat("global_tuple")
            if form == "list":
                form = "tuple"
        elif form in ("tuple", "enumerate", "zip"):
            iterable = f"({literal},)" if len(values) == 1 else f"({literal})"
        else:
            iterable = f"[{literal}]"
        var = self.fresh(self.choice(["c", "coef", "w"]))
        scope.vars[var] = Var(var, iv)
        if form == "enumerate":
            index = self.loop_name(scope)
            scope.vars[index] = Var(index, LOOP_INDEX, is_int=True, readonly=True)
            self.feat("enumerate")
            head = f"for {index}, {var} in enumerate({iterable}):"
            draw = self.start_rng.random()
            if draw < 0.4:  # a start: by position or keyword, a constant or an int variable
                ints = scope.readable(ints=True)
                if ints and draw < 0.15:
                    chosen = self.start_rng.choice(ints)
                    start, low, high = chosen.name, chosen.iv.lo, chosen.iv.hi
                else:
                    low = high = self.start_rng.randint(-2, 3)
                    start = str(low)
                keyword = "start=" if self.start_rng.random() < 0.5 else ""
                head = f"for {index}, {var} in enumerate({iterable}, {keyword}{start}):"
                scope.vars[index] = Var(index, Interval(min(low, 0), high + len(values) - 1),
                                        is_int=True, readonly=True)
                self.feat("enumerate_start")
            scope.bound.add(index)
            lines = [pad + head] + self.loop_body(scope, indent, len(values), var)
            scope.bound.discard(index)
            return lines, False
        if form == "zip":
            other = [self.constant(-1.5, 1.5) for _ in values]
            var2 = self.fresh("d")
            if literal is None and self.r() < 0.8:
                second = self.make_global_tuple()
                other = self.global_tuples[second]
            else:
                second = "(" + ", ".join(fmt(v) for v in other) + ("," if len(other) == 1 else "") + ")"
            scope.vars[var2] = Var(var2, Interval(min(other), max(other)).hull(Interval(-2.0, 2.0)))
            self.feat("zip")
            head = f"for {var}, {var2} in zip({iterable}, {second}):"
            index = None
            if self.identity_rng.random() < NESTED_TARGET_RATE:  # own stream
                self.feat("nested_target")
                index = self.fresh("pos")
                scope.vars[index] = Var(index, LOOP_INDEX, is_int=True, readonly=True)
                scope.bound.add(index)
                head = f"for {index}, ({var}, {var2}) in enumerate(zip({iterable}, {second})):"
            scope.bound.add(var2)
            lines = [pad + head] + self.loop_body(scope, indent, len(values), var)
            scope.bound.discard(var2)
            if index is not None:
                scope.bound.discard(index)
            return lines, False
        self.feat("for_list" if form == "list" else "for_tuple")
        lines = [f"{pad}for {var} in {iterable}:"] + self.loop_body(scope, indent, len(values), var)
        return lines, False

    def st_while(self, scope, indent):
        pad = " " * indent
        counter = self.fresh(self.choice(["count", "steps", "it", "w"]))
        limit = self.rng.randint(1, 4)
        scope.vars[counter] = Var(counter, Interval(0, limit), is_int=True, readonly=True)
        scope.bound.add(counter)
        lines = [f"{pad}{counter} = 0"]
        if self.r() < 0.25:
            self.feat("while_true")
            lines.append(f"{pad}while True:")
            lines.append(f"{pad}    {counter} += 1")
            lines.append(f"{pad}    if {counter} > {limit}:")
            lines.append(f"{pad}        break")
            before = set(scope.bound)
            scope.loops.append(limit)
            scope.depth += 1
            body, term = self.block(scope, indent + 4)
            lines += body
            if not term:
                lines.append(f"{pad}    if {self.condition(scope)}:")
                lines.append(f"{pad}        break")
            scope.loops.pop()
            scope.depth -= 1
            new = set(scope.bound) - before
            scope.bound = before
            scope.maybe += [n for n in sorted(new) if not scope.vars[n].is_int]
            self.feat("while")
            return lines, False
        cond = self.condition(scope)
        if self.r() < 0.5:
            header = f"while {counter} < {limit} and ({cond}):"
        else:
            header = f"while ({cond}) and {counter} < {limit}:"
        lines.append(pad + header)
        lines.append(f"{pad}    {counter} += 1")
        self.feat("while")
        lines += self.loop_body(scope, indent, limit)
        return lines, False

    def st_break(self, scope, indent):
        pad = " " * indent
        self.feat("break")
        if self.r() < 0.12:
            return [f"{pad}break"], True
        return [f"{pad}if {self.condition(scope)}:", f"{pad}    break"], False

    def st_continue(self, scope, indent):
        pad = " " * indent
        self.feat("continue")
        return [f"{pad}if {self.condition(scope)}:", f"{pad}    continue"], False

    def return_value(self, scope):
        if isinstance(scope.ret, tuple):
            return ", ".join(self.value_for(scope, iv, 2).code for iv in scope.ret)
        if scope.ret is None:
            return self.squash_into(self.expr(scope, 2), Interval(-1e4, 1e4)).code
        return self.value_for(scope, scope.ret, 2).code

    def st_return(self, scope, indent):
        pad = " " * indent
        self.feat("early_return")
        if not scope.is_program:
            self.feat("helper_early_return")
        if len(scope.loops) >= 2:
            self.feat("return_in_nested_loop")
        if (scope.loops or scope.depth) and self.r() < 0.15:
            return [f"{pad}return {self.return_value(scope)}"], True
        cond = self.condition(scope)
        return [f"{pad}if {cond}:", f"{pad}    return {self.return_value(scope)}"], False

    def st_try(self, scope, indent):
        """A ``try`` around constants (srcdiff runs it as written): some raise and are
        caught; it reads int variables (loop counters, int parameters) and constants,
        and assigns a read-only name within [-2, 2] that later statements read."""
        rng = self.try_rng
        pad, inner = " " * indent, " " * (indent + 4)
        earlier = [n for n, v in scope.vars.items() if v.readonly and n in scope.bound
                   and n.startswith("caught")]
        if earlier and rng.random() < 0.6:  # overwritten: the backward sweep read the old
            name = rng.choice(sorted(earlier))
            self.feat("try_overwrites")
        else:
            name = self.fresh("caught")
        ints = [v.name for v in scope.readable(ints=True)]
        index = rng.choice(ints) if ints and rng.random() < 0.8 else str(rng.randint(-3, 5))
        c = [round(rng.uniform(0.5, 2.0), 3) * rng.choice([-1, 1]) for _ in range(4)]
        kind = rng.choice(["division", "parse", "index", "key", "import", "raise",
                           "else_finally", "nested"])
        self.feat("try_" + kind)
        if kind == "division":  # |c0 / n| <= |c0| for a nonzero integer n
            body = [f"{name} = {c[0]} / ({index} - {rng.randint(0, 3)})"]
            handlers = [("ZeroDivisionError", [f"{name} = {c[1]}"])]
        elif kind == "parse":
            text = rng.choice([str(c[0]), "two", f"{c[0]}e0", ""])
            body = [f"{name} = float({text!r})"]
            handlers = [("ValueError", [f"{name} = {c[1]}"])]
        elif kind == "index":
            body = [f"{name} = ({c[0]}, {c[1]}, {c[2]})[{index} % 5 - {rng.randint(0, 4)}]"]
            handlers = [("IndexError", [f"{name} = {c[3]}"])]
        elif kind == "key":
            body = [f"{name} = {{0: {c[0]}, 2: {c[1]}}}[{index} % 4]"]
            missing = self.fresh("missing")
            handlers = [(f"KeyError as {missing}",
                         [f"{name} = {c[2]} + 0.0 * len(str({missing}))"])]
        elif kind == "import":
            module = rng.choice(["math", "no_such_module_for_srcdiff"])
            body = [f"import {module} as {name}_module",
                    f"{name} = {name}_module.cos({c[0]}) * {abs(c[1])}"]
            handlers = [("ImportError", [f"{name} = {c[2]}"])]
        elif kind == "raise":
            body = [f"{name} = {c[0]}",
                    f"if {index} % 2 == 0:",
                    f"    raise ValueError({index})"]
            handlers = [("(ValueError, TypeError)", [f"{name} = {c[1]}"])]
        elif kind == "else_finally":
            counted = self.fresh("tries")
            lines = [f"{pad}{counted} = 0", f"{pad}try:",
                     f"{inner}{name} = {c[0]} / ({index} % 3)",
                     f"{pad}except ZeroDivisionError:", f"{inner}{name} = {c[1]}",
                     f"{pad}else:", f"{inner}{name} = {name} * 0.5",
                     f"{inner}{counted} = {counted} + 1",
                     f"{pad}finally:", f"{inner}{counted} = {counted} + 2"]
            self.declare(scope, name, Interval(-2.0, 2.0))
            scope.vars[name].readonly = True
            scope.bound.add(name)
            return lines, False
        else:  # nested: the inner handler raises what the outer one catches
            body = ["try:", f"    {name} = {c[0]} / ({index} % 2)",
                    "except ZeroDivisionError:", f"    {name} = int('x')"]
            handlers = [("ValueError", [f"{name} = {c[1]}"])]
        lines = [f"{pad}try:"] + [inner + line for line in body]
        for caught, statements in handlers:
            lines.append(f"{pad}except {caught}:")
            lines += [inner + line for line in statements]
        self.declare(scope, name, Interval(-2.0, 2.0))
        scope.vars[name].readonly = True
        scope.bound.add(name)
        return lines, False

    def st_raise(self, scope, indent):
        """``if <test>: raise E(<message>)``, the message marked "fuzz:" (the harness
        then asks the gradient for the same exception, message included): mostly a test
        the values never pass (a bound beyond the variable's interval, a nan test), so
        the gradient is compared; sometimes a condition that may hold. The message reads
        the values as written (f-strings, str, type(...).__name__); a value may be
        computed in the branch first."""
        rng = self.raise_rng
        pad, inner = " " * indent, " " * (indent + 4)
        floats = sorted(scope.readable(), key=lambda v: v.name)
        ints = sorted(scope.readable(ints=True), key=lambda v: v.name)
        if not floats:
            return [f"{pad}if {ints[0].name if ints else 0} > 99:",
                    f'{inner}raise RuntimeError("fuzz: never")'], False
        var = rng.choice(floats)
        roll = rng.random()
        if roll < 0.25:
            self.feat("raise_may_fire")
            test = self.condition(scope)
        elif roll < 0.6:
            self.feat("raise_bound")
            test = rng.choice([f"{var.name} > {fmt(var.iv.hi + 1.0)}",
                               f"abs({var.name}) > {fmt(max(abs(var.iv.lo), abs(var.iv.hi)) + 1.0)}",
                               f"not {var.name} <= {fmt(var.iv.hi + 0.5)}"])
        elif roll < 0.8 or not ints:
            self.feat("raise_nan")
            test = rng.choice([f"{var.name} != {var.name}", f"{self.m('isnan')}({var.name})"])
        else:
            self.feat("raise_int")
            counter = rng.choice(ints)
            test = f"{counter.name} > 99 and {var.name} > 0"
        lines = [f"{pad}if {test}:"]
        shown = var.name
        if rng.random() < 0.3:
            shown = self.fresh("shown")
            lines.append(f"{inner}{shown} = {var.name} * 2.0 + 1.0")
            self.feat("raise_computes")
        kind = rng.choice(["ValueError", "ArithmeticError", "OverflowError", "RuntimeError"])
        message = rng.choice([f'f"fuzz: {shown} = {{{shown}!r}}"',
                              f'"fuzz: " + str({shown})',
                              f'f"fuzz: {{type({shown}).__name__}} {{{shown}:.3f}}"',
                              f'"fuzz: {var.name} out of range"'])
        lines.append(f"{inner}raise {kind}({message})")
        self.feat("raise")
        return lines, False

    def st_print(self, scope, indent):
        self.print_budget -= 1
        floats = scope.readable()
        self.feat("print")
        if not floats:
            return [" " * indent + 'print("step")'], False
        var = self.choice(floats)
        style = self.identity_rng.random()
        if style < 0.4:
            self.feat("print_fstring")
            return [" " * indent + f'print(f"{var.name} = {{{var.name}:.3f}} ({{2 * {var.name}!r}})", '
                    f'end="\\n", sep=" ")'], False
        if style < 0.6:
            self.feat("assert_message")
            return [" " * indent + f'assert {var.name} == {var.name} or {var.name} != {var.name}, '
                    f'f"{var.name} is {{{var.name}}}"'], False
        return [" " * indent + f'print("{var.name} =", {var.name})'], False

    # -- lists, comprehensions and reductions -------------------------------------------
    def element(self, scope: Scope, variables: list[tuple[str, Interval, bool]]) -> Expr:
        """An element expression in [-2, 2] that may read the comprehension's variables
        (name, interval, is_int), visible only while it is drawn."""
        saved = {name: scope.vars.get(name) for name, _, _ in variables}
        bound = set(scope.bound)
        for name, iv, is_int in variables:
            scope.vars[name] = Var(name, iv, is_int=is_int, readonly=True)
            scope.bound.add(name)
        try:
            must = variables[0][0] if variables and self.r() < 0.8 else None
            e = self.expr(scope, self.rng.randint(1, 2), must=must)
            return self.squash_into(e, Interval(-2.0, 2.0))
        finally:
            scope.bound = bound
            for name, old in saved.items():
                if old is None:
                    scope.vars.pop(name, None)
                else:
                    scope.vars[name] = old

    def source(self, scope: Scope, static: bool):
        """What a comprehension goes over: (its text, its variables, how many values at
        most, whether that many for sure)."""
        k = self.fresh("k")
        ints = scope.readable(ints=True)
        roll = self.r()
        if not static and ints and roll < 0.3:
            self.feat("sum_dynamic")
            return f"range({self.choice(ints).name})", [(k, LOOP_INDEX, True)], 4, False
        if roll < 0.55:
            count = self.rng.randint(1, 4)
            return f"range({count})", [(k, LOOP_INDEX, True)], count, True
        values = [self.constant(-1.5, 1.5) for _ in range(self.rng.randint(1, 4))]
        iv = Interval(min(values), max(values))
        literal = "(" + ", ".join(fmt(v) for v in values) + ("," if len(values) == 1 else "") + ")"
        w = self.fresh("w")
        if roll < 0.8:
            return literal, [(w, iv, False)], len(values), True
        self.feat("zip_generator")
        others = [self.constant(-1.5, 1.5) for _ in values]
        second = "(" + ", ".join(fmt(v) for v in others) + ("," if len(others) == 1 else "") + ")"
        d = self.fresh("d")
        return (f"zip({literal}, {second})", [(w, iv, False),
                                              (d, Interval(min(others), max(others)), False)],
                len(values), True)

    def target_of(self, variables) -> str:
        return ", ".join(name for name, _, _ in variables)

    def st_list(self, scope: Scope, indent: int):
        pad = " " * indent
        kind = self.choice(["sum", "sum", "min_max", "prod", "any_all", "append", "literal",
                            "comprehension", "nested", "helper"])
        name = self.fresh()
        lines: list[str] = []
        if kind in ("sum", "min_max", "prod", "any_all"):
            text, variables, count, sure = self.source(scope, static=kind == "min_max")
            e = self.element(scope, variables)
            condition = ""
            if kind == "sum" and self.r() < 0.3:
                self.feat("sum_condition")
                condition = f" if {variables[0][0]} > {fmt(self.constant(-1.0, 1.0))}"
            generator = f"{e.code} for {self.target_of(variables)} in {text}{condition}"
            if kind == "sum":
                self.feat("sum_generator")
                brackets = f"[{generator}]" if self.r() < 0.3 else generator
                value, iv = f"sum({brackets})", Interval(-2.0 * count, 2.0 * count)
                if sure and not condition and self.fsum_rng.random() < 0.3:
                    self.feat("fsum_generator")  # elements known: one exactly rounded sum
                    value = f"{self.m('fsum')}({brackets})"
            elif kind == "min_max":
                self.feat("min_max_generator")
                value, iv = f"{self.choice(['min', 'max'])}({generator})", Interval(-2.0, 2.0)
            elif kind == "prod":
                self.feat("prod_generator")
                value = f"{self.m('prod')}(1.0 + 0.25 * ({e.code}) for {self.target_of(variables)} in {text})"
                iv = Interval(0.5 ** count, 1.5 ** count)
            else:
                self.feat("any_all")
                test = f"{e.code} > {fmt(self.constant(-1.0, 1.0))} for {self.target_of(variables)} in {text}"
                yes, no = self.value_for(scope, Interval(-2.0, 2.0), 1), self.value_for(
                    scope, Interval(-2.0, 2.0), 1)
                value = f"({yes.code} if {self.choice(['any', 'all'])}({test}) else {no.code})"
                iv = Interval(-2.0, 2.0)
            lines.append(f"{pad}{name} = {value}")
        elif kind in ("append", "comprehension", "nested"):
            # (its own stream: other programs unchanged) a list whose length is known only
            # when the program runs: over range(n), or with a condition
            grown = kind != "nested" and self.grown_rng.random() < GROWN_RATE
            text, variables, count, sure = self.source(scope, static=not grown)
            e = self.element(scope, variables)
            values = self.fresh(self.choice(["out", "terms", "values"]))
            condition = ""
            if grown and self.grown_rng.random() < 0.5:
                condition = f"{variables[0][0]} > {fmt(round(self.grown_rng.uniform(-1.0, 1.0), 2))}"
            if grown and (condition or not sure):
                self.feat("grown_list")
            if kind == "append":
                self.feat("list_append")
                lines += self.append_loop(pad, values, f"{self.target_of(variables)} in {text}",
                                          e.code, condition)
            elif kind == "comprehension":
                self.feat("list_comprehension")
                test = f" if {condition}" if condition else ""
                lines.append(f"{pad}{values} = [{e.code} for {self.target_of(variables)} in {text}{test}]")
            else:
                self.feat("list_of_lists")
                lines.append(f"{pad}{values} = [[{e.code}, 0.5 * ({e.code})] for "
                             f"{self.target_of(variables)} in {text}]")
                use = self.choice([f"sum(row[0] - row[1] for row in {values})",
                                   f"{values}[0][1] + {values}[-1][0]"])
                lines.append(f"{pad}{name} = {use}")
                self.declare(scope, name, Interval(-2.0 * count, 2.0 * count))
                scope.bound.add(name)
                return lines, False
            use = self.choice(["sum", "mean", "ends", "max", "loop"])
            if (condition or not sure) and use in ("mean", "ends", "max"):
                use = "counted"  # it may be empty
            if use == "counted":
                self.feat("grown_counted")
                lines.append(f"{pad}{name} = sum({values}) + 0.25 * len({values})")
                iv = Interval(-2.0 * count, 2.25 * count)
            elif use == "sum":
                total = "sum"
                if self.fsum_rng.random() < 0.3:
                    self.feat("fsum_list")
                    total = self.m("fsum")
                lines.append(f"{pad}{name} = {total}({values})")
                iv = Interval(-2.0 * count, 2.0 * count)
            elif use == "mean":
                lines.append(f"{pad}{name} = sum({values}) / len({values})")
                iv = Interval(-2.0, 2.0)
            elif use == "ends":
                lines.append(f"{pad}{name} = {values}[0] * {values}[-1]")
                iv = Interval(-4.0, 4.0)
            elif use == "max":
                lines.append(f"{pad}{name} = {self.choice(['min', 'max'])}({values})")
                iv = Interval(-2.0, 2.0)
            else:
                self.feat("loop_over_list")
                v = self.fresh("v")
                lines += [f"{pad}{name} = 0.0", f"{pad}for {v} in {values}:",
                          f"{pad}    {name} = 0.5 * {name} + {v}"]
                iv = Interval(-4.0, 4.0)
        elif kind == "literal":
            self.feat("list_literal")
            elements = [self.value_for(scope, Interval(-2.0, 2.0), 2) for _ in range(3)]
            pair = self.fresh(self.choice(["pair", "triple", "parts"]))
            open_, close = ("(", ")") if self.r() < 0.3 else ("[", "]")
            if open_ == "[" and self.repeat_rng.random() < REPEAT_RATE:
                # the same list, repeated from a constant first (its own stream)
                self.feat("list_repeated")
                fill = self.repeat_rng.choice(["[0.0] * 3", "3 * [0.5]", "[0.25] * 2 + [0.0]",
                                               "([0.5, 1.0] * 2)[1:]"])
                lines.append(f"{pad}{pair} = {fill}")
                lines += [f"{pad}{pair}[{k}] = {e.code}" for k, e in enumerate(elements)]
            else:
                lines.append(f"{pad}{pair} = {open_}{', '.join(e.code for e in elements)}{close}")
            ivs = [Interval(-2.0, 2.0)] * 3
            if open_ == "[" and self.r() < 0.4:
                self.feat("list_item_assignment")
                lines.append(f"{pad}{pair}[1] = {pair}[0] - {pair}[2]")
                ivs[1] = Interval(-4.0, 4.0)
            if self.r() < 0.4:
                self.feat("list_unpack")
                a, b, c = self.fresh(), self.fresh(), self.fresh()
                lines.append(f"{pad}{a}, {b}, {c} = {pair}")
                for var, iv in zip((a, b, c), ivs):
                    self.declare(scope, var, iv)
                    scope.bound.add(var)
                lines.append(f"{pad}{name} = {a} * {c} + {b}")
                iv = Interval(-8.0, 8.0)
            else:
                star = self.star_rng.random()  # its own stream: other programs unchanged
                if star < 0.15:
                    self.feat("starred_unpack")
                    first, rest = self.fresh(), self.fresh("rest")
                    lines += [f"{pad}{first}, *{rest} = {pair}",
                              f"{pad}{name} = {first} * sum({rest}) + len({rest})"]
                    self.declare(scope, first, Interval(-2.0, 2.0))
                    scope.bound.add(first)
                    iv = Interval(-12.0, 14.0)
                elif star < 0.3:
                    self.feat("starred_call")
                    lines.append(f"{pad}{name} = {self.m('atan2')}(*{pair}[:2]) + {pair}[2]")
                    iv = Interval(-5.2, 5.2)
                elif star < 0.45:
                    self.feat("starred_element")
                    lines.append(f"{pad}{name} = sum([*{pair}, 0.5]) * 0.25")
                    iv = Interval(-2.5, 2.5)
                elif star < 0.6:  # at a position known when the program runs
                    self.feat("list_position")
                    sign = "-1 - " if self.star_rng.random() < 0.3 else ""
                    lines.append(f"{pad}{name} = {pair}[{sign}int(abs({pair}[0]) * 7.0) % 3] "
                                 f"+ len({pair})")
                    iv = Interval(-1.0, 7.0)
                elif self.fsum_rng.random() < 0.3:
                    self.feat("fsum_literal")  # 1e16 and -1e16 cancel exactly in fsum
                    lines.append(f"{pad}{name} = {self.m('fsum')}([*{pair}, 1e16, "
                                 f"{pair}[0] * {pair}[1], -1e16]) - len({pair})")
                    iv = Interval(-19.0, 13.0)
                else:
                    lines.append(f"{pad}{name} = {pair}[0] * {pair}[-1] + {pair}[1] + len({pair})")
                    iv = Interval(-5.0, 11.0)
                if self.star_rng.random() < 0.25:  # a dict made of it: adds at most 1.25
                    lines += self.dict_lines(pad, pair, name)
                    iv = Interval(iv.lo - 1.25, iv.hi + 1.25)
                if self.star_rng.random() < 0.3:
                    self.feat("del_name")  # nothing reads it again: it is not in scope
                    lines.append(f"{pad}del {pair}")
        else:  # a list given to a helper of its own
            self.feat("list_to_helper")
            helper = self.fresh("total")
            self.helpers.append(f"def {helper}(values):\n    result = 0.0\n"
                                "    for value in values:\n        result = result + value\n"
                                "    return result / len(values)\n")
            elements = [self.value_for(scope, Interval(-2.0, 2.0), 1)
                        for _ in range(self.rng.randint(1, 3))]
            lines.append(f"{pad}{name} = {helper}([{', '.join(e.code for e in elements)}])")
            iv = Interval(-2.0, 2.0)
        self.declare(scope, name, iv)
        scope.bound.add(name)
        return lines, False

    def dict_lines(self, pad, pair, name):
        """A dict with constant keys made of ``pair``'s elements (each within [-4, 4]),
        read by key, looped over or given to a helper, added to ``name`` (at most 1.25
        in size: c = ab/4 is within [-2, 2])."""
        d = self.fresh("params")
        self.feat("dict_made")
        literal = (f'{{"a": {pair}[0], "b": {pair}[1]}}' if self.star_rng.random() < 0.5
                   else f"dict(a={pair}[0], b={pair}[1])")
        lines = [f"{pad}{d} = {literal}", f'{pad}{d}["c"] = 0.25 * {d}["a"] * {d}["b"]']
        use = self.star_rng.choice(["values", "loop", "helper"])
        if use == "values":
            value = f"0.125 * sum({d}.values())"
        elif use == "loop":
            k = self.fresh("k")
            lines += [f"{pad}{d}_total = 0.0", f"{pad}for {k} in {d}:",
                      f"{pad}    {d}_total = {d}_total + 0.125 * {d}[{k}]"]
            value = f"{d}_total"
        else:
            self.feat("dict_to_helper")
            helper = self.fresh("combine")
            self.helpers.append(f"def {helper}(p):\n    return 0.5 * p[\"a\"] - 0.125 * "
                                "p[\"c\"]\n")
            value = f"{helper}({d})"
        lines.append(f"{pad}{name} = {name} + {value}")
        return lines

    # -- templates: the loops people write -----------------------------------------
    def st_template(self, scope, indent):
        kind = self.choice(["logistic", "continued_fraction", "horner", "cube", "newton",
                            "bisection"])
        return getattr(self, "tpl_" + kind)(scope, indent), False

    def source_value(self, scope, target):
        return self.value_for(scope, target, 1)

    def tpl_logistic(self, scope, indent):
        pad = " " * indent
        p, rate = self.fresh(), self.fresh()
        start = self.squash_into(self.expr(scope, 1), UNIT)
        rr = self.squash_into(self.expr(scope, 1), UNIT)
        count = self.rng.randint(1, 4)
        var = self.loop_name(scope)
        self.declare(scope, p, Interval(0.0, 1.0))
        self.declare(scope, rate, Interval(2.5, 3.9))
        scope.bound.update([p, rate])
        self.feat("logistic")
        self.feat("loop_self_update")
        scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
        return [f"{pad}{p} = 0.5 + 0.4 * {par(start)}",
                f"{pad}{rate} = 3.2 + 0.7 * {self.m('sin')}({start.code if self.r() < 0.3 else rr.code})",
                f"{pad}for {var} in range({count}):",
                f"{pad}    {p} = {rate} * {p} * (1 - {p})"]

    def tpl_continued_fraction(self, scope, indent):
        pad = " " * indent
        s, x = self.fresh(), self.fresh()
        base = self.expr(scope, 1)
        self.declare(scope, s, Interval(0.0, 1.0))
        x_iv = self.positive(base, 0.05)
        xcode = f"1.0 + {par(x_iv)}"
        self.declare(scope, x, Interval(1.0, 1.0 + x_iv.iv.hi))
        scope.bound.update([s, x])
        self.feat("continued_fraction")
        count = self.int_expr(scope).code
        var = self.loop_name(scope)
        scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
        return [f"{pad}{x} = {xcode}", f"{pad}{s} = 0.5",
                f"{pad}for {var} in range({count}):", f"{pad}    {s} = 1 / ({s} + {x})"]

    def tpl_horner(self, scope, indent):
        pad = " " * indent
        s, x = self.fresh(), self.fresh()
        base = self.expr(scope, 1)
        self.declare(scope, x, Interval(-0.5, 0.5))
        self.declare(scope, s, Interval(-4.0, 4.0))
        scope.bound.update([s, x])
        self.feat("horner")
        self.feat("loop_self_update")
        if self.global_tuples and self.r() < 0.5:
            name = self.choice(sorted(self.global_tuples))
            coefficients = name
            self.feat("global_tuple")
        else:
            values = [self.constant(-1.5, 1.5) for _ in range(self.rng.randint(2, 4))]
            coefficients = "(" + ", ".join(fmt(v) for v in values) + ")"
        c = self.fresh("c")
        scope.vars[c] = Var(c, Interval(-2.0, 2.0))
        return [f"{pad}{x} = 0.5 * {self.m('tanh')}({base.code})", f"{pad}{s} = 0.0",
                f"{pad}for {c} in {coefficients}:", f"{pad}    {s} = ({s} + {c}) * {x}"]

    def tpl_cube(self, scope, indent):
        pad = " " * indent
        a = self.fresh()
        base = self.expr(scope, 1)
        self.declare(scope, a, Interval(-0.95, 0.95))
        scope.bound.add(a)
        self.feat("cube_update")
        var = self.loop_name(scope)
        scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
        update = self.choice([f"{a} = {a} * {a} * {a}", f"{a} = {a} ** 3", f"{a} = {a} * {a}",
                              f"{a} **= 3", f"{a} **= 2"])
        if "**=" in update:
            self.feat("augassign:**=")
        return [f"{pad}{a} = 0.95 * {self.m('tanh')}({base.code})",
                f"{pad}for {var} in range({self.rng.randint(1, 4)}):",
                f"{pad}    {update}"]

    def tpl_newton(self, scope, indent):
        pad = " " * indent
        y, c = self.fresh(), self.fresh()
        base = self.expr(scope, 1)
        self.declare(scope, c, Interval(1.0, 3.0))
        self.declare(scope, y, Interval(1.0, 4.0))
        scope.bound.update([y, c])
        self.feat("newton")
        self.feat("loop_self_update")
        var = self.loop_name(scope)
        scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
        return [f"{pad}{c} = 2.0 + {self.m('sin')}({base.code})", f"{pad}{y} = 1.0 + {c}",
                f"{pad}for {var} in range({self.int_expr(scope).code}):",
                f"{pad}    {y} = 0.5 * ({y} + {c} / {y})"]

    def tpl_bisection(self, scope, indent):
        pad = " " * indent
        lo, hi, mid, target = self.fresh("lo"), self.fresh("hi"), self.fresh("mid"), self.fresh()
        base = self.expr(scope, 1)
        for name, iv in ((lo, Interval(0.0, 3.0)), (hi, Interval(0.0, 3.0)),
                         (mid, Interval(0.0, 3.0)), (target, Interval(1.0, 3.0))):
            self.declare(scope, name, iv)
        self.feat("bisection")
        self.feat("self_copy")
        self.feat("swap")
        lines = [f"{pad}{target} = 2.0 + {self.m('sin')}({base.code})",
                 f"{pad}{lo}, {hi} = 0.0, 3.0", f"{pad}{mid} = 0.5 * ({lo} + {hi})"]
        if self.r() < 0.5:
            var = self.loop_name(scope)
            scope.vars[var] = Var(var, LOOP_INDEX, is_int=True, readonly=True)
            lines.append(f"{pad}for {var} in range({self.rng.randint(1, 4)}):")
        else:
            counter = self.fresh("count")
            scope.vars[counter] = Var(counter, Interval(0, 6), is_int=True, readonly=True)
            lines.insert(0, f"{pad}{counter} = 0")
            lines.append(f"{pad}while {hi} - {lo} > 0.01 and {counter} < 6:")
            lines.append(f"{pad}    {counter} += 1")
            self.feat("while")
            scope.bound.add(counter)
        lines += [f"{pad}    {mid} = 0.5 * ({lo} + {hi})",
                  f"{pad}    if {mid} * {mid} > {target}:",
                  f"{pad}        {lo}, {hi} = {lo}, {mid}",
                  f"{pad}    else:",
                  f"{pad}        {lo}, {hi} = {mid}, {hi}"]
        scope.bound.update([lo, hi, mid, target])
        return lines

    # -- helpers ---------------------------------------------------------------------
    def make_helpers(self):
        count = self.rng.choice([0, 0, 1, 1, 1, 2, 2, 3])
        kinds = ["generic", "generic", "generic", "tuple", "recursive", "ident", "clip",
                 "local_lambda", "nested_def", "module_lambda", "tree"]
        for _ in range(count):
            kind = self.choice(kinds)
            getattr(self, "helper_" + kind)()
        if self.flags_rng.random() < FLAG_RATE:  # its own stream
            self.helper_flag()
        if self.varargs_rng.random() < VARARGS_RATE:  # its own stream
            self.helper_varargs()

    def helper_flag(self):
        """A helper taking a string that says what it computes, as people write them:
        ``def activate(a, mode="tanh")``, tested by ``==``, ``in`` and ``!=`` (a raise for
        an unknown one), called with the default, a string or ``mode="..."``."""
        rng = self.flags_rng
        name = self.fresh(rng.choice(["activate", "transform", "squash"]))
        a, mode = self.fresh("a"), self.fresh("mode")
        options = ["tanh", "sin", "soft", "linear"]
        default = rng.choice(options)
        self.helpers.append(
            f'def {name}({a}, {mode}="{default}"):\n'
            f'    if {mode} == "tanh":\n        return {self.m("tanh")}({a})\n'
            f'    elif {mode} == "sin":\n        return {self.m("sin")}({a})\n'
            f'    if {mode} in ("soft", "softsign"):\n        return {a} / (1.0 + abs({a}))\n'
            f'    if {mode} != "linear":\n'
            f'        raise ValueError(f"unknown mode {{{mode}!r}}")\n'
            f'    return 0.25 * {a}\n')
        self.module_callables[name] = Sig(name, [a, mode], [HELPER_PARAM, None], UNIT, "flag",
                                          n_defaults=1, options=options)
        self.feat("string_flag")

    def helper_varargs(self):
        """A helper taking ``*args`` (srcdiff inlines it, ``*rest`` the tuple of a call's
        other arguments): a loop over them, or ``len`` and ``sum`` of them; called with one
        to four arguments, now and then some spread from a list (``total(u, *[v, w])``)."""
        rng = self.varargs_rng
        name = self.fresh(rng.choice(["total", "combine", "blend"]))
        a, rest, r, s = self.fresh("a"), self.fresh("rest"), self.fresh("r"), self.fresh("s")
        form = rng.random()
        if form < 0.4:  # |s| stays within |a|'s bound: each step halves it
            body = (f"    {s} = {a}\n    for {r} in {rest}:\n"
                    f"        {s} = 0.5 * {s} + 0.5 * {self.m('sin')}({r})\n    return {s}\n")
        elif form < 0.7:  # the last one if any: a branch on the tuple, decided per call
            self.feat("varargs_truth")
            body = f"    return 0.5 * {a} + (0.5 * {rest}[-1] if {rest} else 0.25)\n"
        else:  # |tanh| < 1, plus 0.1 times at most three arguments of HELPER_PARAM
            body = (f"    return {self.m('tanh')}({a}) * len({rest}) / (1.0 + len({rest})) "
                    f"+ 0.1 * sum({rest})\n")
        self.helpers.append(f"def {name}({a}, *{rest}):\n" + body)
        self.module_callables[name] = Sig(name, [a], [HELPER_PARAM], HELPER_PARAM, "varargs")
        self.feat("helper_varargs")

    def helper_scope(self, params, ivs, ret):
        scope = Scope(is_program=False, ret=ret)
        for p, iv in zip(params, ivs):
            scope.vars[p] = Var(p, iv)
            scope.bound.add(p)
        calls = list(self.module_callables.values())
        if calls:
            sig = self.choice(calls)
            scope.callables[sig.name] = sig
        return scope

    def helper_generic(self, tuple_result=False):
        name = self.fresh(self.choice(["helper", "f", "g", "step", "update", "smooth"]))
        count = self.rng.randint(1, 3)
        params = [self.fresh(self.choice(["a", "b", "c", "x", "y"])) for _ in range(count)]
        ivs = [HELPER_PARAM] * count
        n_defaults = self.rng.randint(0, count) if self.r() < 0.5 else 0
        defaults = {p: fmt(self.constant(-1.0, 1.0)) for p in params[count - n_defaults:]}
        ret = (HELPER_PARAM, HELPER_PARAM) if tuple_result else HELPER_PARAM
        scope = self.helper_scope(params, ivs, ret)
        before = set(scope.callables)
        body, term = self.block(scope, 4, count=self.rng.randint(1, 3))
        if any(line.lstrip().startswith(("for ", "while ")) for line in body):
            self.feat("helper_loop")
        if not term:
            body.append(f"    return {self.return_value(scope)}")
        if any(f"{c}(" in "\n".join(body) for c in before):
            self.feat("helper_calls_helper")
        signature = ", ".join(p + (f"={defaults[p]}" if p in defaults else "") for p in params)
        self.helpers.append(f"def {name}({signature}):\n" + "\n".join(body) + "\n")
        sig = Sig(name, params, ivs, ret, "tuple_helper" if tuple_result else "helper",
                  n_defaults=n_defaults)
        self.module_callables[name] = sig
        self.feat("tuple_return" if tuple_result else "helper")

    def helper_tuple(self):
        self.helper_generic(tuple_result=True)

    def helper_recursive(self):
        name = self.fresh(self.choice(["rec", "descend", "unroll"]))
        a, k = self.fresh("a"), self.fresh("k")
        f1 = self.choice(["sin", "tanh", "atan", "cos"])
        f2 = self.choice(["cos", "sin", "tanh", "erf"])
        base = self.choice([f"{self.m('tanh')}({a})", f"0.5 * {a} / (1.0 + {a} * {a})",
                            f"{self.m('sin')}({a})"])
        step = self.choice([f"{self.m(f1)}({a}) + 0.3 * {a}", f"0.5 * {a} + 0.25",
                            f"{self.m(f1)}({a} * 1.5)"])
        # |base| <= 1, |step| <= 1 + 0.3 * 4; result: 0.5 * rec + 0.5 * [-1, 1] stays in [-1, 1]
        self.helpers.append(
            f"def {name}({a}, {k}):\n    if {k} <= 0:\n        return {base}\n"
            f"    return 0.5 * {name}({step}, {k} - 1) + 0.5 * {self.m(f2)}({a})\n")
        self.module_callables[name] = Sig(name, [a, k], [HELPER_PARAM, LOOP_INDEX], UNIT,
                                          "rec", int_params=[1])
        self.feat("recursion")

    def helper_tree(self):
        name = self.fresh("tree")
        a, k = self.fresh("a"), self.fresh("k")
        self.helpers.append(
            f"def {name}({a}, {k}):\n    if {k} < 1:\n        return {self.m('tanh')}({a})\n"
            f"    left = {name}({a} * 0.5, {k} - 1)\n"
            f"    return 0.5 * left + 0.5 * {name}({self.m('sin')}({a}), {k} - 2)\n")
        self.used.add("left")
        self.module_callables[name] = Sig(name, [a, k], [HELPER_PARAM, LOOP_INDEX], UNIT,
                                          "rec", int_params=[1])
        self.feat("recursion")
        self.feat("tree_recursion")

    def helper_ident(self):
        if "ident" in self.module_callables:
            return
        self.helpers.append("def ident(a):\n    return a\n")
        self.used.add("a")
        self.module_callables["ident"] = Sig("ident", ["a"], [HELPER_PARAM], HELPER_PARAM, "ident")
        self.feat("ident")

    def helper_clip(self):
        if "clip" in self.module_callables:
            return
        v, lo, hi = self.fresh("v"), self.fresh("lo"), self.fresh("hi")
        self.helpers.append(f"def clip({v}, {lo}, {hi}):\n    if {v} < {lo}:\n        return {lo}\n"
                            f"    if {v} > {hi}:\n        return {hi}\n    return {v}\n")
        self.module_callables["clip"] = Sig("clip", [v, lo, hi], [HELPER_PARAM] * 3,
                                            HELPER_PARAM, "clip")
        self.feat("clip")

    def helper_local_lambda(self):
        name = self.fresh("callee")
        a, sq, t = self.fresh("a"), self.fresh("sq"), self.fresh("t")
        body = self.choice([f"{t} * {t} + 0.5", f"{self.m('sin')}({t}) * {t}",
                            f"{self.m('tanh')}({t} * 2.0)"])
        # |t| <= 4: t*t + 0.5 <= 16.5; the result squashed
        self.helpers.append(f"def {name}({a}):\n    {sq} = lambda {t}: {body}\n"
                            f"    return {self.m('tanh')}({sq}({a}) - {sq}({a} * 0.5))\n")
        self.module_callables[name] = Sig(name, [a], [HELPER_PARAM], UNIT, "helper")
        self.feat("callee_local_lambda")

    def helper_nested_def(self):
        name = self.fresh("callee")
        a, b, inner, t = self.fresh("a"), self.fresh("b"), self.fresh("inner"), self.fresh("t")
        self.helpers.append(
            f"def {name}({a}, {b}):\n    def {inner}({t}):\n"
            f"        return {self.m('sin')}({t}) * {b}\n"
            f"    return 0.5 * ({inner}({a}) + {inner}({a} + 1.0))\n")
        self.module_callables[name] = Sig(name, [a, b], [HELPER_PARAM, HELPER_PARAM],
                                          HELPER_PARAM, "helper")
        self.feat("callee_nested_def")

    def helper_module_lambda(self):
        name = self.fresh(self.choice(["sq", "soft", "bump"]))
        t = self.fresh("t")
        body, iv = self.choice([(f"{t} * {t} * 0.25", Interval(0.0, 4.0)),
                                (f"{self.m('log1p')}({t} * {t})", Interval(0.0, math.log1p(16))),
                                (f"{t} / (1.0 + abs({t}))", UNIT)])
        self.helpers.append(f"{name} = lambda {t}: {body}\n")
        self.module_callables[name] = Sig(name, [t], [HELPER_PARAM], iv, "lambda")
        self.feat("module_lambda")

    # -- closures inside program -----------------------------------------------------
    def closure(self, scope: Scope, indent: int, name=None):
        """``name = lambda ...`` or ``def name(...)`` at the top of program's body."""
        pad = " " * indent
        rebind = name is not None
        name = name or self.fresh(self.choice(["g", "f", "phi", "k"]))
        arity = len(scope.callables[name].params) - scope.callables[name].n_defaults if rebind \
            else self.rng.randint(1, 2)
        params = [self.fresh(self.choice(["y", "t", "z"])) for _ in range(arity)]
        ivs = [HELPER_PARAM] * len(params)
        capture = None
        floats = [v for v in scope.readable() if v.budget is None]
        if floats and self.r() < 0.3:
            captured = self.choice(floats)
            capture = (self.fresh("k"), captured)
            self.feat("default_capture")
        inner = Scope(is_program=False, outer=(dict(scope.vars), set(scope.bound)))
        for p, iv in zip(params, ivs):
            inner.vars[p] = Var(p, iv)
            inner.bound.add(p)
        if capture:
            inner.vars[capture[0]] = Var(capture[0], capture[1].iv)
            inner.bound.add(capture[0])
        signature = ", ".join(params) + (f", {capture[0]}={capture[1].name}" if capture else "")
        if self.r() < 0.55:
            e = self.squash_into(self.expr(inner, 2), Interval(-4.0, 4.0))
            lines = [f"{pad}{name} = lambda {signature}: {e.code}"]
            ret = e.iv
            self.feat("lambda")
        else:
            inner.ret = HELPER_PARAM
            if not rebind and self.tuple_rng.random() < 0.25:  # returns a tuple
                inner.ret = (HELPER_PARAM, HELPER_PARAM)
            # module helpers only: closures calling closures could form a cycle once rebound
            inner.callables = {k: v for k, v in self.module_callables.items()
                               if v.kind != "rec" and k != name}
            body, term = self.block(inner, indent + 4, count=self.rng.randint(1, 2))
            if not term:
                body.append(f"{pad}    return {self.return_value(inner)}")
            lines = [f"{pad}def {name}({signature}):"] + body
            ret = inner.ret
            self.feat("nested_def")
        reads = inner.reads_outer
        if reads:
            self.feat("closure_late")
        tuple_def = isinstance(ret, tuple)  # never rebound: its callers unpack it
        if tuple_def:
            self.feat("nested_def_tuple")
        ret = ret if tuple_def else HELPER_PARAM  # a later rebinding may return anything
        sig = Sig(name, params, ivs, ret, "tuple_closure" if tuple_def else "closure",
                  n_defaults=1 if capture else 0, reads=reads)
        if capture:
            sig.params = params + [capture[0]]
            sig.ivs = ivs + [capture[1].iv]
            sig.n_defaults = 1
        if rebind:
            self.feat("rebind")
        scope.callables[name] = sig
        return lines

    def st_tuple_closure(self, scope, indent):
        """``x1, x0 = x0 * 0.5, g(1.0)``: g reads x1 before the assignment changes it."""
        pad = " " * indent
        for sig in scope.callables.values():
            if sig.kind != "closure" or not sig.reads or isinstance(sig.ret, tuple):
                continue
            read = self.choice(sorted(sig.reads))
            var = scope.vars.get(read)
            if var is None or var.is_int or var.readonly or var.budget is not None:
                continue
            others = [v for v in self.writable(scope) if v.name != read and v.budget is None]
            first = self.value_for(scope, var.iv, 1)
            call = self.call(scope, sig, 2)
            if others and self.r() < 0.6:
                other = self.choice(others)
                second = self.squash_into(call, other.iv)
                target = other.name
            else:
                target = self.fresh()
                second = self.squash_into(call, Interval(-NEW_VAR_LIMIT, NEW_VAR_LIMIT))
                self.declare(scope, target, second.iv.hull(Interval(-2.0, 2.0)))
                scope.bound.add(target)
            self.feat("tuple_assign_closure")
            return [f"{pad}{read}, {target} = {first.code}, {second.code}"]
        return []

    # -- the module ------------------------------------------------------------------
    def make_global_tuple(self):
        name = self.fresh(self.choice(["COEFFS", "WEIGHTS", "DATA", "KNOTS"]))
        values = [self.constant(-1.5, 1.5) for _ in range(self.rng.randint(2, 4))]
        self.global_tuples[name] = values
        literal = ", ".join(fmt(v) for v in values)
        self.global_lines.append(f"{name} = ({literal})" if self.r() < 0.6 else f"{name} = [{literal}]")
        self.feat("global_tuple")
        return name

    def make_globals(self):
        if self.r() < 0.45:
            self.make_global_tuple()
        if self.r() < 0.3:
            name = self.fresh(self.choice(["SCALE", "RATE", "OFFSET"]))
            c = self.constant(-1.5, 1.5)
            self.global_numbers[name] = Interval(c)
            self.global_lines.append(f"{name} = {fmt(c)}")
        if self.r() < 0.2:
            name = self.choice(GLOBAL_TRICKY)
            if name not in self.used:
                self.used.add(name)
                c = self.constant(-1.5, 1.5)
                self.global_numbers[name] = Interval(c)
                self.global_lines.append(f"{name} = {fmt(c)}")

    def case(self) -> Case:
        rng = self.rng
        self.make_globals()
        self.make_helpers()
        n_inputs = rng.choice([1, 2, 2, 3, 3])
        params = [f"x{k}" for k in range(n_inputs)]
        self.used.update(params)
        has_n = rng.random() < 0.35
        scope = Scope(is_program=True)
        for p in params:
            scope.vars[p] = Var(p, PARAM_RANGE)
            scope.bound.add(p)
        if has_n:
            scope.vars["n"] = Var("n", LOOP_INDEX, is_int=True, readonly=True)
            scope.bound.add("n")
            self.feat("int_param")
        scope.callables = dict(self.module_callables)
        lines = []
        # closures at the top of the body
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            if rng.random() < 0.5:  # a local first, for closures to read
                lines += self.st_assign(scope, 4)[0]
            lines += self.closure(scope, 4)
        count = rng.randint(2, 5)
        for index in range(count):
            closures = [s for s in scope.callables.values() if s.kind == "closure"]
            roll = rng.random()
            if closures and roll < 0.08:
                lines += self.closure(scope, 4, name=self.choice(closures).name)
                continue
            if closures and roll < 0.2:
                new = self.st_tuple_closure(scope, 4)
                if new:
                    lines += new
                    continue
            new, terminated = self.statement(scope, 4)
            lines += new
            if terminated:
                break
        else:
            terms = [v for v in scope.readable() if v.name != "_"]
            picked = rng.sample(terms, min(len(terms), rng.randint(1, 3)))
            parts = [v.name for v in picked]
            if rng.random() < 0.6:
                parts.append(par(self.expr(scope, 2)))
            value = Expr(" + ".join(parts), Interval(-1e6, 1e6))
            if self.forever_rng.random() < FOREVER_RATE:
                # the last statement a `while True:` left only by `return` (its own stream)
                self.feat("while_true_return")
                counter, limit = self.fresh("spin"), self.forever_rng.randint(0, 3)
                lines += [f"    {counter} = 0", "    while True:", f"        {counter} += 1",
                          f"        if {self.condition(scope)}:",
                          f"            return {value.code}",
                          f"        if {counter} > {limit}:",
                          f"            return 0.5 * ({value.code})"]
            else:
                lines.append(f"    return {value.code}")
        point = [self.point_value() for _ in params]
        if self.r() < 0.06:
            point[rng.randrange(len(point))] = 0.0
            self.feat("zero_point")
        names = list(params)
        if has_n:
            names.append("n")
            point.append(rng.randint(0, 4))
        program = f"def program({', '.join(names)}):\n" + "\n".join(lines) + "\n"
        program, names = self.rename(program, names)
        if self.uses_marked:
            self.helpers.insert(0, f"@srcdiff.nondifferentiable\ndef {SNAP}(v):\n"
                                   f"    return {self.m('floor')}(v * 64.0) / 64.0\n")
        header = ["import math"]
        if self.math_style == "alias":
            header = ["import math as m"]
        if self.uses_stop or self.uses_marked:
            header.append("import srcdiff")
        if self.bare_used:
            header.append(f"from math import {', '.join(sorted(self.bare_used))}")
        module_text = "\n".join(self.global_lines) + "\n" + "\n".join(self.helpers) + program
        if not _word_used(module_text, "range") and self.r() < 0.7:
            self.global_lines.append(f"range = {fmt(self.constant(1.0, 3.0))}")
            self.feat("global_range")
        source = "\n".join(header) + "\n\n"
        if self.global_lines:
            source += "\n".join(self.global_lines) + "\n\n"
        for helper in self.helpers:
            source += "\n" + helper + "\n"
        source += "\n" + program
        wrt = tuple(k for k, v in enumerate(point) if isinstance(v, float))
        return Case("scalar", self.seed, source, tuple(point), wrt, tuple(names),
                    features=self.features)

    def point_value(self):
        value = self.rng.uniform(-1.5, 1.5)
        if abs(value) < 0.05:
            value = 0.3
        return value

    def rename(self, program: str, names: list):
        """Give some of program's locals (and rarely a parameter) the names srcdiff's
        generated code uses."""
        rng = self.rng
        lines = program.splitlines()
        body = "\n".join(lines[1:])
        module_text = "\n".join(self.global_lines) + "\n" + "\n".join(self.helpers) + "\n" + body
        locals_ = sorted({m.group(1) for m in re.finditer(r"^\s*([A-Za-z_]\w*)\s*=[^=]", body, re.M)}
                         - set(names) - set(self.global_numbers) - set(self.global_tuples))
        locals_ = [n for n in locals_ if n not in ("_",)]
        renames = {}
        if locals_ and (rng.random() < 0.45 or self.no_range):
            for old in rng.sample(locals_, min(len(locals_), rng.randint(1, 3))):
                new = self.choice(TRICKY)
                if self.no_range and "range" not in renames.values() and rng.random() < 0.7:
                    new = "range"
                elif rng.random() < 0.04:
                    new = "numpy"
                special = new in ("range", "numpy")  # builtins/modules: only program's own text
                text = body if special else module_text + "\n" + body
                if _word_used(text, new) or new in renames.values() or new in names \
                        or (new in self.used and not special):
                    continue
                renames[old] = new
                self.feat("tricky_local")
                if new == "range":
                    self.feat("local_range")
                if new == "numpy":
                    self.feat("local_numpy")
        if rng.random() < 0.08:
            floats = [n for n in names if n.startswith("x")]
            old = self.choice(floats)
            new = self.choice(PARAM_TRICKY)
            if not _word_used(module_text + body, new) and new not in renames.values():
                renames[old] = new
                names = [new if n == old else n for n in names]
                self.feat("tricky_param")
        for old, new in list(renames.items()):
            if re.search(rf"[(,]\s*{re.escape(old)}=(?!=)", program):
                # a keyword argument of that name (``update(x1=...)``) names the callee's
                # parameter, not this variable: renaming it would make the call invalid
                del renames[old]
                names = [old if n == new else n for n in names]
        # not an f-string's prefix (campaign seed 772263), nor its conversion (a local
        # ``r`` renamed inside ``{x0!r}``: scalar seed 851279 did not parse)
        for old, new in renames.items():
            program = re.sub(rf"(?<![\w.!]){re.escape(old)}\b(?![\"'])", new, program)
        return program, names


def _word_used(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(word)}\b", text) is not None


# -- the operator table ------------------------------------------------------------------


def op_arith(gen, scope, depth, must):
    a, b = gen.operands(scope, depth, must, 2)
    op = gen.choice(["+", "-", "*", "+", "*"])
    gen.feat({"+": "prim:add", "-": "prim:sub", "*": "prim:mul"}[op])
    iv = a.iv + b.iv if op == "+" else (a.iv - b.iv if op == "-" else a.iv * b.iv)
    return Expr(f"{par(a)} {op} {par(b)}", iv)


def op_div(gen, scope, depth, must):
    a, b = gen.operands(scope, depth, must, 2)
    b = gen.nonzero(b)
    gen.feat("prim:truediv")
    return Expr(f"{par(a)} / {par(b)}", a.iv / b.iv)


def op_pow(gen, scope, depth, must):
    gen.feat("prim:pow")
    roll = gen.r()
    ints = scope.readable(ints=True)
    if roll < 0.3 and ints:
        a = gen.sub(scope, depth, must)
        if not a.iv.finite(5.0):
            a = gen.bounded(a, 3.0)
        i = gen.choice(ints)
        if gen.r() < 0.15 and must is None:
            gen.feat("pow_index_zero_base")
            a = Expr(f"{par(a)} - {par(a)}", Interval(0.0)) if gen.r() < 0.5 else \
                Expr(f"0.0 * {par(a)}", Interval(0.0))
        gen.feat("pow_int_index")
        return Expr(f"{par(a)} ** {i.name}", a.iv.power_range(range(int(i.iv.lo), int(i.iv.hi) + 1)))
    if roll < 0.45:
        a = gen.sub(scope, depth, must)
        if not a.iv.finite(10.0):
            a = gen.bounded(a, 3.0)
        k = gen.choice([0, 1, 2, 2, 3])
        if gen.r() < 0.15 and must is None:
            gen.feat("pow_zero_base")
            a = Expr(f"{par(a)} - {par(a)}", Interval(0.0))
        return Expr(f"{par(a)} ** {k}", a.iv.power_int(k))
    if roll < 0.6:
        a = gen.positive(gen.sub(scope, depth, must))
        a = a if a.iv.finite(100.0) else gen.positive(gen.bounded(a, 3.0))
        c = gen.choice([0.5, 1.5, 2.5, -0.5, -1.0, 0.5])
        if c == 0.5:
            gen.feat("pow_half")
        return Expr(f"{par(a)} ** {fmt(c)}" if c > 0 else f"{par(a)} ** ({fmt(c)})",
                    pow_real(a.iv, Interval(c)))
    if roll < 0.7 and must is None:
        b = gen.positive(gen.sub(scope, depth))
        gen.feat("zero_pow")
        return Expr(f"0.0 ** {par(b)}", Interval(0.0))
    a, b = gen.operands(scope, depth, must, 2)
    a = gen.positive(a, 0.2)
    if not a.iv.finite(20.0):
        a = gen.positive(gen.bounded(a, 3.0), 0.2)
    b = gen.bounded(b, 2.0)
    if gen.r() < 0.3:
        gen.feat("prim:builtin_pow")
        return Expr(f"pow({a.code}, {b.code})", pow_real(a.iv, b.iv), True)
    return Expr(f"{par(a)} ** {par(b)}", pow_real(a.iv, b.iv))


def op_mod(gen, scope, depth, must):
    a, b = gen.operands(scope, depth, must, 2)
    # math.fmod in place of %, drawn from its own stream: other programs unchanged
    fmod = gen.fmod_rng.random() < FMOD_RATE
    if gen.r() < 0.5 or must is not None and "b" == "":
        c = gen.choice([1.0, 1.5, 0.75, 2.0])
        if fmod:
            return _fmod(gen, a, const(c), c)
        gen.feat("prim:mod")
        return Expr(f"{par(a)} % {fmt(c)}", Interval(0.0, c))
    b = gen.positive(b, 0.5)
    if fmod:
        return _fmod(gen, a, b, b.iv.hi)
    gen.feat("prim:mod")
    return Expr(f"{par(a)} % {par(b)}", Interval(0.0, b.iv.hi))


def _fmod(gen, a, b, bound):
    """``math.fmod(a, b)``, of ``a``'s sign and less than ``|b| <= bound`` in size; the
    divisor negated now and then (its sign does not matter), from fmod's own stream."""
    if gen.fmod_rng.random() < 0.3:
        gen.feat("fmod_negative_divisor")
        b = Expr(f"-{par(b)}", -b.iv)
    iv = Interval(-bound if a.iv.lo < 0 else 0.0, bound if a.iv.hi > 0 else 0.0)
    return gen.mcall("fmod", a, b, iv=iv)


def op_floordiv(gen, scope, depth, must):
    a = gen.sub(scope, depth, must)
    if not a.iv.finite(100):
        return None
    c = gen.choice([1.0, 0.5, 2.0])
    gen.feat("prim:floordiv")
    b = gen.sub(scope, depth)
    return Expr(f"{par(b)} * ({par(a)} // {fmt(c)})", b.iv * floor(a.iv / c))


def op_unary(gen, scope, depth, must):
    a = gen.sub(scope, depth, must)
    if gen.r() < 0.7:
        gen.feat("prim:neg")
        return Expr(f"-{par(a)}", -a.iv)
    gen.feat("prim:pos")
    return Expr(f"+{par(a)}", a.iv)


def op_abs(gen, scope, depth, must):
    a = gen.sub(scope, depth, must)
    if gen.r() < 0.6:
        gen.feat("prim:abs")
        return Expr(f"abs({a.code})", absolute(a.iv), True)
    return gen.mcall("fabs", a, iv=absolute(a.iv))


def op_minmax(gen, scope, depth, must):
    count = gen.choice([2, 2, 3])
    args = gen.operands(scope, depth, must, count)
    if must is None and gen.r() < 0.3:
        args[gen.rng.randrange(count)] = const(gen.constant(-1.0, 1.0))
    which = gen.choice(["min", "max"])
    gen.feat(f"prim:{which}{count}")
    iv = (minimum if which == "min" else maximum)(*[a.iv for a in args])
    return Expr(f"{which}({', '.join(a.code for a in args)})", iv, True)


def op_float(gen, scope, depth, must):
    a = gen.sub(scope, depth, must)
    gen.feat("prim:float")
    return Expr(f"float({a.code})", a.iv, True)


def op_cmp_number(gen, scope, depth, must):
    a, b = gen.operands(scope, depth, must, 2)
    c = gen.sub(scope, depth)
    gen.feat("prim:cmp_number")
    if gen.r() < 0.5:
        return Expr(f"{par(c)} * ({par(a)} > {par(b)})", c.iv.hull(Interval(0.0)) * Interval(0.0, 1.0))
    return Expr(f"float({par(a)} < {par(b)})", Interval(0.0, 1.0), True)


def op_ifexp(gen, scope, depth, must):
    a, b = gen.operands(scope, depth, must, 2)
    gen.feat("prim:ifexp")
    return Expr(f"{par(a)} if {gen.condition(scope)} else {par(b)}", a.iv.hull(b.iv))


def op_call(gen, scope, depth, must):
    sigs = gen.callables(scope)
    if not sigs:
        return None
    sig = gen.choice(sigs)
    if isinstance(sig.ret, tuple):
        if gen.tuple_rng.random() < 0.5:
            return None
        gen.feat("tuple_call_index")  # g(x)[k]: one element of the tuple g returns
        k = gen.tuple_rng.randrange(-len(sig.ret), len(sig.ret))
        result = gen.call(scope, sig, depth, must)
        return Expr(f"{result.code}[{k}]", sig.ret[k], True)
    result = gen.call(scope, sig, depth, must)
    if gen.r() < 0.2:
        other = gen.call(scope, sig, depth)
        gen.feat("helper_called_twice")
        return Expr(f"{result.code} * {other.code}", result.iv * other.iv)
    return result


def op_math(gen, scope, depth, must):
    name = gen.choice(MATH_FUNCTIONS)
    binary = name in ("atan2", "pow", "hypot", "copysign") or (name == "log" and gen.r() < 0.3)
    if binary:
        a, b = gen.operands(scope, depth, must, 2)
    else:
        a = gen.sub(scope, depth, must)
    if name in ("sin", "cos"):
        a = a if a.iv.finite(1e4) else gen.bounded(a, 3.0)
        return gen.mcall(name, a, iv=sin_cos(a.iv, name))
    if name == "tan":
        a = gen.bounded(a, 1.3)
        return gen.mcall(name, a, iv=monotone(math.tan, a.iv))
    if name in ("asin", "acos", "atanh"):
        a = gen.unit(a)
        f = getattr(math, name)
        return gen.mcall(name, a, iv=monotone(f, a.iv, increasing=name != "acos"))
    if name in ("atan", "tanh", "erf", "asinh", "degrees", "radians", "cbrt"):
        if name == "cbrt" and gen.r() < 0.5:
            a = gen.nonzero(a)
        f = getattr(math, name)
        return gen.mcall(name, a, iv=monotone(f, a.iv))
    if name == "erfc":
        return gen.mcall(name, a, iv=monotone(math.erfc, a.iv, increasing=False))
    if name in ("sinh", "exp", "expm1", "exp2"):
        a = gen.bounded(a, 8.0)
        return gen.mcall(name, a, iv=monotone(getattr(math, name), a.iv))
    if name == "cosh":
        a = gen.bounded(a, 8.0)
        return gen.mcall(name, a, iv=cosh(a.iv))
    if name == "acosh":
        a = gen.at_least_one(a)
        return gen.mcall(name, a, iv=monotone(math.acosh, a.iv))
    if name in ("log", "log2", "log10", "sqrt") and not binary:
        a = gen.positive(a, 0.05)
        return gen.mcall(name, a, iv=monotone(getattr(math, name), a.iv))
    if name == "log1p":
        a = gen.positive(a, 0.05) if a.iv.lo < -0.8 else a
        return gen.mcall(name, a, iv=monotone(math.log1p, a.iv))
    if name == "log":
        a = gen.positive(a, 0.05)
        base = gen.choice([2.0, 10.0, 3.0, None])
        gen.feat("prim:log_base")
        if base is None:
            b = gen.positive(b, 0.05)
            b = Expr(f"1.2 + {par(b)}", b.iv + 1.2)
            logs = monotone(math.log, a.iv) * monotone(math.log, b.iv).reciprocal()
            return gen.mcall("log", a, b, iv=logs)
        return gen.mcall("log", a, const(base), iv=monotone(math.log, a.iv) * (1 / math.log(base)))
    if name == "pow":
        a = gen.positive(a, 0.2)
        a = a if a.iv.finite(20.0) else gen.positive(gen.bounded(a, 3.0), 0.2)
        b = gen.bounded(b, 2.0)
        return gen.mcall("pow", a, b, iv=pow_real(a.iv, b.iv))
    if name == "atan2":
        b = gen.nonzero(b)
        return gen.mcall("atan2", a, b, iv=Interval(-math.pi, math.pi))
    if name == "hypot":
        if not (a.iv.finite() and b.iv.finite()):
            return None
        if gen.lists_rng.random() < 0.3:  # math.hypot of three (its own stream)
            gen.feat("hypot3")
            c = round(gen.lists_rng.uniform(0.5, 1.5), 2)
            return gen.mcall("hypot", a, b, const(c),
                             iv=Interval(c, math.hypot(a.iv.mag, b.iv.mag, c)))
        roll = gen.fsum_rng.random()  # its own stream: other programs unchanged
        if roll < 0.2:  # math.hypot of five to seven values (a family of rules)
            gen.feat("hypot_many")
            cs = [round(gen.fsum_rng.uniform(0.5, 1.5), 2) for _ in range(gen.fsum_rng.randint(2, 4))]
            values = [a, b] + [const(c) for c in cs] + [a]
            return gen.mcall("hypot", *values, iv=Interval(
                math.hypot(*cs), math.hypot(a.iv.mag, b.iv.mag, *cs, a.iv.mag)))
        if roll < 0.4:  # math.dist of two points written out
            gen.feat("dist")
            c, d = (round(gen.fsum_rng.uniform(-1.5, 1.5), 2) for _ in range(2))
            return Expr(f"{gen.m('dist')}(({a.code}, {b.code}), ({fmt(c)}, {fmt(d)}))",
                        Interval(0.0, math.hypot(a.iv.mag + abs(c), b.iv.mag + abs(d))), True)
        return gen.mcall("hypot", a, b, iv=Interval(0.0, math.hypot(a.iv.mag, b.iv.mag)))
    if name == "copysign":
        return gen.mcall("copysign", a, b, iv=Interval(-a.iv.mag, a.iv.mag))
    if name == "fabs":
        return gen.mcall("fabs", a, iv=absolute(a.iv))
    if name == "floor":
        if not a.iv.finite(100):
            return None
        b = gen.sub(scope, depth)
        return Expr(f"{par(b)} * {gen.m('floor')}({a.code})", b.iv * floor(a.iv))
    return None


def op_int(gen, scope, depth, must):
    if must is not None:
        return None
    e = gen.int_expr(scope, nonneg=False)
    return e


OPS = ([op_arith] * 6 + [op_div] * 2 + [op_pow] * 3 + [op_mod, op_floordiv, op_unary, op_abs]
       + [op_minmax] * 2 + [op_float, op_cmp_number, op_ifexp] + [op_call] * 2
       + [op_math] * 12 + [op_int])
