"""Random NumPy programs, the way people write them: broadcasting inside loops and
branches, reductions with axes, matrix products, indexing (fancy, repeated, negative),
item assignment in loops, aliasing then mutation, lists of active values handed to NumPy,
helpers, module-level arrays.

``generate(seed)`` returns a :class:`~fuzz.case.Case`. Parameters are some of ``x`` (3,),
``W`` (2, 3), ``s`` (a number), ``v`` (3,), ``b`` (2,); the module may hold global arrays
(``A`` (4, 3), ``T`` (3,), ``idx``) and lists of numbers. The generator tracks each
variable's shape and an interval bounding its elements (an invariant, as in ``scalar``),
so every program runs and stays finite.
"""

from __future__ import annotations

import importlib.util
import math

import random

import numpy

from .case import SNAP, Case, Drawing
from .intervals import Interval, UNIT, absolute, cosh, floor, maximum, minimum, monotone

VALUES = Interval(-2.0, 2.0)
ITERATE_RATE = 0.3  # of for loops: over an array's rows
LISTS_RATE = 0.08   # of statements: lists and comprehensions of arrays (st_lists)
GROWN_RATE = 0.05   # of statements: lists grown over an array's rows (st_grown)
RAISE_RATE = 0.02   # of statements: `if <test>: raise ...` (st_raise)
UNPACK_RATE = 0.03  # of statements: `a, b = v`, `r0, r1 = M`, `a, b, c = M[1]` (st_unpack)
FLAG_RATE = 0.2     # of programs: a helper taking a string, how="sum" (reduce)
WHERE_RATE = 0.3    # of sums, means, products, maxima and minima: where= and initial=
RULES_RATE = 0.012  # of expressions: trapezoid, polyval, interp, nanmean, cov... (op_rules)
ORDER_RATE = 0.008  # of expressions: sort, ptp, append, norm's ord (op_order_rules)
# of expressions: fmod, NumPy 2's vector_norm, matrix_transpose, vecdot, cumulative_sum,
# float_power, nan_to_num (op_numpy2_rules)
NUMPY2_RATE = 0.01
# of expressions: a list or tuple of numbers written out among the arrays concatenate,
# stack, hstack or vstack join, np.concatenate([u, [a, b]]) (op_sequence_literal)
SEQUENCE_LITERAL_RATE = 0.01
# of statements, each from its own stream (st_views, st_double_buffer, st_runtime_shape):
# an array copied, then changed in place in a loop through slices while views of it are
# read (u[1:-1] += c * (u[2:] - 2 * u[1:-1] + u[:-2])); double-buffered time steps
# (new = u.copy(); new[1:-1] = ...; prev = u; u = new); an array whose length is computed
# while the program runs (n = len(v); z = np.zeros(n); for i in range(n): z[i] = ...)
VIEWS_RATE = 0.012
DOUBLE_BUFFER_RATE = 0.01
RUNTIME_SHAPE_RATE = 0.012
HAVE_SCIPY = importlib.util.find_spec("scipy") is not None  # op_rules' scipy.special forms
LIMIT = 8.0
FLOAT32_RATE = 0.3  # of programs: also run with their array arguments in float32
ACC_BUDGET = 30.0

PARAMETERS = {"x": (3,), "W": (2, 3), "s": (), "v": (3,), "b": (2,)}
CONSTANT_RATE = 0.1  # of assignments: a constant from data, by a function without a rule
# Pure functions without a derivative rule, called on module data (st_constant), by the
# feature each counts as: {d} a 1-d array, {m} a 2-d one, {f} a fraction and {q} a
# percentage (or a loop's index made one); the generator runs each to know its result's
# shape and values
CONSTANT_FORMS = {
    "np.sort({d})": "sort", "np.unique({d})": "sort", "np.sort({m}, axis=0)": "sort",
    "np.percentile({d}, {q})": "quantile", "np.quantile({d}, {f})": "quantile",
    "np.nanmedian({d})": "quantile", "np.ptp({d})": "reduction",
    "np.average({d})": "reduction", "np.nanmax({d})": "reduction",
    "np.interp({f}, np.sort({d}), {d})": "lookup", "np.polyval({d}, {f})": "lookup",
    "np.searchsorted(np.sort({d}), {f}) * 0.5": "lookup", "np.fmod({d}, 0.7)": "ufunc",
    "np.ldexp({d}, 1)": "ufunc", "np.histogram({d}, bins=3, density=True)[0]": "histogram",
}

FEATURES = (
    ["elementwise_in_loop", "broadcast", "loop_update", "acc_number_to_array", "reduce_axis",
     "keepdims", "method_reduce", "matmul", "dot", "outer", "einsum", "norm", "where",
     "maximum0", "clip", "clip_keywords", "clip_method", "copysign", "abs_builtin", "huber", "index_int",
     "index_negative", "index_slice", "index_newaxis", "index_ellipsis", "index_tuple",
     "fancy_repeated", "fancy_negative", "setitem", "setitem_tuple", "setitem_ellipsis",
     "setitem_fancy", "setitem_fancy_add", "iadd_array", "setitem_in_loop", "setitem_recurrence",
     "list_to_numpy",
     "np_array_of_numbers", "stack", "einsum_list", "list_arithmetic", "alias_ident",
     "alias_ifexp", "alias_or", "alias_slice", "alias_plain", "mutate_alias",
     "mutate_parameter", "global_array", "global_list", "dot_self_gradient", "return_global",
     "for_range", "for_list", "while", "if", "else", "break", "continue", "early_return",
     "helper", "helper_tuple", "helper_layer", "ident", "nested_loop", "cumsum", "cross",
     "solve", "tensordot", "diag", "trace", "det", "inv", "stop_gradient",
     "nondifferentiable", "for_array", "for_enumerate_array", "for_zip_arrays",
     "constant_in_loop", "constant_of_index",
     "comprehension_array", "stacked_appends", "sum_of_rows", "max_of_generator",
     "cast:int", "cast:mask", "cast:float", "item", "reduce_where", "reduce_where_data",
     "reduce_where_broadcast", "reduce_initial", "reduce_initial_variable", "float32",
     "grown_comprehension", "grown_appends", "grown_condition", "raise", "raise_may_fire",
     "raise_shape", "raise_bound", "raise_nan", "string_flag", "string_flag_default",
     "string_flag_passed"]
    + [f"grown:{c}" for c in ("sum", "array", "stack", "mean", "python_sum", "generator",
                              "indexed", "len")]
    + [f"shape:{f}" for f in ("flip", "reshape", "ravel", "squeeze", "concatenate", "hstack",
                              "vstack", "transpose", "swapaxes")]
    + [f"reduce:{r}" for r in ("sum", "mean", "max", "min", "prod", "var", "std")]
    + [f"more:{f}" for f in ("roll", "tile", "repeat", "moveaxis", "diagonal", "tril", "triu",
                             "diff", "cumprod", "take", "vdot", "sinc", "atleast_3d", "nansum",
                             "kron", "pad", "cholesky", "cholesky_upper", "convolve", "median",
                             "einsum_reduce", "einsum_diagonal", "einsum_implicit",
                             "diagonal_method", "cumprod_method",
                             "roll_counter", "take_counter", "slogdet", "pinv", "eigvalsh",
                             "eigh", "eigh_unpacked")]
    + [f"rules:{f}" for f in ("trapezoid", "trapezoid_grid", "polyval", "polyval_coefficients",
                              "interp", "interp_ends", "nanmean", "cov", "matrix_power",
                              "matrix_power_inverse", "diagflat", "float64", "logspace")
       + (("gammaln", "xlogy", "xlog1py") if HAVE_SCIPY else ())]
    + [f"order:{f}" for f in ("sort", "sort_axis", "sort_flat", "ptp", "ptp_axis", "append",
                              "norm_1", "norm_inf", "norm_minus_inf", "norm_p", "norm_fro")]
    + [f"numpy2:{f}" for f in ("fmod", "fmod_negative", "vector_norm", "vector_norm_axis",
                               "vector_norm_flat", "matrix_transpose", "vecdot",
                               "linalg_vecdot", "cumulative_sum", "cumulative_sum_initial",
                               "float_power", "nan_to_num", "nan_to_num_nan")]
    + [f"sequence_literal:{f}" for f in ("concatenate", "stack", "hstack", "vstack", "tuple",
                                         "nested", "constant")]
    + [f"ufunc:{u}" for u in ("sin", "cos", "tanh", "exp", "log", "sqrt", "arctan", "square",
                              "log1p", "expm1", "sinh", "cosh", "arcsinh", "arcsin", "arccos",
                              "arctanh", "arccosh", "cbrt", "exp2", "log2", "log10",
                              "reciprocal", "deg2rad", "rad2deg", "radians", "degrees",
                              "power", "abs", "hypot", "remainder",
                              "arctan2", "minimum", "logaddexp", "fmax", "fmin")]
    + [f"constant:{name}" for name in sorted(set(CONSTANT_FORMS.values()))]
    + [f"inplace_view:{f}" for f in ("augmented", "heat", "temporary", "whole_temporary",
                                     "overlap", "shifted", "heat2d", "copy", "scaled")]
    + [f"double_buffer:{f}" for f in ("copy", "zeros_like", "scaled", "boundary", "2d",
                                      "alias_refused")]
    + [f"runtime_shape:{f}" for f in ("len", "shape0", "shape_last", "global", "zeros",
                                      "ones", "full", "fill", "difference",
                                      "forward_substitution", "constant_lower")])


def generate(seed: int) -> Case:
    return ArrayGenerator(seed).case()


class A:
    """An array expression: code, shape, element interval."""
    __slots__ = ("code", "shape", "iv", "atomic")

    def __init__(self, code, shape, iv, atomic=False):
        self.code, self.shape, self.iv, self.atomic = code, tuple(shape), iv, atomic


def par(e: A) -> str:
    return e.code if e.atomic else f"({e.code})"


def fmt(c: float) -> str:
    return repr(float(c))


def size(shape) -> int:
    return int(numpy.prod(shape)) if shape else 1


def broadcastable(small, big) -> bool:
    try:
        return numpy.broadcast_shapes(small, big) == tuple(big)
    except ValueError:
        return False


class Var:
    __slots__ = ("name", "shape", "iv", "budget", "is_int", "hi")

    def __init__(self, name, shape, iv, budget=None, is_int=False, hi=0):
        self.name, self.shape, self.iv, self.budget = name, tuple(shape), iv, budget
        self.is_int, self.hi = is_int, hi


class Scope:
    def __init__(self):
        self.vars: dict[str, Var] = {}
        self.bound: set[str] = set()
        self.loops: list[int] = []
        self.depth = 0

    def floats(self, shape=None):
        return [v for n, v in self.vars.items() if n in self.bound and not v.is_int
                and (shape is None or v.shape == tuple(shape))]

    def ints(self):
        return [v for n, v in self.vars.items() if n in self.bound and v.is_int]

    def executions(self):
        result = 1
        for c in self.loops:
            result *= c
        return result


class ArrayGenerator(Drawing):
    def __init__(self, seed):
        super().__init__(seed)
        self.np = numpy.random.default_rng(seed)
        self.iterate_rng = random.Random(f"iterate/{seed}")
        self.lists_rng = random.Random(f"lists/{seed}")
        self.grown_rng = random.Random(f"grown/{seed}")
        self.raise_rng = random.Random(f"raise/{seed}")
        self.unpack_rng = random.Random(f"unpack/{seed}")
        self.varargs_rng = random.Random(f"varargs/{seed}")  # a helper taking *rows
        self.recursion_rng = random.Random(f"recursion/{seed}")  # a recursive helper
        self.flags_rng = random.Random(f"flags/{seed}")  # a helper taking a string
        self.where_rng = random.Random(f"where/{seed}")
        self.eigh_rng = random.Random(f"eigh/{seed}")  # eigh's eigenvalues for eigvalsh
        self.rules_rng = random.Random(f"rules/{seed}")  # op_rules
        self.order_rng = random.Random(f"order/{seed}")  # op_order_rules
        self.numpy2_rng = random.Random(f"numpy2/{seed}")  # op_numpy2_rules
        self.sequence_rng = random.Random(f"sequence/{seed}")  # op_sequence_literal
        self.views_rng = random.Random(f"views/{seed}")  # st_views
        self.buffer_rng = random.Random(f"double_buffer/{seed}")  # st_double_buffer
        self.runtime_rng = random.Random(f"runtime_shape/{seed}")  # st_runtime_shape
        self.computed_rng = random.Random(f"computed_iterable/{seed}")  # st_for's iterables
        self.result_reads: list[str] = []  # arrays those forms made, read by the result
        self.sink = ""  # a number the program starts at 0.0, those arrays added to it
        self.uses_special = False  # op_rules wrote scipy.special's functions
        self.scope_now: Scope | None = None  # the scope of the expression being drawn
        # its own stream, so that drawing it leaves every other draw as it was
        self.float32 = random.Random(f"float32/{seed}").random() < FLOAT32_RATE
        self.used = {"np", "numpy", "program", "ident", "range", "len", "abs", "i", "j", "k",
                     "srcdiff"}
        self.globals: list[str] = []
        self.global_arrays: dict[str, A] = {}
        self.global_lists: dict[str, list] = {}
        self.helpers: list[str] = []
        self.helper_sigs: dict[str, tuple] = {}   # name -> (kind, ...)
        # Constructs srcdiff refuses wholesale today (active values in lists, changes
        # through a second name) are drawn in some programs only, so that most programs
        # test something; each still appears often (the CI test counts them).
        self.allow_lists = self.rng.random() < 0.2
        self.allow_alias = self.rng.random() < 0.18
        self.constant_rng = random.Random(f"constant/{seed}")  # st_constant, and its data
        self.data: dict[str, numpy.ndarray] = {}  # the module's arrays st_constant reads

    # -- utilities ---------------------------------------------------------------
    def fresh(self, base):
        if base not in self.used:
            self.used.add(base)
            return base
        k = 1
        while f"{base}{k}" in self.used:
            k += 1
        self.used.add(f"{base}{k}")
        return f"{base}{k}"

    def const(self, lo=-1.5, hi=1.5):
        c = round(self.rng.uniform(lo, hi), 2)
        return c if c != 0 else 0.5

    def const_array(self, shape, lo=-1.5, hi=1.5):
        values = numpy.round(self.np.uniform(lo, hi, size=shape), 2)
        return A(f"np.array({values.tolist()!r})", shape, Interval(values.min(), values.max()), True)

    # -- guards --------------------------------------------------------------------
    def positive(self, e: A, margin=0.05) -> A:
        if e.iv.lo >= margin and e.iv.finite():
            return e
        kind = self.choice(["square", "abs", "sin", "exp", "hypot"])
        if kind == "square" and len(e.code) <= 30 and e.iv.finite(1e3):
            return A(f"1.0 + {par(e)} * {par(e)}", e.shape, 1.0 + e.iv.power_int(2))
        if kind == "abs":
            self.feat("ufunc:abs")
            return A(f"np.abs({e.code}) + 0.5", e.shape, absolute(e.iv) + 0.5)
        if kind == "sin":
            self.feat("ufunc:sin")
            return A(f"2.0 + np.sin({e.code})", e.shape, Interval(1.0, 3.0))
        if kind == "hypot" and e.iv.finite():
            self.feat("ufunc:hypot")
            return A(f"np.hypot({e.code}, 1.0)", e.shape, Interval(1.0, math.hypot(e.iv.mag, 1.0)), True)
        self.feat("ufunc:exp")
        return A(f"np.exp(np.tanh({e.code}))", e.shape, Interval(1 / math.e, math.e), True)

    def bounded(self, e: A, limit) -> A:
        if e.iv.within(Interval(-limit, limit)):
            return e
        scale = round(min(limit, 3.0) * 0.95, 2)
        kind = self.choice(["tanh", "sin", "arctan"])
        self.feat(f"ufunc:{kind}" if kind != "sin" else "ufunc:sin")
        bound = scale * (math.pi / 2 if kind == "arctan" else 1.0)
        return A(f"{fmt(scale)} * np.{kind}({e.code})", e.shape, Interval(-bound, bound))

    def unit(self, e: A) -> A:
        if e.iv.within(Interval(-0.9, 0.9)):
            return e
        self.feat("ufunc:tanh")
        return A(f"0.9 * np.tanh({e.code})", e.shape, Interval(-0.9, 0.9))

    def squash(self, e: A, target: Interval) -> A:
        if e.iv.within(target) and e.iv.finite():
            return e
        if Interval(-1.6, 1.6).within(target):
            kind = self.choice(["tanh", "sin", "arctan", "cos", "tanh"])
            self.feat(f"ufunc:{kind}")
            iv = Interval(-math.pi / 2, math.pi / 2) if kind == "arctan" else UNIT
            return A(f"np.{kind}({e.code})", e.shape, iv, True)
        mid = round((target.lo + target.hi) / 2, 3)
        rad = math.floor((target.hi - target.lo) / 2 * 0.9 * 1000) / 1000
        return A(f"{fmt(mid)} + {fmt(rad)} * np.tanh({e.code})", e.shape,
                 Interval(mid - rad, mid + rad))

    @staticmethod
    def may_be_zero(e: A) -> bool:
        """Clamped or constant pieces can make every element exactly 0 (or all equal)."""
        return any(word in e.code for word in ("maximum(", "clip(", "zeros", "where(", "minimum(",
                                               "fmax(", "fmin(", "ones"))

    # -- leaves and shape adapters -----------------------------------------------
    def leaf(self, scope, shape, must=None) -> A:
        self.scope_now = scope
        shape = tuple(shape)
        if must is not None:
            var = scope.vars[must]
            return self.adapt(A(must, var.shape, var.iv, True), shape)
        exact = scope.floats(shape)
        roll = self.r()
        if exact and roll < 0.65:
            var = self.choice(exact)
            return A(var.name, var.shape, var.iv, True)
        globals_ = [g for g in self.global_arrays.values() if g.shape == shape]
        if globals_ and roll < 0.72:
            self.feat("global_array")
            return self.choice(globals_)
        others = scope.floats()
        if others and roll < 0.95:
            var = self.choice(others)
            adapted = self.adapt(A(var.name, var.shape, var.iv, True), shape)
            if adapted is not None:
                return adapted
        if shape == ():
            if scope.ints() and self.r() < 0.3:
                var = self.choice(scope.ints())
                return A(var.name, (), Interval(0, var.hi), True)
            c = self.const()
            return A(fmt(c), (), Interval(c), c >= 0)
        return self.const_array(shape)

    def reduce(self, e: A, shape) -> A | None:
        """``e`` reduced to ``shape`` (a reduction over some axes)."""
        n = size(e.shape)
        if shape == ():
            kind = self.choice(["sum", "mean", "max", "min", "prod", "var", "std", "norm", "dot",
                                "sum", "mean"])
            if kind == "dot" and len(e.shape) == 1 and len(e.code) < 40:
                self.feat("dot")
                return A(f"{par(e)} @ {par(e)}", (), e.iv.power_int(2) * n)
            if kind == "dot":
                kind = "sum"
            if kind == "norm":
                self.feat("norm")
                if self.may_be_zero(e):  # norm has no derivative at 0
                    e = self.positive(e, 0.1)
                return A(f"np.linalg.norm({e.code})", (), Interval(0.0, math.sqrt(n) * e.iv.mag), True)
            if kind == "prod":
                e = self.positive(self.bounded(e, 1.5), 0.2) if n > 1 else e
                iv = e.iv
                for _ in range(n - 1):
                    iv = iv * e.iv
                self.feat("reduce:prod")
                extra, iv = self.reduce_options("prod", e, None, iv)
                return A(f"np.prod({e.code}{extra})", (), iv, True)
            self.feat(f"reduce:{kind}")
            iv = {"sum": e.iv * n, "mean": e.iv, "max": e.iv, "min": e.iv,
                  "var": Interval(0.0, (e.iv.hi - e.iv.lo) ** 2),
                  "std": Interval(0.0, e.iv.hi - e.iv.lo)}[kind]
            if kind == "std" and self.may_be_zero(e):
                if len(e.shape) != 1:
                    kind, iv = "var", Interval(0.0, (e.iv.hi - e.iv.lo) ** 2)
                else:  # std's derivative is infinite where every element is equal
                    offsets = [float(k) for k in range(n)]
                    e = A(f"{par(e)} + np.array({offsets!r})", e.shape, e.iv + Interval(0, n - 1))
                    iv = Interval(0.0, e.iv.hi - e.iv.lo)
            if self.r() < 0.3 and e.atomic:
                self.feat("method_reduce")
                extra, iv = self.reduce_options(kind, e, None, iv)
                return A(f"{e.code}.{kind}({extra[2:]})", (), iv, True)
            extra, iv = self.reduce_options(kind, e, None, iv)
            return A(f"np.{kind}({e.code}{extra})", (), iv, True)
        if len(e.shape) == 2 and len(shape) == 1:
            axis = 0 if e.shape[1] == shape[0] else (1 if e.shape[0] == shape[0] else None)
            if axis is None:
                return None
            kind = self.choice(["sum", "mean", "max", "min", "norm", "sum"])
            count = e.shape[axis]
            iv = {"sum": e.iv * count, "mean": e.iv, "max": e.iv, "min": e.iv,
                  "norm": Interval(0.0, math.sqrt(count) * e.iv.mag)}[kind]
            axis_text = self.choice([str(axis), str(axis - 2)]) if self.r() < 0.3 else str(axis)
            self.feat("reduce_axis")
            if kind == "norm":
                self.feat("norm")
                if self.may_be_zero(e):
                    e = self.positive(e, 0.1)
                    iv = Interval(0.0, math.sqrt(count) * e.iv.mag)
                return A(f"np.linalg.norm({e.code}, axis={axis_text})", shape, iv, True)
            self.feat(f"reduce:{kind}")
            if e.atomic and self.r() < 0.4:
                self.feat("method_reduce")
                extra, iv = self.reduce_options(kind, e, axis, iv)
                return A(f"{e.code}.{kind}(axis={axis_text}{extra})", shape, iv, True)
            extra, iv = self.reduce_options(kind, e, axis, iv)
            return A(f"np.{kind}({e.code}, axis={axis_text}{extra})", shape, iv, True)
        if len(e.shape) == 2 and len(shape) == 2 and 1 in shape:
            axis = shape.index(1)
            if e.shape[1 - axis] != shape[1 - axis]:
                return None
            kind = self.choice(["sum", "mean", "max"])
            count = e.shape[axis]
            iv = e.iv * count if kind == "sum" else e.iv
            self.feat("keepdims")
            self.feat("reduce_axis")
            self.feat(f"reduce:{kind}")
            extra, iv = self.reduce_options(kind, e, axis, iv)
            return A(f"np.{kind}({e.code}, axis={axis}, keepdims=True{extra})", shape, iv, True)
        return None

    def reduce_options(self, kind, e: A, axis, iv: Interval) -> tuple[str, Interval]:
        """Sometimes ``where=`` and ``initial=`` for a reduction of ``e`` (``axis``: the
        one it reduces, None for all): the keywords as text (``", where=..."``, or
        ``""``) and the interval of the result. Drawn from a stream of their own, so the
        programs that draw none are those of before."""
        rng = self.where_rng
        if kind not in ("sum", "mean", "max", "min", "prod") or rng.random() >= WHERE_RATE:
            return "", iv
        count = size(e.shape) if axis is None else e.shape[axis]
        extra = ""
        masked = kind == "mean" or rng.random() < 0.7
        if masked:
            self.feat("reduce_where")
            if kind != "mean" and rng.random() < 0.4:  # a mask of the data: may select nothing
                self.feat("reduce_where_data")
                threshold = round(rng.uniform(e.iv.lo, e.iv.hi), 2) if e.iv.finite() else 0.0
                extra += f", where={par(e)} > {threshold}"
            else:
                extra += f", where=np.array({self.mask(e.shape, axis, kind == 'mean').tolist()!r})"
            if kind == "sum":  # some of the elements: none of them, 0, is a possible sum
                iv = iv.hull(Interval(0.0))
            if kind == "prod":
                iv = e.iv.power_range(range(count + 1))
        if kind == "mean" or not (masked and kind in ("max", "min")) and rng.random() < 0.4:
            return extra, iv  # (max and min with where= need initial=)
        self.feat("reduce_initial")
        scalars = [v for v in self.scope_now.floats(()) if v.iv.finite()] if self.scope_now else []
        if scalars and rng.random() < 0.5:
            self.feat("reduce_initial_variable")
            var = rng.choice(scalars)
            initial, initial_iv = var.name, var.iv
        else:
            c = round(rng.uniform(-1.5, 1.5), 3)
            initial, initial_iv = fmt(c), Interval(c)
        extra += f", initial={initial}"
        if kind == "sum":
            iv = iv + initial_iv
        elif kind == "prod":
            iv = iv * initial_iv
        else:
            iv = iv.hull(initial_iv)
        return extra, iv

    def mask(self, shape, axis, every_row: bool) -> numpy.ndarray:
        """A mask for an array of ``shape``: of that shape or one that broadcasts to it;
        ``every_row``: one that selects something in every reduced row (a mean)."""
        rng = self.where_rng
        values = numpy.array([rng.random() < 0.6 for _ in range(size(shape))]).reshape(shape)
        if every_row:
            if axis is None or len(shape) == 1:
                values.flat[rng.randrange(values.size)] = True
            elif axis % 2 == 0:
                for j in range(shape[1]):
                    values[rng.randrange(shape[0]), j] = True
            else:
                for i in range(shape[0]):
                    values[i, rng.randrange(shape[1])] = True
            return values
        if len(shape) == 2 and rng.random() < 0.5:
            self.feat("reduce_where_broadcast")
            return values[:1] if rng.random() < 0.5 else values[:, :1]  # (1, n) or (m, 1)
        if len(shape) == 2 and rng.random() < 0.3:
            self.feat("reduce_where_broadcast")
            return values[0]  # (n,)
        return values

    def adapt(self, e: A, shape) -> A | None:
        """An expression of ``e`` with the given shape, or None."""
        shape = tuple(shape)
        if e.shape == shape:
            return e
        if shape == ():
            if e.shape and self.r() < 0.3:
                index = ", ".join(self.choice(["0", "-1", "1"]) if d > 1 else "0" for d in e.shape)
                self.feat("index_int")
                if "-1" in index:
                    self.feat("index_negative")
                if len(e.shape) == 2:
                    self.feat("index_tuple")
                return A(f"{par(e)}[{index}]", (), e.iv, True)
            return self.reduce(e, ())
        if e.shape == ():
            roll = self.r()
            if roll < 0.4:
                self.feat("broadcast")
                size = shape if len(shape) > 1 else shape[0]
                if len(shape) == 2 and roll < 0.15:  # a shape srcdiff reads as a tuple of
                    size = f"(int({shape[0]}), {shape[1]})"  # two items, one computed
                return A(f"{par(e)} * np.ones({size})", shape, e.iv)
            if roll < 0.7 or len(shape) != 1 or not self.allow_lists:
                self.feat("broadcast")
                zeros = f"np.zeros({shape if len(shape) > 1 else shape[0]})"
                return A(f"{par(e)} + {zeros}", shape, e.iv)
            self.feat("np_array_of_numbers")
            self.feat("list_to_numpy")
            parts = [e.code] + [f"{par(e)} * {fmt(self.const(0.2, 1.2))}" for _ in range(shape[0] - 1)]
            return A(f"np.array([{', '.join(parts)}])", shape, e.iv * Interval(-1.2, 1.2).hull(UNIT), True)
        if len(e.shape) == 1 and len(shape) == 1:
            n, m = e.shape[0], shape[0]
            if m < n:
                options = [f"[:{m}]", f"[{n - m}:]"]
                if m == 2 and n == 3:
                    options += ["[::2]", "[np.array([-3, 0])]", "[np.array([2, 2])]"]
                index = self.choice(options)
                self.feat("fancy_negative" if "-3" in index else
                          ("fancy_repeated" if "2, 2" in index else "index_slice"))
                return A(f"{par(e)}{index}", shape, e.iv, True)
            if (n, m) == (2, 3) and "W" in self.params:
                self.feat("matmul")
                return A(f"{par(e)} @ W", shape, e.iv * self.param_iv * 2)
            if (n, m) == (3, 4) and "A" in self.global_arrays:
                self.feat("matmul")
                self.feat("global_array")
                return A(f"A @ {par(e)}", shape, e.iv * self.global_arrays["A"].iv * 3)
            if m > n:
                reps = ", ".join(["0"] * (m - n) + [str(k) for k in range(n)])
                self.feat("fancy_repeated")
                return A(f"{par(e)}[np.array([{reps}])]", shape, e.iv, True)
            return None
        if len(e.shape) == 2 and len(shape) == 1:
            reduced = self.reduce(e, shape) if self.r() < 0.6 else None
            if reduced is not None:
                return reduced
            if e.shape[1] == shape[0]:
                row = self.choice(["0", "-1", "1"] if e.shape[0] > 1 else ["0"])
                self.feat("index_int")
                return A(f"{par(e)}[{row}]", shape, e.iv, True)
            if e.shape[0] == shape[0]:
                column = self.choice(["0", "-1", "1"])
                index = self.choice([f":, {column}", f"..., {column}"])
                self.feat("index_ellipsis" if "..." in index else "index_tuple")
                return A(f"{par(e)}[{index}]", shape, e.iv, True)
            return self.reduce(e, shape)
        if len(e.shape) == 1 and len(shape) == 2:
            if shape == (1, e.shape[0]):
                self.feat("index_newaxis")
                index = self.choice(['None, :', 'None', 'None, ...', 'None, :', 'None'] * 3 + ['np.newaxis'])
                return A(f"{par(e)}[{index}]", shape, e.iv, True)
            if shape == (e.shape[0], 1):
                self.feat("index_newaxis")
                return A(f"{par(e)}[:, {self.choice(['None'] * 8 + ['np.newaxis'])}]", shape, e.iv, True)
            if shape[1] == e.shape[0]:
                other = self.leaf(self.scope, (shape[0],))
                if self.r() < 0.5 or not self.allow_lists:
                    self.feat("outer")
                    return A(f"np.outer({other.code}, {e.code})", shape, other.iv * e.iv, True)
                self.feat("stack")
                self.feat("list_to_numpy")
                rows = [e.code] + [f"{par(e)} * {fmt(self.const(0.3, 1.0))}" for _ in range(shape[0] - 1)]
                return A(f"np.stack([{', '.join(rows)}])", shape, e.iv.hull(-e.iv), True)
            if shape[0] == e.shape[0]:
                self.feat("index_newaxis")
                self.feat("broadcast")
                return A(f"{par(e)}[:, None] * np.ones({shape})", shape, e.iv)
            return None
        if len(e.shape) == 2 and len(shape) == 2:
            if e.shape[::-1] == shape:
                return A(f"{par(e)}.T", shape, e.iv, True)
            return self.reduce(e, shape)
        return None

    # -- expressions ---------------------------------------------------------------
    def expr(self, scope, depth, shape, must=None) -> A:
        self.scope_now = scope
        shape = tuple(shape)
        if depth <= 0 or (must is None and self.r() < 0.2):
            result = self.leaf(scope, shape, must)
            return result if result is not None else self.const_array(shape) if shape else self.leaf(scope, ())
        if self.rules_rng.random() < RULES_RATE:  # its own stream: other programs unchanged
            result = op_rules(self, scope, depth, shape, must)
            if result is not None and result.shape == shape:
                return result
        if self.order_rng.random() < ORDER_RATE:  # its own stream, as op_rules
            result = op_order_rules(self, scope, depth, shape, must)
            if result is not None and result.shape == shape:
                return result
        if self.numpy2_rng.random() < NUMPY2_RATE:  # its own stream, as op_rules
            result = op_numpy2_rules(self, scope, depth, shape, must)
            if result is not None and result.shape == shape:
                return result
        if self.sequence_rng.random() < SEQUENCE_LITERAL_RATE:  # its own stream, as op_rules
            result = op_sequence_literal(self, scope, depth, shape, must)
            if result is not None and result.shape == shape:
                return result
        for _ in range(5):
            op = self.choice(OPS)
            result = op(self, scope, depth, shape, must)
            if result is not None and result.shape == shape:
                stopped = self.maybe_stopped(result.code)
                if stopped is not result.code:
                    return A(stopped, result.shape, result.iv, True)
                snapped = self.maybe_marked(result.code)
                if snapped is not result.code:
                    return A(snapped, result.shape, floor(result.iv * 64.0) / 64.0, True)
                return result
        result = self.leaf(scope, shape, must)
        if result is None or result.shape != shape:
            return self.const_array(shape) if shape else A("0.5", (), Interval(0.5), True)
        return result

    def sub(self, scope, depth, shape, must=None):
        return self.expr(scope, depth - 1, shape, must)

    def operand_shapes(self, shape):
        """Shapes that broadcast to ``shape``."""
        options = [shape, shape, ()]
        if len(shape) == 2:
            options += [(shape[1],), (shape[0], 1), (1, shape[1])]
        return options

    def condition(self, scope) -> str:
        a = self.expr(scope, 1, ())
        roll = self.r()
        if roll < 0.5:
            return f"{par(a)} > {fmt(self.const(-0.5, 0.5))}"
        if roll < 0.7:
            b = self.expr(scope, 1, ())
            return f"{par(a)} < {par(b)}"
        vec = self.expr(scope, 1, (3,))
        kind = self.choice(["all", "any"])
        return f"np.{kind}({par(vec)} > {fmt(self.const(-1.0, 0.5))})"

    # -- statements ------------------------------------------------------------------
    def block(self, scope, indent, count=None):
        lines = []
        for _ in range(count or self.rng.choice([1, 1, 1, 2, 2, 3])):
            new, term = self.statement(scope, indent)
            lines += new
            if term:
                return lines, True
        return lines or [" " * indent + "pass"], False

    def statement(self, scope, indent):
        if self.lists_rng.random() < LISTS_RATE:  # its own stream: other programs unchanged
            return self.st_lists(scope, indent)
        if self.grown_rng.random() < GROWN_RATE and any(v.shape for v in scope.floats()):
            return self.st_grown(scope, indent)
        if self.raise_rng.random() < RAISE_RATE and scope.floats():
            return self.st_raise(scope, indent)
        if self.unpack_rng.random() < UNPACK_RATE and any(
                v.shape and v.shape[0] <= 3 for v in scope.floats()):
            return self.st_unpack(scope, indent)
        looping = scope.depth < 2 and len(scope.loops) < 2
        if self.views_rng.random() < VIEWS_RATE and looping:
            return self.st_views(scope, indent)
        if self.buffer_rng.random() < DOUBLE_BUFFER_RATE and looping:
            return self.st_double_buffer(scope, indent)
        if self.runtime_rng.random() < RUNTIME_SHAPE_RATE and looping and any(
                v.shape and (v.shape[0] >= 2 or v.shape[-1] >= 3) for v in scope.floats()):
            return self.st_runtime_shape(scope, indent)
        options = [("assign", 5), ("update", 4), ("augment", 2), ("setitem", 3),
                   ("alias", 2.0 if self.allow_alias else 0.0)]
        if scope.depth < 2:
            options += [("if", 2.5)]
            if len(scope.loops) < 2:
                options += [("for", 3.5), ("while", 0.8)]
        if scope.loops:
            options += [("break", 0.8), ("continue", 0.6)]
        options += [("ret", 0.5 if scope.loops or scope.depth else 0.0)]
        kinds, weights = zip(*options)
        kind = self.rng.choices(kinds, weights)[0]
        return getattr(self, "st_" + kind)(scope, indent)

    def random_shape(self):
        shapes = [(), (3,), (3,), (2,), (2, 3)]
        if "A" in self.global_arrays:
            shapes.append((4,))
        return self.choice(shapes)

    def st_assign(self, scope, indent):
        if self.constant_rng.random() < CONSTANT_RATE:  # its own stream: others unchanged
            constant = self.st_constant(scope, indent)
            if constant is not None:
                return constant
        pad = " " * indent
        shape = self.random_shape()
        e = self.squash(self.expr(scope, self.rng.randint(1, 3), shape), Interval(-LIMIT, LIMIT))
        name = self.fresh(self.choice(["h", "z", "u", "r", "y", "a", "c", "out", "tmp", "q"]))
        scope.vars[name] = Var(name, shape, e.iv.hull(VALUES))
        scope.bound.add(name)
        if scope.loops:
            self.feat("elementwise_in_loop")
        return [f"{pad}{name} = {e.code}"], False

    def st_constant(self, scope, indent):
        """``c = np.sort(D)``, ``p = np.percentile(D, 30)``...: a pure function without a
        derivative rule, on module data (its result a constant), read afterwards like any
        variable (broadcast, in loops and branches). Drawn from its own stream."""
        rng = self.constant_rng
        ints = [v for v in scope.ints() if v.hi <= 3]
        forms = list(CONSTANT_FORMS)
        if ints and rng.random() < 0.6:  # in a loop: mostly of its index
            forms = [f for f in forms if "{f}" in f or "{q}" in f]
        form = rng.choice(forms)
        fraction = fmt(round(rng.uniform(0.1, 0.9), 2))
        percent = str(rng.choice([10, 25, 30, 50, 75, 90]))
        index = None
        if ints and ("{f}" in form or "{q}" in form) and rng.random() < 0.8:
            index = rng.choice(ints)  # a constant per iteration
            fraction = f"0.2 * ({index.name} % 4) + 0.1"
            percent = f"20 * ({index.name} % 4) + 10"
        code = form.format(d=self.data_name(1) if "{d}" in form else "",
                           m=self.data_name(2) if "{m}" in form else "", f=fraction,
                           q=percent)
        values = [numpy.asarray(eval(code, {"np": numpy, **self.data, **(
            {index.name: i} if index is not None else {})}), dtype=float)
            for i in range(index.hi + 1 if index is not None else 1)]
        shape = values[0].shape
        if shape not in ((), (3,), (2,), (2, 3)):
            return None  # (np.unique of repeated values)
        name = self.fresh(rng.choice(["c", "srt", "pct", "level", "edges"]))
        iv = Interval(min(float(v.min()) for v in values), max(float(v.max()) for v in values))
        scope.vars[name] = Var(name, shape, iv.hull(VALUES))
        scope.bound.add(name)
        self.feat(f"constant:{CONSTANT_FORMS[form]}")
        if scope.loops:
            self.feat("constant_in_loop")
        if index is not None:
            self.feat("constant_of_index")
        return [f"{' ' * indent}{name} = {code}"], False

    def data_name(self, rank):
        """The module's data array of that rank (3 or 2 by 3 numbers), made the first
        time it is asked for."""
        name = {1: "DATA", 2: "DATA2"}[rank]
        if name not in self.data:
            shape = (3,) if rank == 1 else (2, 3)
            values = numpy.round([self.constant_rng.uniform(-1.5, 1.5)
                                  for _ in range(int(numpy.prod(shape)))], 2).reshape(shape)
            self.data[name] = values
            self.globals.append(f"{name} = np.array({values.tolist()!r})")
            self.used.add(name)
        return name

    def writable(self, scope):
        return [v for v in scope.floats() if v.name not in self.params or self.r() < 0.15]

    def st_update(self, scope, indent):
        pad = " " * indent
        targets = [v for v in self.writable(scope) if v.budget is None]
        if not targets:
            return self.st_assign(scope, indent)
        target = self.choice(targets)
        e = self.expr(scope, self.rng.randint(1, 3), target.shape, must=target.name)
        e = self.squash(e, target.iv)
        if scope.loops:
            self.feat("loop_update")
            self.feat("elementwise_in_loop")
        return [f"{pad}{target.name} = {e.code}"], False

    def st_augment(self, scope, indent):
        """Accumulators: ``acc = 0.0`` then ``acc = acc + v`` / ``acc += v`` in a loop."""
        pad = " " * indent
        accs = [v for v in scope.floats() if v.budget is not None]
        if accs and scope.loops:
            acc = self.choice(accs)
            inc = self.squash(self.expr(scope, 2, acc.shape), Interval(-1.0, 1.0))
            cost = scope.executions() * inc.iv.mag
            if cost <= acc.budget:
                acc.budget -= cost
                form = self.choice(["{a} = {a} + {e}", "{a} += {e}", "{a} = {e} + {a}"])
                if "+=" in form and acc.shape:
                    self.feat("iadd_array")
                self.feat("elementwise_in_loop")
                return [pad + form.format(a=acc.name, e=inc.code)], False
        # a new accumulator and a loop that fills it
        shape = self.choice([(3,), (2,), (), (2, 3)])
        name = self.fresh(self.choice(["acc", "total", "running"]))
        count = self.rng.randint(1, 3)
        index = self.loop_name(scope)
        lines = [f"{pad}{name} = 0.0", f"{pad}for {index} in range({count}):"]
        scope.vars[index] = Var(index, (), Interval(0, count - 1), is_int=True, hi=count - 1)
        scope.bound.add(index)
        scope.loops.append(count)
        inc = self.squash(self.expr(scope, 2, shape), Interval(-1.0, 1.0))
        scope.loops.pop()
        scope.bound.discard(index)
        lines.append(f"{pad}    {name} = {name} + {inc.code}")
        if shape:
            self.feat("acc_number_to_array")
        self.feat("for_range")
        self.feat("elementwise_in_loop")
        scope.vars[name] = Var(name, shape, Interval(-ACC_BUDGET - 2, ACC_BUDGET + 2),
                               budget=ACC_BUDGET - count * inc.iv.mag)
        scope.bound.add(name)
        return lines, False

    def st_setitem(self, scope, indent):
        pad = " " * indent
        lines = []
        buffers = [v for v in scope.floats() if v.shape and v.name not in self.params
                   and v.budget is None]
        if not buffers or self.r() < 0.4:
            shape = self.choice([(3,), (3,), (2, 3), (2,)])
            name = self.fresh(self.choice(["y", "buf", "M", "out"]))
            source = self.expr(scope, 1, shape)
            init = self.choice([f"{par(source)}.copy()", f"np.zeros({shape if len(shape) > 1 else shape[0]})",
                                f"{par(source)} * 1.0", f"np.array({source.code})",
                                f"np.zeros_like({source.code})"])
            iv = Interval(0.0) if "zeros" in init else source.iv
            var = Var(name, shape, iv.hull(VALUES))
            scope.vars[name] = var
            scope.bound.add(name)
            lines.append(f"{pad}{name} = {init}")
        else:
            var = self.choice(buffers)
        lines += self.item_assignment(scope, indent, var)
        return lines, False

    def item_assignment(self, scope, indent, var):
        pad = " " * indent
        shape = var.shape
        ints = [v for v in scope.ints()]
        roll = self.r()
        if len(shape) == 1:
            n = shape[0]
            if roll < 0.3 or not ints:
                k = self.choice([0, -1, 1] if n > 1 else [0])
                value = self.squash(self.expr(scope, 2, ()), var.iv)
                self.feat("setitem")
                if k < 0:
                    self.feat("index_negative")
                return [f"{pad}{var.name}[{k}] = {value.code}"]
            if roll < 0.45 and n == 3:
                if self.r() < 0.5:
                    src = self.leaf(scope, (2,))
                    src = self.squash(src, var.iv)
                    self.feat("setitem_fancy")
                    self.feat("fancy_repeated")
                    return [f"{pad}{var.name}[np.array([0, 0])] = {src.code}"]
                inc = self.squash(self.expr(scope, 1, (3,)), Interval(-0.3, 0.3))
                index = "idx" if self.has_idx and self.r() < 0.6 else "np.array([0, 0, 2])"
                if index == "idx":
                    self.feat("global_array")
                self.feat("setitem_fancy_add")
                # repeated indices: Python adds once per distinct index (last write wins)
                return [f"{pad}{var.name} = {par(self.squash(A(var.name, shape, var.iv, True), Interval(-1.0, 1.0)))}",
                        f"{pad}{var.name}[{index}] += {inc.code}"]
            if roll < 0.6:
                m = n - 1
                value = self.squash(self.expr(scope, 2, (m,)), var.iv)
                self.feat("setitem")
                self.feat("index_slice")
                return [f"{pad}{var.name}[1:] = {value.code}"]
            if roll < 0.7:
                inc = self.squash(self.expr(scope, 1, shape), Interval(-0.5, 0.5))
                self.feat("iadd_array")
                return [f"{pad}{var.name} *= 0.5", f"{pad}{var.name} += {inc.code}"]
            # in a loop over the elements
            index = self.loop_name(scope)
            scope.vars[index] = Var(index, (), Interval(0, n - 1), is_int=True, hi=n - 1)
            scope.bound.add(index)
            scope.loops.append(n)
            value = self.expr(scope, 2, (), must=None)
            scope.loops.pop()
            scope.bound.discard(index)
            current = f"{var.name}[{index}]"
            # the item itself, or (a recurrence) the one the pass before wrote: the
            # backward sweep must see each pass's values, changes in place undone in turn
            read = current if n < 2 or self.r() < 0.6 else f"{var.name}[{index} - 1]"
            update = self.squash(A(f"0.5 * {read} + 0.5 * {par(self.squash(value, UNIT))}", (),
                                   var.iv * 0.5 + Interval(-0.5, 0.5)), var.iv)
            self.feat("setitem_in_loop")
            self.feat("setitem")
            self.feat("for_range")
            if read != current:
                self.feat("setitem_recurrence")
            return [f"{pad}for {index} in range({n}):", f"{pad}    {current} = {update.code}"]
        # two dimensions
        rows, cols = shape
        if roll < 0.35:
            i, j = self.rng.randrange(rows), self.choice([0, -1, 1])
            value = self.squash(self.expr(scope, 2, ()), var.iv)
            self.feat("setitem_tuple")
            return [f"{pad}{var.name}[{i}, {j}] = {value.code}"]
        if roll < 0.55:
            value = self.squash(self.expr(scope, 2, (rows,)), var.iv)
            self.feat("setitem_ellipsis")
            return [f"{pad}{var.name}[..., {self.choice([0, -1])}] = {value.code}"]
        if roll < 0.7:
            value = self.squash(self.expr(scope, 2, (cols,)), var.iv)
            self.feat("setitem")
            return [f"{pad}{var.name}[{self.rng.randrange(rows)}] = {value.code}"]
        i, j = self.loop_name(scope), None
        scope.vars[i] = Var(i, (), Interval(0, rows - 1), is_int=True, hi=rows - 1)
        scope.bound.add(i)
        j = self.loop_name(scope)
        scope.vars[j] = Var(j, (), Interval(0, cols - 1), is_int=True, hi=cols - 1)
        scope.bound.add(j)
        scope.loops += [rows, cols]
        value = self.squash(self.expr(scope, 1, ()), UNIT)
        scope.loops = scope.loops[:-2]
        scope.bound -= {i, j}
        update = self.squash(A(f"0.5 * {var.name}[{i}, {j}] + 0.5 * {par(value)}", (),
                               var.iv * 0.5 + Interval(-0.5, 0.5)), var.iv)
        self.feat("setitem_in_loop")
        self.feat("setitem_tuple")
        self.feat("nested_loop")
        return [f"{pad}for {i} in range({rows}):", f"{pad}    for {j} in range({cols}):",
                f"{pad}        {var.name}[{i}, {j}] = {update.code}"]

    def st_alias(self, scope, indent):
        """A second name for an array, then a change through it: Python changes both."""
        pad = " " * indent
        candidates = [v for v in scope.floats() if v.shape == (3,)]
        if not candidates:
            return self.st_assign(scope, indent)
        src = self.choice(candidates)
        name = self.fresh(self.choice(["alias", "view", "ref", "bb"]))
        roll = self.r()
        other = [v for v in candidates if v is not src]
        shape, iv = (3,), src.iv
        if roll < 0.25 and "ident" in self.helper_sigs:
            code = f"ident({src.name})"
            self.feat("alias_ident")
        elif roll < 0.45 and other:
            o = self.choice(other)
            code = f"{src.name} if {self.condition(scope)} else {o.name}"
            iv = VALUES  # writes must suit both
            self.feat("alias_ifexp")
        elif roll < 0.5 and other:
            o = self.choice(other)
            code = f"{src.name} or {o.name}"  # ambiguous truth value: the primal raises
            iv = VALUES
            self.feat("alias_or")
        elif roll < 0.75:
            code, shape = f"{src.name}[1:]", (2,)
            self.feat("alias_slice")
        else:
            code = src.name
            self.feat("alias_plain")
        scope.vars[name] = Var(name, shape, iv)
        scope.bound.add(name)
        if src.name in self.params:
            self.feat("mutate_parameter")
        lines = [f"{pad}{name} = {code}"]
        self.feat("mutate_alias")
        value = self.squash(self.expr(scope, 1, ()), VALUES)
        if self.r() < 0.7:
            lines.append(f"{pad}{name}[0] = {value.code}")
        else:
            inc = self.squash(self.expr(scope, 1, shape), Interval(-0.5, 0.5))
            lines += [f"{pad}{name} *= 0.5", f"{pad}{name} += {inc.code}"]
        return lines, False

    # -- in-place changes through views, double buffers, lengths known at run time ------
    def form_loop(self, scope, indent, rng, count, draw, limit=None):
        """``for k in range(limit):`` (``limit`` the text of the count, ``count`` by
        default) around the lines ``draw(inner_pad, k)`` gives, with a statement of the
        generator sometimes before and after them (the index bound while all are drawn):
        the forms combine with branches, calls, reductions and other changes."""
        pad, inner = " " * indent, " " * (indent + 4)
        index = self.loop_name(scope)
        before = set(scope.bound)
        scope.vars[index] = Var(index, (), Interval(0, count - 1), is_int=True, hi=count - 1)
        scope.bound.add(index)
        scope.loops.append(count)
        scope.depth += 1
        lines = []
        if rng.random() < 0.35:
            saved = set(scope.bound)
            top, term = self.block(scope, indent + 4, 1)
            if term:  # the lines after it would never run
                scope.bound = saved
            else:
                lines += top
        lines += draw(inner, index)
        if rng.random() < 0.3:
            bottom, _ = self.block(scope, indent + 4, 1)
            lines += bottom
        scope.depth -= 1
        scope.loops.pop()
        scope.bound = before
        return [f"{pad}for {index} in range({limit or count}):"] + lines

    def working_array(self, scope, rng, lengths) -> tuple[A, Interval]:
        """A 1-d array to copy, of one of ``lengths``: a variable, or an expression; and
        a symmetric interval [-M, M] holding it and [-2, 2] (sums of its elements with
        coefficients whose magnitudes add up to at most 1 stay inside)."""
        lengths = [n for n in lengths if n != 4 or "A" in self.global_arrays]
        candidates = [v for v in scope.floats() if len(v.shape) == 1 and v.shape[0] in lengths
                      and v.iv.finite(LIMIT)]
        if candidates and rng.random() < 0.75:
            var = rng.choice(candidates)
            e = A(var.name, var.shape, var.iv, True)
        else:
            e = self.squash(self.expr(scope, 1, (rng.choice(lengths),)), VALUES)
        bound = max(e.iv.mag, 2.0)
        return e, Interval(-bound, bound)

    def matrix_state(self, scope, rng) -> tuple[str, tuple, Interval]:
        """A fresh 2-d array of at least 3 rows and columns (a stencil's interior is not
        empty): ``A * p`` (4, 3) or ``np.outer(p, q)`` (3, 3); its code, shape and
        symmetric interval."""
        if "A" in self.global_arrays and rng.random() < 0.5:
            p = self.squash(self.expr(scope, 1, (3,)), UNIT)
            self.feat("global_array")
            iv = self.global_arrays["A"].iv * p.iv
            code, shape = f"A * {par(p)}", (4, 3)
        else:
            p = self.squash(self.expr(scope, 1, (3,)), VALUES)
            q = self.squash(self.expr(scope, 1, (3,)), UNIT)
            iv = p.iv * q.iv
            code, shape = f"np.outer({p.code}, {q.code})", (3, 3)
        bound = max(iv.mag, 2.0)
        return code, shape, Interval(-bound, bound)

    def coefficient(self, scope, target: Interval) -> A:
        """A number in ``target``, computed from the variables (or a constant)."""
        return self.squash(self.expr(scope, 1, ()), target)

    def observe(self, scope, indent, name) -> list[str]:
        """``observed = observed + 0.1 * np.sum(name * name)`` (``observed`` is 0.0 at the
        program's start, and the result adds it): the array reaches the result even when
        it is made in a branch or a loop, where the result cannot read it. Also read by
        the result when still bound there."""
        if not self.sink:
            self.sink = self.fresh("observed")
        self.result_reads.append(name)
        return [f"{' ' * indent}{self.sink} = {self.sink} + 0.1 * np.sum({name} * {name})"]

    def st_views(self, scope, indent):
        """An array copied (``u = x.copy()``, ``u = x * 1.0``), then changed in place in a
        loop through slices while views of it are read: ``u[1:] += w * (u[1:] * 2.0)``,
        the heat equation's ``u[1:-1] += c * (u[2:] - 2 * u[1:-1] + u[:-2])``, a temporary
        read from a view (``d = u[1:] * 2.0; u[1:] = w * d``), ``y[1:] *= w * y[:-1]``,
        ``u[:-1] = 0.5 * (u[:-1] + u[1:])``, and on a matrix ``U[1:-1, 1:-1] += ...``.
        Each change is a sum of the elements with coefficients whose magnitudes add up to
        at most 1, so the array stays in its interval. Drawn from its own stream."""
        rng = self.views_rng
        pad = " " * indent
        if rng.random() < 0.2:  # a 2-d stencil
            code, shape, iv = self.matrix_state(scope, rng)
            name = self.fresh(rng.choice(["U", "grid", "field"]))
            lines = [f"{pad}{name} = {code}"]
            forms = ["heat2d"]
        else:
            src, iv = self.working_array(scope, rng, [2, 3, 3, 4])
            shape = src.shape
            name = self.fresh(rng.choice(["u", "y", "state", "temp"]))
            init = rng.choice(["copy", "scaled"])
            self.feat(f"inplace_view:{init}")
            lines = [f"{pad}{name} = {par(src)}.copy()" if init == "copy"
                     else f"{pad}{name} = {par(src)} * 1.0"]
            forms = ["augmented", "temporary", "whole_temporary", "overlap", "shifted"]
            if shape[0] >= 3:
                forms += ["heat", "heat", "heat"]
            forms = rng.sample(forms, rng.choice([1, 1, 2]))
        scope.vars[name] = Var(name, shape, iv)
        scope.bound.add(name)
        u, bound = name, iv.hi

        def draw(inner, index):
            out = []
            for form in forms:
                self.feat(f"inplace_view:{form}")
                if form == "augmented":  # u[1:] scaled by 1 + 2w, in [0.1, 0.9]
                    w = self.coefficient(scope, Interval(-0.45, -0.05))
                    out.append(f"{inner}{u}[1:] += {par(w)} * ({u}[1:] * 2.0)")
                elif form == "heat":
                    c = self.coefficient(scope, Interval(0.05, 0.45))
                    out.append(f"{inner}{u}[1:-1] += {par(c)} * ({u}[2:] - 2 * {u}[1:-1] "
                               f"+ {u}[:-2])")
                elif form == "heat2d":
                    c = self.coefficient(scope, Interval(0.05, 0.24))
                    out.append(f"{inner}{u}[1:-1, 1:-1] += {par(c)} * ({u}[2:, 1:-1] + "
                               f"{u}[:-2, 1:-1] + {u}[1:-1, 2:] + {u}[1:-1, :-2] - "
                               f"4 * {u}[1:-1, 1:-1])")
                elif form in ("temporary", "whole_temporary"):
                    d = self.fresh("d")
                    w = self.coefficient(scope, Interval(-0.45, 0.45))
                    if form == "temporary":
                        out.append(f"{inner}{d} = {u}[1:] * 2.0")
                        value = f"{par(w)} * {d}"
                    else:
                        out.append(f"{inner}{d} = {u} * 2.0")
                        value = f"{par(w)} * {d}[:-1]"
                    if rng.random() < 0.3:  # |w| 2 M + 0.1 M <= M
                        self.feat("reduce:mean")
                        value += f" + 0.1 * np.mean({u})"
                    out.append(f"{inner}{u}[1:] = {value}")
                elif form == "overlap":  # |w y[i - 1]| <= 0.9
                    w = self.coefficient(scope, Interval(-0.9 / bound, 0.9 / bound))
                    out.append(f"{inner}{u}[1:] *= {par(w)} * {u}[:-1]")
                else:
                    out.append(f"{inner}{u}[:-1] = 0.5 * ({u}[:-1] + {u}[1:])")
            return out

        lines += self.form_loop(scope, indent, rng, rng.randint(1, 4), draw)
        lines += self.observe(scope, indent, u)
        self.feat("for_range")
        return lines, False

    def st_double_buffer(self, scope, indent):
        """Double-buffered time steps: ``new = u.copy()`` (or ``np.zeros_like(u)``, ``u *
        1.0``) at the top of the loop's body, ``new[1:-1] = ...`` reading ``u`` and
        ``prev`` (a damped wave equation), then ``prev = u; u = new``. Sometimes a second
        name for the new array, bound after it is made and read after the change, which
        srcdiff must refuse (Python changes the array both names hold), never get
        wrong. Drawn from its own stream."""
        rng = self.buffer_rng
        pad = " " * indent
        two_d = rng.random() < 0.2
        if two_d:
            code, shape, iv = self.matrix_state(scope, rng)
            inside = "[1:-1, 1:-1]"
            self.feat("double_buffer:2d")
        else:
            src, iv = self.working_array(scope, rng, [3, 3, 4])
            shape = src.shape
            code = f"{par(src)}.copy()" if rng.random() < 0.6 else f"{par(src)} * 1.0"
            inside = "[1:-1]"
        u, prev, new = self.fresh("u"), self.fresh("prev"), self.fresh("new")
        others = [v for v in scope.floats(shape) if v.iv.within(iv)]
        first = rng.choice([f"{u}.copy()", f"{u} * 1.0", f"np.zeros_like({u})"]
                           + ([f"{rng.choice(others).name}.copy()"] if others else []))
        lines = [f"{pad}{u} = {code}", f"{pad}{prev} = {first}"]
        for name in (u, prev):
            scope.vars[name] = Var(name, shape, iv)
            scope.bound.add(name)
        make = rng.choice(["copy", "zeros_like", "scaled"])
        self.feat(f"double_buffer:{make}")
        alias = self.fresh("alias") if rng.random() < 0.2 else None
        steps = rng.randint(1, 4)
        total = None
        if alias:
            total = self.fresh("total")
            lines.append(f"{pad}{total} = 0.0")
        first_item = "[0, 0]" if two_d else "[0]"

        def lap(a):
            if two_d:
                return (f"{a}[2:, 1:-1] + {a}[:-2, 1:-1] + {a}[1:-1, 2:] + {a}[1:-1, :-2] "
                        f"- 4 * {a}[1:-1, 1:-1]")
            return f"{a}[2:] - 2 * {a}[1:-1] + {a}[:-2]"

        def draw(inner, index):
            out = [inner + new + " = " + {"copy": f"{u}.copy()", "zeros_like": f"np.zeros_like({u})",
                                          "scaled": f"{u} * 1.0"}[make]]
            if alias:  # bound after the array is made: the same array
                self.feat("double_buffer:alias_refused")
                out.append(f"{inner}{alias} = {new}")
            if not two_d and rng.random() < 0.3:
                self.feat("double_buffer:boundary")
                value = self.squash(self.expr(scope, 1, ()), iv)
                out.append(f"{inner}{new}[{rng.choice(['0', '-1'])}] = {value.code}")
            # 0.3 (|2 - 2c| + 1 + 2c) = 0.9 in 1-d, 0.3 (|2 - 4c| + 1 + 4c) in 2-d (c <= 0.45)
            c = self.coefficient(scope, Interval(0.05, 0.45))
            out.append(f"{inner}{new}{inside} = 0.3 * (2 * {u}{inside} - {prev}{inside} "
                       f"+ {par(c)} * ({lap(u)}))")
            if alias:
                out.append(f"{inner}{total} = {total} + {alias}{first_item}")
            out += [f"{inner}{prev} = {u}", f"{inner}{u} = {new}"]
            return out

        lines += self.form_loop(scope, indent, rng, steps, draw)
        if total:
            scope.vars[total] = Var(total, (), Interval(-steps * iv.hi, steps * iv.hi))
            scope.bound.add(total)
            lines += self.observe(scope, indent, total)
        lines += self.observe(scope, indent, u)
        self.feat("for_range")
        return lines, False

    def st_runtime_shape(self, scope, indent):
        """An array whose length is computed while the program runs: ``n = len(v)``, ``n
        = M.shape[0]``, ``n = v.shape[-1] - 1``, ``n = A.shape[0]``, then ``z =
        np.zeros(n)`` (``np.ones(n)``, ``np.full(n, 0.5)``) filled in ``for i in
        range(n)``: item by item (maybe from the item before, or differences of ``v``), or
        by forward substitution with a well-conditioned lower triangular ``L`` (diagonal
        in [1, 2], the rest at most 0.2). Drawn from its own stream."""
        rng = self.runtime_rng
        pad = " " * indent
        options = {"len": [], "shape0": [], "shape_last": [], "global": []}
        for v in scope.floats():
            if not v.shape:
                continue
            if v.shape[0] >= 2:
                options["len"].append((v, v.shape[0], f"len({v.name})"))
                options["shape0"].append((v, v.shape[0], f"{v.name}.shape[0]"))
            if v.shape[-1] >= 3:
                options["shape_last"].append((v, v.shape[-1] - 1, f"{v.name}.shape[-1] - 1"))
        if "A" in self.global_arrays:
            options["global"] += [(None, 4, "A.shape[0]"), (None, 3, "A.shape[1]")]
        how = rng.choice([k for k in options if options[k]] + ["global"] * bool(options["global"]))
        src, m, text = rng.choice(options[how])
        self.feat(f"runtime_shape:{how}")
        if how == "global":
            self.feat("global_array")
        n, z = self.fresh("n"), self.fresh(rng.choice(["z", "sol", "filled"]))
        init = rng.choice(["zeros", "ones", "full"])
        self.feat(f"runtime_shape:{init}")
        fill = fmt(round(rng.uniform(-1.0, 1.0), 2) or 0.5)
        lines = [f"{pad}{n} = {text}",
                 f"{pad}{z} = " + {"zeros": f"np.zeros({n})", "ones": f"np.ones({n})",
                                   "full": f"np.full({n}, {fill})"}[init]]
        scope.vars[n] = Var(n, (), Interval(m), is_int=True, hi=m)
        scope.bound.add(n)
        if rng.random() < 0.4:  # forward substitution: L z = rhs
            self.feat("runtime_shape:forward_substitution")
            if src is not None and src.shape == (m,) and src.iv.within(VALUES):
                rhs = src.name
            else:
                rhs = self.fresh("rhs")
                lines.append(f"{pad}{rhs} = {self.squash(self.expr(scope, 1, (m,)), VALUES).code}")
            lower = self.fresh("L")
            if rng.random() < 0.3:
                self.feat("runtime_shape:constant_lower")
                values = numpy.tril(numpy.round(self.np.uniform(-0.2, 0.2, size=(m, m)), 2), -1)
                values[numpy.diag_indices(m)] = numpy.round(self.np.uniform(1.0, 2.0, size=m), 2)
                lower = self.fresh("LOWER")
                self.globals.append(f"{lower} = np.array({values.tolist()!r})")
            else:
                d = self.expr(scope, 1, (m,))
                p = self.squash(self.expr(scope, 1, (m,)), UNIT)
                q = self.squash(self.expr(scope, 1, (m,)), UNIT)
                self.feat("more:tril")
                self.feat("outer")
                lines.append(f"{pad}{lower} = np.diag(1.5 + 0.5 * np.tanh({d.code})) + "
                             f"0.2 * np.tril(np.outer({p.code}, {q.code}), -1)")
            # |z_i| <= 2 + 0.2 (m - 1) Z: Z = 2 / (1 - 0.2 (m - 1))
            bound = 2.0 / (1 - 0.2 * (m - 1)) + 1e-9
            iv = Interval(-bound, bound)
            scope.vars[z] = Var(z, (m,), iv)
            scope.bound.add(z)
            acc = self.fresh("acc")

            def draw(inner, i):
                j = self.loop_name(scope)
                self.used.add(j)
                self.feat("nested_loop")
                return [f"{inner}{acc} = {rhs}[{i}]", f"{inner}for {j} in range({i}):",
                        f"{inner}    {acc} -= {lower}[{i}, {j}] * {z}[{j}]",
                        f"{inner}{z}[{i}] = {acc} / {lower}[{i}, {i}]"]
        else:
            self.feat("runtime_shape:fill")
            iv = VALUES.hull(Interval(float(fill))) if init == "full" else VALUES
            scope.vars[z] = Var(z, (m,), iv)
            scope.bound.add(z)
            difference = (how == "shape_last" and len(src.shape) == 1
                          and rng.random() < 0.7)

            def draw(inner, i):
                if difference:
                    self.feat("runtime_shape:difference")
                    value = self.squash(A(f"{src.name}[{i} + 1] - {src.name}[{i}]", (),
                                          src.iv - src.iv), VALUES)
                else:
                    value = self.squash(self.expr(scope, 2, ()), VALUES)
                if rng.random() < 0.4:  # from the item before (the last, first)
                    self.feat("setitem_recurrence")
                    return [f"{inner}{z}[{i}] = 0.5 * {z}[{i} - 1] + 0.5 * {par(value)}"]
                return [f"{inner}{z}[{i}] = {value.code}"]

        lines += self.form_loop(scope, indent, rng, m, draw, limit=n)
        lines += self.observe(scope, indent, z)
        self.feat("setitem_in_loop")
        self.feat("for_range")
        return lines, False

    def loop_name(self, scope):
        for name in ["i", "j", "k", "i2", "j2", "k2"]:
            if name not in scope.bound:
                self.used.add(name)
                return name
        return self.fresh("i")

    def element(self, scope, shape, index: str, count: int) -> A:
        """An expression of ``shape`` in [-2, 2] that may read the loop index ``index``
        (0 .. count - 1), visible only while it is drawn."""
        scope.vars[index] = Var(index, (), Interval(0, count - 1), is_int=True, hi=count - 1)
        scope.bound.add(index)
        scope.loops.append(count)
        try:
            return self.squash(self.expr(scope, 2, shape), Interval(-2.0, 2.0))
        finally:
            scope.loops.pop()
            scope.bound.discard(index)
            del scope.vars[index]

    def st_lists(self, scope, indent):
        """Lists and comprehensions of arrays: numpy.array of a comprehension, arrays
        appended to a list then stacked, sum over an array's rows, max of a generator."""
        pad = " " * indent
        kind = self.choice(["comprehension", "stacked", "rows", "max", "cast", "item"])
        index = self.fresh("k")
        name = self.fresh(self.choice(["y", "z", "parts"]))
        arrays = [v for v in scope.floats() if v.shape]
        if kind == "cast" and arrays:  # casts: to integers (no derivative), masks, floats
            source = self.choice(arrays)
            how = self.choice(["int", "mask", "float"])
            self.feat(f"cast:{how}")
            cast = {"int": f"{source.name}.astype(int)",
                    "mask": f"np.asarray({source.name} > {round(self.rng.uniform(-1.0, 1.0), 2)}, dtype=float)",
                    "float": f"np.array({source.name}, dtype=float)"}[how]
            e = self.squash(self.expr(scope, 2, source.shape), Interval(-2.0, 2.0))
            bound = max(abs(source.iv.lo), abs(source.iv.hi), 1.0)
            scope.vars[name] = Var(name, source.shape, Interval(-2.0 * bound, 2.0 * bound))
            scope.bound.add(name)
            return [f"{pad}{name} = {cast} * ({e.code})"], False
        if kind == "rows" and arrays:
            self.feat("sum_of_rows")
            source = self.choice(arrays)
            row = self.fresh("row")
            count = source.shape[0]
            scope.vars[row] = Var(row, source.shape[1:], source.iv)
            scope.bound.add(row)
            e = self.squash(self.expr(scope, 2, source.shape[1:], must=row), Interval(-2.0, 2.0))
            scope.bound.discard(row)
            del scope.vars[row]
            scope.vars[name] = Var(name, source.shape[1:], Interval(-2.0 * count, 2.0 * count))
            scope.bound.add(name)
            return [f"{pad}{name} = sum({e.code} for {row} in {source.name})"], False
        if kind == "item":  # x.item() of a size-1 array: a reduction, or a slice
            self.feat("item")
            e = self.squash(self.expr(scope, 2, (3,)), Interval(-2.0, 2.0))
            scope.vars[name] = Var(name, (), Interval(-6.0, 6.0))
            scope.bound.add(name)
            text = self.choice([f"np.sum({e.code}).item()", f"({e.code})[1:2].item()"])
            return [f"{pad}{name} = {text}"], False
        if kind == "max":
            self.feat("max_of_generator")
            count = self.rng.randint(1, 3)
            e = self.element(scope, (), index, count)
            scope.vars[name] = Var(name, (), Interval(-2.0, 2.0))
            scope.bound.add(name)
            which = self.choice(["max", "min"])
            return [f"{pad}{name} = {which}({e.code} for {index} in range({count}))"], False
        if kind == "stacked":
            self.feat("stacked_appends")
            rows = self.fresh("rows")
            e = self.element(scope, (3,), index, 2)
            scope.vars[name] = Var(name, (2, 3), Interval(-2.0, 2.0))
            scope.bound.add(name)
            return [f"{pad}{rows} = []", f"{pad}for {index} in range(2):",
                    f"{pad}    {rows}.append({e.code})", f"{pad}{name} = np.stack({rows})"], False
        self.feat("comprehension_array")
        count = self.choice([2, 3])
        e = self.element(scope, (), index, count)
        scope.vars[name] = Var(name, (count,), Interval(-2.0, 2.0))
        scope.bound.add(name)
        return [f"{pad}{name} = np.array([{e.code} for {index} in range({count})])"], False

    def st_unpack(self, scope, indent):
        """An array unpacked: its items (``a, b = v``), its rows (``r0, r1 = M``), or a
        row's items (``a, b, c = M[1]``); Python checks the count, and so must the
        gradient. From its own stream, so other programs are unchanged."""
        rng = self.unpack_rng
        pad = " " * indent
        source = rng.choice([v for v in scope.floats() if v.shape and v.shape[0] <= 3])
        if len(source.shape) == 2 and rng.random() < 0.5:
            row = rng.randrange(-source.shape[0], source.shape[0])
            value, count, shape = f"{source.name}[{row}]", source.shape[1], ()
            self.feat("unpack_row")
        else:
            value, count, shape = source.name, source.shape[0], source.shape[1:]
            self.feat("unpack_array")
        names = [self.fresh(rng.choice(["a", "e", "item"])) for _ in range(count)]
        for name in names:
            scope.vars[name] = Var(name, shape, source.iv)
            scope.bound.add(name)
        return [f"{pad}{', '.join(names)} = {value}"], False

    def st_raise(self, scope, indent):
        """``if <test>: raise E(<message>)``, the message marked "fuzz:" (the harness
        then asks the gradient for the same exception): mostly a test the values never
        pass (a shape, a bound beyond the interval, a nan), so the gradient is compared;
        sometimes a condition that may hold. The message reads shapes and values."""
        rng = self.raise_rng
        pad, inner = " " * indent, " " * (indent + 4)
        var = rng.choice(sorted(scope.floats(), key=lambda v: v.name))
        bound = fmt(max(abs(var.iv.lo), abs(var.iv.hi)) + 1.0)
        roll = rng.random()
        if roll < 0.25:
            self.feat("raise_may_fire")
            test = self.condition(scope)
        elif var.shape and roll < 0.5:
            self.feat("raise_shape")
            test = rng.choice([f"{var.name}.shape != {var.shape!r}",
                               f"np.ndim({var.name}) != {len(var.shape)}",
                               f"len({var.name}) != {var.shape[0]}"])
        elif roll < 0.75:
            self.feat("raise_bound")
            test = f"np.max(np.abs({var.name})) > {bound}" if var.shape else \
                f"abs({var.name}) > {bound}"
        else:
            self.feat("raise_nan")
            test = f"np.any(np.isnan({var.name}))" if var.shape else f"{var.name} != {var.name}"
        shown = rng.choice([f"{{{var.name}.shape}}" if var.shape else f"{{{var.name}!r}}",
                            f"{{np.max({var.name})}}", f"{{type({var.name}).__name__}}"])
        kind = rng.choice(["ValueError", "FloatingPointError", "RuntimeError"])
        self.feat("raise")
        return [f"{pad}if {test}:", f'{inner}raise {kind}(f"fuzz: {var.name} {shown}")'], False

    def st_grown(self, scope, indent):
        """A list grown while the program runs, over an array's rows: a comprehension
        (maybe with a condition) or appends in a loop (maybe under an ``if``), then given
        to NumPy, reduced by ``sum``, read by position, counted or looped over."""
        rng = self.grown_rng
        pad = " " * indent
        source = rng.choice([v for v in scope.floats() if v.shape])
        count, element_shape = source.shape[0], source.shape[1:]
        row, name, ys = self.fresh("row"), self.fresh("g"), self.fresh("ys")
        scope.vars[row] = Var(row, element_shape, source.iv)
        scope.bound.add(row)
        e = self.squash(self.expr(scope, 2, element_shape, must=row), Interval(-2.0, 2.0))
        condition = None
        if rng.random() < 0.3:
            self.feat("grown_condition")
            condition = self.condition(scope)
        scope.bound.discard(row)
        del scope.vars[row]
        # with a condition the length is known only when it runs: reductions to a number
        consumers = ["sum", "generator", "len"] if condition else \
            ["sum", "array", "stack", "mean", "python_sum", "generator", "indexed", "len"]
        consumer = rng.choice(consumers)
        self.feat(f"grown:{consumer}")
        lines = []
        if rng.random() < 0.5:
            self.feat("grown_comprehension")
            test = f" if {condition}" if condition else ""
            lines.append(f"{pad}{ys} = [{e.code} for {row} in {source.name}{test}]")
        else:
            self.feat("grown_appends")
            lines += self.append_loop(pad, ys, f"{row} in {source.name}", e.code, condition)
        axis = rng.choice([0, -1])
        y = self.fresh("y")
        text, shape, bound = {
            "sum": (f"np.sum({ys})", (), 2.0 * count),
            "array": (f"np.array({ys})", (count,) + element_shape, 2.0),
            "stack": (f"np.stack({ys}, axis={axis})",
                      (count,) + element_shape if axis == 0 else element_shape + (count,), 2.0),
            "mean": (f"np.mean({ys}, axis=0)", element_shape, 2.0),
            "python_sum": (f"sum({ys})", element_shape, 2.0 * count),
            "generator": (f"sum(np.sum({y} * {y}) for {y} in {ys})", (), 4.0 * size(element_shape) * count),
            "indexed": (f"{ys}[{rng.randrange(-count, count)}]", element_shape, 2.0),
            "len": (f"np.sum({ys}) * len({ys})", (), 2.0 * count * count),
        }[consumer]
        lines.append(f"{pad}{name} = {text}")
        scope.vars[name] = Var(name, shape, Interval(-bound, bound))
        scope.bound.add(name)
        return lines, False

    def st_for(self, scope, indent):
        pad = " " * indent
        arrays = [v for v in scope.floats() if v.shape]
        if arrays and self.iterate_rng.random() < ITERATE_RATE:
            # over an array's rows (its own RNG stream: the other draws stay as they were)
            rng = self.iterate_rng
            first = rng.choice(arrays)
            how = rng.choice(["plain", "enumerate", "zip"])
            partners = [v for v in arrays if v is not first]
            # now and then an array computed where the loop starts (a slice, a function
            # of it) or enumerate(zip(...)) into nested targets (their own stream)
            first = self.computed_iterable(
                first, alone=how == "plain" or (how == "zip" and not partners))
            if how == "zip" and partners and self.computed_rng.random() < 0.25:
                second = self.computed_iterable(rng.choice(partners))
                a, b = self.fresh("row"), self.fresh("row")
                index = self.loop_name(scope)
                scope.vars[a] = Var(a, first.shape[1:], first.iv)
                scope.vars[b] = Var(b, second.shape[1:], second.iv)
                count = min(first.shape[0], second.shape[0])
                scope.vars[index] = Var(index, (), Interval(0, max(count - 1, 0)), is_int=True,
                                        hi=max(count - 1, 0))
                head = f"for {index}, ({a}, {b}) in enumerate(zip({first.name}, {second.name})):"
                bound = [index, a, b]
                self.feat("for_enumerate_zip_arrays")
            elif how == "zip" and partners:
                second = self.computed_iterable(rng.choice(partners))
                a, b = self.fresh("row"), self.fresh("row")
                scope.vars[a] = Var(a, first.shape[1:], first.iv)
                scope.vars[b] = Var(b, second.shape[1:], second.iv)
                count = min(first.shape[0], second.shape[0])
                head, bound = f"for {a}, {b} in zip({first.name}, {second.name}):", [a, b]
                self.feat("for_zip_arrays")
            elif how == "enumerate":
                var, index = self.fresh("row"), self.loop_name(scope)
                scope.vars[var] = Var(var, first.shape[1:], first.iv)
                count = first.shape[0]
                scope.vars[index] = Var(index, (), Interval(0, count - 1), is_int=True, hi=count - 1)
                head, bound = f"for {index}, {var} in enumerate({first.name}):", [index, var]
                self.feat("for_enumerate_array")
            else:
                var = self.fresh("row")
                scope.vars[var] = Var(var, first.shape[1:], first.iv)
                count = first.shape[0]
                head, bound = f"for {var} in {first.name}:", [var]
                self.feat("for_array")
            return self.loop_body(scope, indent, pad + head, bound, count)
        if self.global_lists and self.r() < 0.25:
            name = self.choice(sorted(self.global_lists))
            values = self.global_lists[name]
            var = self.fresh("c")
            scope.vars[var] = Var(var, (), Interval(min(values), max(values)))
            count = len(values)
            head = f"for {var} in {name}:"
            self.feat("for_list")
            self.feat("global_list")
        else:
            count = self.rng.randint(0, 3)
            var = self.loop_name(scope)
            scope.vars[var] = Var(var, (), Interval(0, max(count - 1, 0)), is_int=True, hi=max(count - 1, 0))
            head = f"for {var} in range({count}):"
            self.feat("for_range")
        return self.loop_body(scope, indent, pad + head, [var], count)

    def computed_iterable(self, array, alone=False):
        """``array`` itself, or (a fifth of the time, from ``computed_rng``) an array
        computed from it where the loop starts: a slice of its rows (``x[1:]``, ``x[::-1]``,
        ``x[:2]``), ``np.sin(x)``, ``x * 2.0`` or ``-x``, as a ``Var`` whose name is that
        expression (the loop reads it once)."""
        rng = self.computed_rng
        if rng.random() >= 0.2:
            return array
        rows = array.shape[0]
        how = rng.choice(["slice", "reversed", "head", "sin", "scaled", "negated", "abs"]
                         + (["reversed_call"] if alone else []))
        self.feat(f"for_computed:{how}")
        if how == "reversed_call":  # for row in reversed(x) (a loop over it alone)
            return Var(f"reversed({array.name})", array.shape, array.iv)
        if how == "abs":
            return Var(f"abs({array.name})", array.shape, Interval(0.0, max(
                abs(array.iv.lo), abs(array.iv.hi))))
        if how == "slice" and rows > 1:
            return Var(f"{array.name}[1:]", (rows - 1,) + array.shape[1:], array.iv)
        if how == "reversed":
            return Var(f"{array.name}[::-1]", array.shape, array.iv)
        if how == "head" and rows > 2:
            return Var(f"{array.name}[:2]", (2,) + array.shape[1:], array.iv)
        if how == "sin":
            return Var(f"np.sin({array.name})", array.shape, Interval(-1.0, 1.0))
        if how == "scaled":
            return Var(f"({array.name} * 2.0)", array.shape, array.iv * 2.0)
        return Var(f"(-{array.name})", array.shape, -array.iv)

    def loop_body(self, scope, indent, head, bound, count):
        """``head`` and a body drawn with ``bound`` (the loop's targets) bound, run
        ``count`` times."""
        if scope.loops:
            self.feat("nested_loop")
        before = set(scope.bound)
        scope.bound.update(bound)
        scope.loops.append(max(count, 1))
        scope.depth += 1
        body, _ = self.block(scope, indent + 4)
        scope.depth -= 1
        scope.loops.pop()
        scope.bound = before
        return [head] + body, False

    def st_while(self, scope, indent):
        pad = " " * indent
        counter = self.fresh("it")
        limit = self.rng.randint(1, 3)
        scope.vars[counter] = Var(counter, (), Interval(0, limit), is_int=True, hi=limit)
        lines = [f"{pad}{counter} = 0",
                 f"{pad}while {counter} < {limit} and {self.condition(scope)}:",
                 f"{pad}    {counter} += 1"]
        scope.bound.add(counter)
        before = set(scope.bound)
        scope.loops.append(limit)
        scope.depth += 1
        body, _ = self.block(scope, indent + 4)
        scope.depth -= 1
        scope.loops.pop()
        scope.bound = before
        self.feat("while")
        return lines + body, False

    def st_if(self, scope, indent):
        pad = " " * indent
        before = set(scope.bound)
        lines = [f"{pad}if {self.condition(scope)}:"]
        scope.depth += 1
        body, t1 = self.block(scope, indent + 4)
        after1 = None if t1 else set(scope.bound)
        lines += body
        scope.bound = set(before)
        after2 = set(before)
        t2 = False
        self.feat("if")
        if self.r() < 0.5:
            lines.append(f"{pad}else:")
            body, t2 = self.block(scope, indent + 4)
            lines += body
            after2 = None if t2 else set(scope.bound)
            self.feat("else")
        scope.depth -= 1
        live = [a for a in (after1, after2) if a is not None]
        if not live:
            scope.bound = before
            return lines, True
        scope.bound = set.intersection(*live)
        return lines, False

    def st_break(self, scope, indent):
        self.feat("break")
        return [f"{' ' * indent}if {self.condition(scope)}:", f"{' ' * indent}    break"], False

    def st_continue(self, scope, indent):
        self.feat("continue")
        return [f"{' ' * indent}if {self.condition(scope)}:", f"{' ' * indent}    continue"], False

    def st_ret(self, scope, indent):
        self.feat("early_return")
        value = self.expr(scope, 2, ())
        return [f"{' ' * indent}if {self.condition(scope)}:",
                f"{' ' * indent}    return {value.code}"], False

    # -- helpers and the module ----------------------------------------------------
    def make_helpers(self):
        options = ["ident", "layer", "huber", "normalize", "softplus", "stats", "mse"]
        chosen = self.rng.sample(options, self.rng.choice([0, 1, 1, 2, 3]))
        if self.allow_alias and "ident" not in chosen and self.rng.random() < 0.6:
            chosen.append("ident")
        for kind in chosen:
            if kind == "ident":
                self.helpers.append("def ident(a):\n    return a\n")
                self.helper_sigs["ident"] = ("ident",)
                self.feat("ident")
            elif kind == "layer":
                self.helpers.append("def layer(weights, inputs, bias=0.0):\n"
                                    "    return np.tanh(weights @ inputs + bias)\n")
                self.helper_sigs["layer"] = ("layer",)
                self.feat("helper_layer")
            elif kind == "huber":
                self.helpers.append(
                    "def huber(r, delta=1.0):\n    a = abs(r)\n"
                    "    return np.where(a < delta, 0.5 * r * r, delta * (a - 0.5 * delta))\n")
                self.helper_sigs["huber"] = ("elementwise", Interval(0.0, 8.0), 4.0)
                self.feat("huber")
                self.feat("abs_builtin")
            elif kind == "normalize":
                self.helpers.append("def normalize(u):\n    return u / (np.linalg.norm(u) + 0.5)\n")
                self.helper_sigs["normalize"] = ("elementwise", Interval(-2.0, 2.0), 4.0)
                self.feat("norm")
            elif kind == "softplus":
                self.helpers.append("def softplus(z):\n    if np.max(z) > 5.0:\n        return z\n"
                                    "    return np.log1p(np.exp(z))\n")
                self.helper_sigs["softplus"] = ("elementwise", Interval(0.0, 4.0), 3.5)
                self.feat("ufunc:log1p")
            elif kind == "stats":
                self.helpers.append("def stats(u):\n    m = np.mean(u)\n    return m, np.mean((u - m) ** 2)\n")
                self.helper_sigs["stats"] = ("tuple",)
                self.feat("helper_tuple")
            elif kind == "mse":
                self.helpers.append("def mse(a, target):\n    return np.mean((a - target) ** 2)\n")
                self.helper_sigs["mse"] = ("scalar",)
            self.feat("helper")
        if self.flags_rng.random() < FLAG_RATE:  # its own stream
            # a string saying what to compute, as people pass reduction="mean"
            default = self.flags_rng.choice(["sum", "mean", "max"])
            self.helpers.append(
                f'def reduce(v, how="{default}"):\n    if how == "sum":\n        return np.sum(v)\n'
                '    if how in ("mean", "average"):\n        return np.mean(v)\n'
                '    if how != "max":\n        raise ValueError(f"unknown reduction {how!r}")\n'
                '    return np.max(v)\n')
            self.helper_sigs["reduce"] = ("flag",)
            self.feat("string_flag")
        if self.recursion_rng.random() < 0.12:  # its own stream: recursion over arrays
            if self.recursion_rng.random() < 0.5:  # the base case the argument itself
                self.helpers.append("def smooth(v, k):\n    if k <= 0:\n        return v\n"
                                    "    return 0.5 * smooth(v, k - 1) + 0.25 * np.sin(v)\n")
            else:  # the base case a number: an array from the first step on (k >= 1)
                self.helpers.append("def smooth(v, k):\n    if k <= 0:\n        return 1.0\n"
                                    "    return 0.5 * v * smooth(v, k - 1)\n")
            self.helper_sigs["smooth"] = ("recursive",)
            self.feat("helper_recursive_arrays")
        if self.varargs_rng.random() < 0.15:  # its own stream: a helper taking *args
            self.helpers.append("def stacked(*rows):\n    return np.stack(rows)\n")
            self.helper_sigs["stacked"] = ("stacked",)
            self.feat("helper_varargs")

    def make_globals(self):
        if self.r() < 0.35:
            values = numpy.round(self.np.uniform(-1.0, 1.0, size=(4, 3)), 2)
            self.globals.append(f"A = np.array({values.tolist()!r})")
            self.global_arrays["A"] = A("A", (4, 3), Interval(values.min(), values.max()), True)
            self.used.add("A")
        if self.r() < 0.25:
            values = numpy.round(self.np.uniform(-1.0, 1.0, size=3), 2)
            self.globals.append(f"T = np.array({values.tolist()!r})")
            self.global_arrays["T"] = A("T", (3,), Interval(values.min(), values.max()), True)
            self.used.add("T")
        self.has_idx = self.r() < 0.2
        if self.has_idx:
            self.globals.append("idx = np.array([0, 0, 2])")
            self.used.add("idx")
        if self.r() < 0.3:
            values = [self.const() for _ in range(self.rng.randint(2, 3))]
            self.globals.append(f"C = {values!r}")
            self.global_lists["C"] = values
            self.used.add("C")

    def case(self) -> Case:
        rng = self.rng
        params = ["x"] + [p for p, chance in (("W", 0.7), ("s", 0.6), ("v", 0.3), ("b", 0.25))
                          if rng.random() < chance]
        self.params = params
        self.param_iv = Interval(-1.5, 1.5)
        self.used.update(params)
        self.make_globals()
        self.make_helpers()
        scope = Scope()
        self.scope = scope
        for p in params:
            scope.vars[p] = Var(p, PARAMETERS[p], VALUES)
            scope.bound.add(p)
        lines = []
        special = self.special_lines(scope)
        lines += special
        for _ in range(rng.randint(2, 6)):
            new, term = self.statement(scope, 4)
            lines += new
            if term:
                break
        else:
            lines.append("    return " + self.final(scope))
        if self.sink:  # (st_views and the like add their arrays to it)
            lines.insert(0, f"    {self.sink} = 0.0")
        point = []
        ranks = {}
        for p in params:
            shape = PARAMETERS[p]
            if shape:
                point.append(self.np.uniform(-1.5, 1.5, size=shape))
                ranks[p] = len(shape)
            else:
                point.append(float(self.np.uniform(-1.5, 1.5)))
        source = "import numpy as np\n" + (
            "from scipy import special\n" if self.uses_special else "") + (
            "import srcdiff\n" if self.uses_stop or self.uses_marked else "") + "\n"
        if self.globals:
            source += "\n".join(self.globals) + "\n\n"
        if self.uses_marked:  # elementwise: like its argument, a number or an array
            source += (f"\n@srcdiff.nondifferentiable\ndef {SNAP}(v):\n"
                       "    return np.floor(v * 64.0) / 64.0\n\n")
        for helper in self.helpers:
            source += "\n" + helper + "\n"
        source += f"\ndef program({', '.join(params)}):\n" + "\n".join(lines) + "\n"
        if self.float32:
            self.feat("float32")
        return Case("arrays", self.seed, source, tuple(point), tuple(range(len(params))),
                    tuple(params), ranks=ranks, features=self.features, float32=self.float32)

    def special_lines(self, scope):
        """Constructs that need particular parameters: helpers, lists, einsum..."""
        lines = []
        rng = self.rng
        for name, sig in self.helper_sigs.items():
            if rng.random() < 0.25:
                continue
            kind = sig[0]
            target = self.fresh(self.choice(["h", "z", "p"]))
            if kind == "layer" and "W" in self.params:
                bias = self.choice(["", ", bias=s" if "s" in self.params else ", 0.1",
                                    ", b" if "b" in self.params else ""])
                lines.append(f"    {target} = layer(W, x{bias})")
                scope.vars[target] = Var(target, (2,), UNIT.hull(VALUES))
            elif kind == "elementwise":
                arg = self.squash(self.expr(scope, 1, (3,)), Interval(-2.0, 2.0))
                lines.append(f"    {target} = {name}({arg.code})")
                scope.vars[target] = Var(target, (3,), sig[1].hull(VALUES))
            elif kind == "tuple":
                other = self.fresh("var")
                arg = self.expr(scope, 1, (3,))
                arg = self.squash(arg, Interval(-2.0, 2.0))
                lines.append(f"    {target}, {other} = stats({arg.code})")
                scope.vars[target] = Var(target, (), VALUES)
                scope.vars[other] = Var(other, (), Interval(0.0, 4.0).hull(VALUES))
                scope.bound.add(other)
            elif kind == "scalar":
                arg = self.squash(self.expr(scope, 1, (3,)), Interval(-2.0, 2.0))
                goal = "T" if "T" in self.global_arrays else "x"
                lines.append(f"    {target} = mse({arg.code}, {goal})")
                scope.vars[target] = Var(target, (), Interval(0.0, 16.0))
            elif kind == "ident":
                continue
            else:
                continue
            scope.bound.add(target)
        lists = 3.0 if self.allow_lists else 0.0
        if rng.random() < 0.15 * lists:
            # active numbers in a list handed to NumPy
            a, b = self.expr(scope, 1, ()), self.expr(scope, 1, ())
            target = self.fresh("m")
            form = self.choice(["np.mean([{a}, {b}])", "np.max([{a}, {b}])", "np.sum([{a}, {b}, 0.5])",
                                "np.min([{a}, {b}])"])
            lines.append(f"    {target} = " + form.format(a=a.code, b=b.code))
            scope.vars[target] = Var(target, (), (a.iv.hull(b.iv) * 2 + 0.5).hull(VALUES))
            scope.bound.add(target)
            self.feat("list_to_numpy")
        if rng.random() < 0.1 * lists:
            target = self.fresh("e")
            lines.append(f"    {target} = np.einsum('i,i', [x[0], x[1]], x[:2])")
            scope.vars[target] = Var(target, (), Interval(-4.5, 4.5))
            scope.bound.add(target)
            self.feat("einsum_list")
            self.feat("einsum")
        if rng.random() < 0.1 * lists:
            target = self.fresh("d")
            lines.append(f"    {target} = x[0] - [3.0, 5.0, 2.0]")
            scope.vars[target] = Var(target, (3,), Interval(-6.5, 1.5).hull(VALUES))
            scope.bound.add(target)
            self.feat("list_arithmetic")
        if rng.random() < 0.08 and "v" in self.params:
            target = self.fresh("dv")
            lines.append(f"    {target} = np.dot(x, v)")  # d/dx is v itself
            scope.vars[target] = Var(target, (), Interval(-6.75, 6.75))
            scope.bound.add(target)
            self.feat("dot_self_gradient")
        return lines

    def final(self, scope) -> str:
        last = [v for v in scope.floats() if v.name not in self.params]
        parts = []
        if last:
            var = last[-1]
            if var.shape:
                form = self.choice(["np.sum({v} * {v})", "np.mean({v})", "np.sum({v})",
                                    "np.mean({v} ** 2)", "np.linalg.norm({v})"])
                parts.append(form.format(v=var.name))
            else:
                parts.append(f"{var.name} * {var.name}" if self.r() < 0.5 else var.name)
        parts.append(self.expr(scope, 2, ()).code)
        if self.r() < 0.4:
            for p in self.params:
                if self.r() < 0.5:
                    parts.append(f"0.1 * np.sum({p})" if PARAMETERS[p] else f"0.1 * {p}")
        for name in self.result_reads:  # the arrays st_views and the like made
            if name in scope.bound:
                parts.append(f"0.1 * np.sum({name} * {name})")
        if self.sink:
            parts.append(self.sink)
        if "T" in self.global_arrays and self.r() < 0.4:
            self.feat("return_global")
            parts.append(self.choice(["np.dot(T, x)", "np.sum(T * x)"]))  # d/dx is the global T
        elif "A" in self.global_arrays and self.r() < 0.3:
            self.feat("return_global")
            parts.append("np.sum(A @ x)")
        return " + ".join(parts)


# -- operators ---------------------------------------------------------------------


UNARY = {
    "sin": (lambda iv: UNIT, None), "cos": (lambda iv: UNIT, None),
    "tanh": (lambda iv: monotone(math.tanh, iv), None),
    "arctan": (lambda iv: monotone(math.atan, iv), None),
    "exp": (lambda iv: monotone(math.exp, iv), "bounded"),
    "log": (lambda iv: monotone(math.log, iv), "positive"),
    "sqrt": (lambda iv: monotone(math.sqrt, iv), "positive"),
    "square": (lambda iv: iv.power_int(2), None),
    "log1p": (lambda iv: monotone(math.log1p, iv), "positive"),
    "expm1": (lambda iv: monotone(math.expm1, iv), "bounded"),
    "sinh": (lambda iv: monotone(math.sinh, iv), "bounded"),
    "cosh": (lambda iv: cosh(iv), "bounded"),
    "arcsinh": (lambda iv: monotone(math.asinh, iv), None),
    "arcsin": (lambda iv: monotone(math.asin, iv), "unit"),
    "arccos": (lambda iv: monotone(math.acos, iv, increasing=False), "unit"),
    "arctanh": (lambda iv: monotone(math.atanh, iv), "unit"),
    "arccosh": (lambda iv: monotone(math.acosh, iv), "ge1"),
    "cbrt": (lambda iv: monotone(math.cbrt, iv), "positive"),
    "exp2": (lambda iv: monotone(math.exp2, iv), "bounded"),
    "log2": (lambda iv: monotone(math.log2, iv), "positive"),
    "log10": (lambda iv: monotone(math.log10, iv), "positive"),
    "reciprocal": (lambda iv: iv.reciprocal(), "positive"),
    "deg2rad": (lambda iv: monotone(math.radians, iv), None),
    "rad2deg": (lambda iv: monotone(math.degrees, iv), None),
    "radians": (lambda iv: monotone(math.radians, iv), None),
    "degrees": (lambda iv: monotone(math.degrees, iv), None),
}


def op_unary(gen, scope, depth, shape, must):
    name = gen.choice(sorted(UNARY))
    e = gen.sub(scope, depth, shape, must)
    interval, guard = UNARY[name]
    if guard == "bounded":
        e = gen.bounded(e, 3.0)
    elif guard == "positive":
        e = gen.positive(e, 0.1)
    elif guard == "unit":
        e = gen.unit(e)
    elif guard == "ge1":
        p = gen.positive(e, 0.1)
        e = A(f"1.1 + {par(p)}", shape, p.iv + 1.1)
    gen.feat(f"ufunc:{name}")
    if gen.r() < 0.15 and name in ("sqrt", "exp", "log"):
        return A(f"np.{name}({e.code})", shape, interval(e.iv), True)
    return A(f"np.{name}({e.code})", shape, interval(e.iv), True)


def op_binary(gen, scope, depth, shape, must):
    other = gen.choice(gen.operand_shapes(shape))
    first_full = gen.r() < 0.7
    sa, sb = (shape, other) if first_full else (other, shape)
    which = gen.rng.randrange(2)
    a = gen.sub(scope, depth, sa, must if which == 0 else None)
    b = gen.sub(scope, depth, sb, must if which == 1 else None)
    if a.shape != b.shape:
        gen.feat("broadcast")
    if scope.loops:
        gen.feat("elementwise_in_loop")
    op = gen.choice(["+", "-", "*", "*", "/", "+"])
    if op == "/":
        if gen.r() < 0.3 and b.shape and len(b.shape) == 1 and a.shape == shape:
            kind = gen.choice(["norm", "sum"])
            if kind == "norm" and b.iv.away_from_zero(0.1):
                gen.feat("norm")
                return A(f"{par(a)} / np.linalg.norm({b.code})", shape, a.iv / Interval(0.1, 1e6))
            denom = A(f"np.sum({par(b)} * {par(b)}) + 0.5", (), Interval(0.5, 1e6))
            gen.feat("reduce:sum")
            return A(f"{par(a)} / ({denom.code})", shape, a.iv * Interval(-2.0, 2.0))
        b = gen.positive(b, 0.3)
        return A(f"{par(a)} / {par(b)}", shape, a.iv / b.iv)
    iv = a.iv + b.iv if op == "+" else (a.iv - b.iv if op == "-" else a.iv * b.iv)
    return A(f"{par(a)} {op} {par(b)}", shape, iv)


def op_binary_ufunc(gen, scope, depth, shape, must):
    other = gen.choice(gen.operand_shapes(shape))
    which = gen.rng.randrange(2)
    a = gen.sub(scope, depth, shape, must if which == 0 else None)
    b = gen.sub(scope, depth, other, must if which == 1 else None)
    name = gen.choice(["maximum0", "maximum", "minimum", "clip", "clip_method", "where", "copysign",
                       "hypot", "arctan2", "logaddexp", "fmax", "fmin", "power", "abs_builtin",
                       "huber", "remainder"])
    if name == "remainder":  # Python's %: of the divisor's sign; a jump at each multiple
        gen.feat("ufunc:remainder")
        return A(f"np.{gen.choice(['remainder', 'mod'])}({a.code}, 1.5)", shape,
                 Interval(0.0, 1.5), True)
    if name == "maximum0":
        gen.feat("maximum0")
        return A(f"np.maximum({a.code}, 0.0)", shape, maximum(a.iv, Interval(0.0)), True)
    if name in ("maximum", "minimum", "fmax", "fmin"):
        gen.feat("ufunc:minimum" if name == "minimum" else f"ufunc:{name}" if name != "maximum" else "maximum0")
        iv = (maximum if "max" in name else minimum)(a.iv, b.iv)
        return A(f"np.{name}({a.code}, {b.code})", shape, iv, True)
    if name == "clip":
        gen.feat("clip")
        form = gen.choice(["np.clip({a}, -1.0, 1.0)", "np.clip({a}, a_min=-1.0, a_max=1.0)",
                           "np.clip({a}, -1.0, a_max=1.0)", "np.clip({a}, -1.0, None)",
                           "np.clip({a}, None, 1.0)"])
        if "a_min" in form or "a_max" in form:
            gen.feat("clip_keywords")
        if "None" in form:  # one side open (None given by position: refused once)
            low, high = (-1.0, math.inf) if form.endswith("None)") else (-math.inf, 1.0)
            return A(form.format(a=a.code), shape,
                     Interval(min(max(a.iv.lo, low), high), max(min(a.iv.hi, high), low)), True)
        return A(form.format(a=a.code), shape, Interval(max(-1.0, min(a.iv.lo, 1.0)),
                                                                  min(1.0, max(a.iv.hi, -1.0))), True)
    if name == "clip_method" and shape:  # a Python float has no .clip
        gen.feat("clip_method")
        return A(f"{par(a)}.clip(min=0.0)", shape, maximum(a.iv, Interval(0.0)), True)
    if name == "where":
        gen.feat("where")
        return A(f"np.where({par(a)} > {par(b)}, {a.code}, {par(b)} * 0.5)", shape,
                 a.iv.hull(b.iv * 0.5), True)
    if name == "copysign":
        gen.feat("copysign")
        return A(f"np.copysign({a.code}, {b.code})", shape, Interval(-a.iv.mag, a.iv.mag), True)
    if name == "hypot":
        if not (a.iv.finite() and b.iv.finite()):
            return None
        gen.feat("ufunc:hypot")
        b = gen.positive(b, 0.1) if gen.r() < 0.5 else b
        return A(f"np.hypot({a.code}, {b.code})", shape, Interval(0.0, math.hypot(a.iv.mag, b.iv.mag)), True)
    if name == "arctan2":
        gen.feat("ufunc:arctan2")
        b = gen.positive(b, 0.2)
        return A(f"np.arctan2({a.code}, {b.code})", shape, Interval(-math.pi / 2, math.pi / 2), True)
    if name == "logaddexp":
        a, b = gen.bounded(a, 3.0), gen.bounded(b, 3.0)
        gen.feat("ufunc:logaddexp")
        return A(f"np.logaddexp({a.code}, {b.code})", shape,
                 Interval(max(a.iv.lo, b.iv.lo), max(a.iv.hi, b.iv.hi) + math.log(2)), True)
    if name == "power":
        base = gen.positive(gen.bounded(a, 3.0), 0.2)
        c = gen.choice([1.5, 2.0, 0.5, 3.0])
        gen.feat("ufunc:power")
        lo, hi = base.iv.lo ** c, base.iv.hi ** c
        return A(f"np.power({base.code}, {fmt(c)})", shape, Interval(lo, hi), True)
    if name == "abs_builtin":
        gen.feat("abs_builtin")
        return A(f"abs({a.code})", shape, absolute(a.iv), True)
    # huber, inline
    r = gen.sub(scope, depth, shape, must)
    if len(r.code) > 40:
        return None
    gen.feat("huber")
    gen.feat("abs_builtin")
    gen.feat("where")
    mag = absolute(r.iv)
    return A(f"np.where(abs({r.code}) < 1.0, 0.5 * {par(r)} * {par(r)}, abs({r.code}) - 0.5)",
             shape, Interval(0.0, max(0.5, mag.hi)), True)


def op_reduce(gen, scope, depth, shape, must):
    bigger = {(): [(3,), (2, 3), (2,), (3,)], (3,): [(2, 3)], (2,): [(2, 3)],
              (4,): [(4, 3)] if "A" in gen.global_arrays else []}.get(shape, [])
    if not bigger:
        return None
    src_shape = gen.choice(bigger)
    if src_shape == (4, 3):
        e = A("A", (4, 3), gen.global_arrays["A"].iv, True)
        inner = gen.sub(scope, depth, (3,), must)
        e = A(f"A * {par(inner)}", (4, 3), e.iv * inner.iv)
        gen.feat("global_array")
    else:
        e = gen.sub(scope, depth, src_shape, must)
    return gen.reduce(e, shape)


def op_linalg(gen, scope, depth, shape, must):
    which = gen.rng.randrange(2)
    if shape == ():
        a = gen.sub(scope, depth, (3,), must if which == 0 else None)
        b = gen.sub(scope, depth, (3,), must if which == 1 else None)
        form = gen.choice(["{a} @ {b}", "np.dot({a}, {b})", "np.einsum('i,i', {a}, {b})",
                           "np.einsum('i,i->', {a}, {b})", "np.inner({a}, {b})"])
        gen.feat("einsum" if "einsum" in form else ("dot" if "dot" in form or "inner" in form else "matmul"))
        return A(form.format(a=par(a), b=par(b)), (), a.iv * b.iv * 3)
    if shape == (2,):
        m = gen.sub(scope, depth, (2, 3), must if which == 0 else None)
        u = gen.sub(scope, depth, (3,), must if which == 1 else None)
        form = gen.choice(["{m} @ {u}", "np.dot({m}, {u})", "np.einsum('ij,j->i', {m}, {u})"])
        gen.feat("einsum" if "einsum" in form else ("dot" if "dot" in form else "matmul"))
        return A(form.format(m=par(m), u=par(u)), (2,), m.iv * u.iv * 3)
    if shape == (3,):
        m = gen.sub(scope, depth, (2, 3), must if which == 0 else None)
        u = gen.sub(scope, depth, (2,), must if which == 1 else None)
        form = gen.choice(["{u} @ {m}", "{m}.T @ {u}", "np.einsum('ij,i->j', {m}, {u})"])
        gen.feat("einsum" if "einsum" in form else "matmul")
        return A(form.format(m=par(m), u=par(u)), (3,), m.iv * u.iv * 2)
    if shape == (2, 3):
        u = gen.sub(scope, depth, (2,), must if which == 0 else None)
        w = gen.sub(scope, depth, (3,), must if which == 1 else None)
        form = gen.choice(["np.outer({u}, {w})", "np.einsum('i,j->ij', {u}, {w})",
                           "{u}[:, None] * {w}"])
        gen.feat("einsum" if "einsum" in form else ("outer" if "outer" in form else "index_newaxis"))
        return A(form.format(u=par(u), w=par(w)), (2, 3), u.iv * w.iv)
    if shape == (4,) and "A" in gen.global_arrays:
        u = gen.sub(scope, depth, (3,), must)
        gen.feat("matmul")
        gen.feat("global_array")
        return A(f"A @ {par(u)}", (4,), gen.global_arrays["A"].iv * u.iv * 3)
    return None


def op_index(gen, scope, depth, shape, must):
    if shape == ():
        src = gen.sub(scope, depth, gen.choice([(3,), (2, 3)]), must)
        ints = [v for v in scope.ints() if v.hi < src.shape[0]]
        if ints and gen.r() < 0.5:
            i = gen.choice(ints)
            gen.feat("index_int")
            if len(src.shape) == 2:
                gen.feat("index_tuple")
                return A(f"{par(src)}[{i.name}, {gen.choice(['0', '-1', '2'])}]", (), src.iv, True)
            return A(f"{par(src)}[{i.name}]", (), src.iv, True)
        return gen.adapt(src, ())
    if shape == (3,) and gen.r() < 0.5:
        src = gen.sub(scope, depth, (3,), must)
        index = gen.choice(["np.array([0, 0, 2])", "idx" if gen.has_idx else "np.array([2, 0, 0])",
                            "np.array([-1, 0, 1])"])
        gen.feat("fancy_repeated" if "0, 0" in index or index == "idx" else "fancy_negative")
        return A(f"{par(src)}[{index}]", (3,), src.iv, True)
    if shape == (3,):
        src = gen.sub(scope, depth, (2, 3), must)
        ints = [v for v in scope.ints() if v.hi < 2]
        if ints:
            gen.feat("index_int")
            return A(f"{par(src)}[{gen.choice(ints).name}]", (3,), src.iv, True)
        return gen.adapt(src, (3,))
    if shape == (2,):
        src = gen.sub(scope, depth, gen.choice([(3,), (2, 3)]), must)
        return gen.adapt(src, (2,))
    if shape == (2, 3):
        src = gen.sub(scope, depth, (2, 3), must)
        gen.feat("index_ellipsis")
        return A(f"{par(src)}[{gen.choice(['...', ':, :', '..., :'])}]", (2, 3), src.iv, True)
    return None


def op_call(gen, scope, depth, shape, must):
    if "smooth" in gen.helper_sigs and shape and gen.recursion_rng.random() < 0.5:
        # smooth(v, k): |result| <= max(|v|, 0.5) (base v) or (|v| / 2) ** k (base 1.0)
        arg = gen.squash(gen.sub(scope, depth, shape, must), Interval(-2.0, 2.0))
        return A(f"smooth({arg.code}, {gen.recursion_rng.randint(1, 3)})", shape,
                 Interval(-2.0, 2.0), True)
    if "stacked" in gen.helper_sigs and shape == (2, 3) and gen.varargs_rng.random() < 0.8:
        # *rows: two rows, the second now and then spread from a list
        first = gen.sub(scope, depth, (3,), must)
        second = gen.sub(scope, depth, (3,))
        spread = gen.varargs_rng.random() < 0.4
        text = f"{first.code}, *[{second.code}]" if spread else f"{first.code}, {second.code}"
        return A(f"stacked({text})", (2, 3), first.iv.hull(second.iv), True)
    for name, sig in gen.helper_sigs.items():
        if sig[0] == "flag" and shape == ():
            arg = gen.squash(gen.sub(scope, depth, (3,), must), Interval(-2.0, 2.0))
            rng = gen.flags_rng
            how, style = rng.choice(["sum", "mean", "average", "max"]), rng.random()
            gen.feat("string_flag_default" if style < 0.3 else "string_flag_passed")
            text = arg.code if style < 0.3 else f'{arg.code}, "{how}"' if style < 0.65 else \
                f'{arg.code}, how="{how}"'
            return A(f"reduce({text})", (), Interval(-6.0, 6.0), True)
        if sig[0] == "elementwise" and shape:
            arg = gen.squash(gen.sub(scope, depth, shape, must), Interval(-2.0, 2.0))
            if name == "huber" and gen.r() < 0.4:
                return A(f"huber({arg.code}, delta=0.5)", shape, Interval(0.0, 2.0), True)
            return A(f"{name}({arg.code})", shape, sig[1], True)
        if sig[0] == "ident":
            arg = gen.sub(scope, depth, shape, must)
            return A(f"ident({arg.code})", shape, arg.iv, True)
        if sig[0] == "layer" and shape == (2,):
            m = gen.sub(scope, depth, (2, 3), must)
            u = gen.sub(scope, depth, (3,))
            return A(f"layer({m.code}, {u.code})", (2,), UNIT, True)
    return None


def op_list(gen, scope, depth, shape, must):
    if not gen.allow_lists:
        return None
    if shape == ():
        a = gen.sub(scope, depth, (), must)
        b = gen.sub(scope, depth, ())
        kind = gen.choice(["mean", "max", "min", "sum"])
        gen.feat("list_to_numpy")
        iv = a.iv.hull(b.iv) * (2 if kind == "sum" else 1)
        return A(f"np.{kind}([{a.code}, {b.code}])", (), iv, True)
    if shape in ((2,), (3,)):
        parts = [gen.sub(scope, depth, (), must if k == 0 else None) for k in range(shape[0])]
        gen.feat("np_array_of_numbers")
        gen.feat("list_to_numpy")
        iv = parts[0].iv
        for p in parts[1:]:
            iv = iv.hull(p.iv)
        return A(f"np.array([{', '.join(p.code for p in parts)}])", shape, iv, True)
    if shape == (2, 3):
        u = gen.sub(scope, depth, (3,), must)
        w = gen.sub(scope, depth, (3,))
        gen.feat("stack")
        gen.feat("list_to_numpy")
        return A(f"np.{gen.choice(['stack', 'vstack'])}([{u.code}, {w.code}])", (2, 3), u.iv.hull(w.iv), True)
    return None


def op_list_arith(gen, scope, depth, shape, must):
    if shape != (3,) or not gen.allow_lists:
        return None
    a = gen.sub(scope, depth, (3,), must)  # a Python float minus a list raises
    values = [gen.const(-2.0, 2.0) for _ in range(3)]
    gen.feat("list_arithmetic")
    return A(f"{par(a)} - {values!r}", (3,), a.iv - Interval(min(values), max(values)))


# A diagonally dominant matrix: numpy.linalg.solve with it at most halves |b| (row margins > 2).
SOLVE = "np.array([[3.0, 0.2, -0.1], [0.1, 2.5, 0.3], [-0.2, 0.1, 2.8]])"


def op_shape(gen, scope, depth, shape, must):
    """The array functions that move, join or recombine elements: reshapes and views,
    joins, running sums, cross products, traces, diagonals, tensordot and linear algebra
    (each value's interval follows; inv and det get operands squashed to keep their
    matrices well away from singular)."""
    which = gen.rng.randrange(2)
    if shape == (3,):
        kind = gen.choice(["flip", "reshape", "squeeze", "cumsum", "cross", "solve",
                           "concatenate", "hstack"])
        e = gen.sub(scope, depth, (3,), must if which == 0 or kind not in ("cross",) else None)
        if kind == "flip":
            gen.feat("shape:flip")
            return A(gen.choice([f"np.flip({e.code})", f"np.flipud({e.code})"]), (3,), e.iv, True)
        if kind == "reshape":
            gen.feat("shape:reshape")
            gen.feat("shape:ravel")
            return A(f"np.ravel(np.reshape({e.code}, (3, 1)))", (3,), e.iv, True)
        if kind == "squeeze":
            gen.feat("shape:squeeze")
            return A(f"np.squeeze({par(e)}[None, :], axis=0)", (3,), e.iv, True)
        if kind == "cumsum":
            gen.feat("cumsum")
            return A(f"np.cumsum({e.code}) / 3.0", (3,), e.iv.hull(e.iv * (1 / 3)))
        if kind == "cross":
            f = gen.sub(scope, depth, (3,), must if which == 1 else None)
            m = (e.iv * f.iv).mag
            gen.feat("cross")
            return A(f"np.cross({e.code}, {f.code})", (3,), Interval(-2 * m, 2 * m), True)
        if kind == "solve":
            gen.feat("solve")
            return A(f"np.linalg.solve({SOLVE}, {e.code})", (3,),
                     Interval(-e.iv.mag / 2, e.iv.mag / 2), True)
        f = gen.sub(scope, depth, (2,), must if which == 1 else None)
        gen.feat("shape:" + kind)
        return A(f"np.{kind}([{par(f)}, {par(e)}[:1]])" if kind == "concatenate" else
                 f"np.hstack([{par(e)}[2:], {f.code}])", (3,), e.iv.hull(f.iv), True)
    if shape == (2, 3):
        kind = gen.choice(["transpose", "swapaxes", "reshape", "vstack", "concatenate", "flip",
                           "cumsum"])
        e = gen.sub(scope, depth, (2, 3), must if which == 0 or kind not in ("vstack", "concatenate") else None)
        if kind == "transpose":
            gen.feat("shape:transpose")
            form = gen.choice([f"np.transpose(np.transpose({e.code}))",
                               # negative axes (a wrong gradient once: autograd corpus)
                               f"np.transpose({e.code}, (-1, 0)).T",
                               f"{par(e)}.transpose(-1, 0).T"])
            return A(form, (2, 3), e.iv, True)
        if kind == "swapaxes":
            gen.feat("shape:swapaxes")
            return A(f"np.swapaxes({e.code}, 0, 1).T", (2, 3), e.iv, True)
        if kind == "reshape":
            gen.feat("shape:reshape")
            gen.feat("shape:ravel")
            return A(f"np.reshape(np.ravel({e.code}), (2, 3))", (2, 3), e.iv, True)
        if kind == "flip":
            gen.feat("shape:flip")
            return A(gen.choice([f"np.flip({e.code}, axis=1)", f"np.fliplr({e.code})",
                                 f"np.flipud({e.code})"]), (2, 3), e.iv, True)
        if kind == "cumsum":
            gen.feat("cumsum")
            return A(f"np.cumsum({e.code}, axis=0) / 2.0", (2, 3), e.iv.hull(e.iv * 0.5))
        f = gen.sub(scope, depth, (2, 3), must if which == 1 else None)
        gen.feat("shape:" + kind)
        if kind == "vstack":
            return A(f"np.vstack([{par(e)}[:1], {par(f)}[1:]])", (2, 3), e.iv.hull(f.iv), True)
        if gen.choice([False, True]):  # of the arrays flattened (an internal error once)
            return A(f"np.reshape(np.concatenate([{par(e)}[:1], {par(f)}[1:]], axis=None), "
                     "(2, 3))", (2, 3), e.iv.hull(f.iv), True)
        return A(f"np.concatenate([{par(e)}[:, :1], {par(f)}[:, 1:]], axis=1)", (2, 3),
                 e.iv.hull(f.iv), True)
    if shape == (2,):
        kind = gen.choice(["tensordot", "diag"])
        if kind == "tensordot":
            m = gen.sub(scope, depth, (2, 3), must if which == 0 else None)
            u = gen.sub(scope, depth, (3,), must if which == 1 else None)
            gen.feat("tensordot")
            return A(f"np.tensordot({m.code}, {u.code}, axes=1)", (2,), m.iv * u.iv * 3, True)
        a = gen.sub(scope, depth, (2,), must if which == 0 else None)
        b = gen.sub(scope, depth, (2,), must if which == 1 else None)
        gen.feat("diag")
        return A(f"np.diag(np.outer({a.code}, {b.code}))", (2,), a.iv * b.iv, True)
    if shape == ():
        kind = gen.choice(["trace", "det", "inv"])
        if kind == "trace":
            a = gen.sub(scope, depth, (3,), must if which == 0 else None)
            b = gen.sub(scope, depth, (3,), must if which == 1 else None)
            gen.feat("trace")
            return A(f"np.trace(np.outer({a.code}, {b.code}))", (), a.iv * b.iv * 3, True)
        a = gen.squash(gen.sub(scope, depth, (2,), must if which == 0 else None), UNIT)
        b = gen.squash(gen.sub(scope, depth, (2,), must if which == 1 else None), UNIT)
        if kind == "det":  # of [[a0, a1], [b0, b1]]: a0 b1 - a1 b0
            gen.feat("det")
            return A(f"np.linalg.det(np.stack([{a.code}, {b.code}]))", (), Interval(-2.0, 2.0), True)
        # 3 I + 0.2 a b^T: its inverse has norm below 1 / 2.6, each entry within 0.4
        gen.feat("inv")
        return A(f"np.sum(np.linalg.inv(3.0 * np.eye(2) + 0.2 * np.outer({a.code}, {b.code})))",
                 (), Interval(-1.6, 1.6), True)
    return None


# A symmetric positive definite matrix around a unit vector u: c I + 0.3 u u^T has its
# eigenvalues in [c, c + 0.3 |u|^2], so its Cholesky factor's entries are within sqrt of that.
def _spd(u: A, n: int, c: float) -> str:
    return f"{c} * np.eye({n}) + 0.3 * np.outer({u.code}, {u.code})"


def op_more(gen, scope, depth, shape, must):
    """The array functions of issue 13's item 7: rearrangements (roll, tile, repeat,
    moveaxis, diagonal, tril/triu, take, pad, atleast_3d), differences, running products,
    vdot, kron, convolve, sinc, nansum, median, Cholesky factors, and einsum summing
    subscripts away or reading a diagonal."""
    which = gen.rng.randrange(2)
    first, second = (must, None) if which == 0 else (None, must)
    options = {(): ["vdot", "nansum", "median", "cholesky", "einsum_diagonal", "diff", "sinc",
                    "convolve", "slogdet", "eigvalsh"],
               (3,): ["roll", "tile", "repeat", "take", "atleast_3d", "pad", "cumprod",
                      "convolve", "median", "einsum_reduce", "einsum_diagonal", "cholesky",
                      "kron", "sinc", "nansum", "pinv", "eigvalsh"],
               (2,): ["diagonal", "diff", "take", "median", "einsum_reduce", "einsum_implicit",
                      "cholesky", "nansum", "eigvalsh"],
               (2, 3): ["tile", "repeat", "moveaxis", "tril", "triu", "cumprod", "kron", "pad",
                        "atleast_3d", "einsum_implicit", "roll", "sinc", "pinv"]}.get(shape)
    if not options:
        return None
    kind = gen.choice(options)
    if kind == "sinc":
        e = gen.sub(scope, depth, shape, must)
        gen.feat("more:sinc")
        return A(f"np.sinc({e.code})", shape, Interval(-0.22, 1.0), True)
    if kind == "vdot":
        src = gen.choice([(3,), (2, 3)])
        a, b = gen.sub(scope, depth, src, first), gen.sub(scope, depth, src, second)
        gen.feat("more:vdot")
        return A(f"np.vdot({a.code}, {b.code})", (), a.iv * b.iv * size(src), True)
    if kind == "nansum":
        if shape == ():
            e = gen.sub(scope, depth, gen.choice([(3,), (2, 3)]), must)
            gen.feat("more:nansum")
            return A(f"np.nansum({e.code})", (), e.iv * size(e.shape), True)
        e = gen.sub(scope, depth, (2, 3), must)
        axis, count = (0, 2) if shape == (3,) else (1, 3)
        gen.feat("more:nansum")
        return A(f"np.nansum({e.code}, axis={axis})", shape, e.iv * count, True)
    if kind == "median":
        if shape == ():
            e = gen.sub(scope, depth, gen.choice([(3,), (2, 3), (2,)]), must)
            gen.feat("more:median")
            return A(f"np.median({e.code})", (), e.iv, True)
        e = gen.sub(scope, depth, (2, 3), must)
        gen.feat("more:median")
        return A(f"np.median({e.code}, axis={0 if shape == (3,) else gen.choice(['1', '-1'])})",
                 shape, e.iv, True)
    if kind == "cholesky":
        n = 3 if shape == (3,) else 2
        u = gen.squash(gen.sub(scope, depth, (n,), must), UNIT)
        matrix = _spd(u, n, 2.0)
        if gen.r() < 0.3:  # numpy reads the lower triangle only: the rest has no derivative
            w = gen.squash(gen.sub(scope, depth, (n,)), UNIT)
            matrix += f" + np.triu(np.outer({u.code}, {w.code}), 1)"
            gen.feat("more:cholesky_upper")
        gen.feat("more:cholesky")
        bound = math.sqrt(2.0 + 0.3 * n) + 0.01
        if shape == ():
            return A(f"np.sum(np.linalg.cholesky({matrix}))", (), Interval(-n * n * bound, n * n * bound), True)
        row = gen.choice(["1", "-1"]) if n == 2 else "2"
        return A(f"np.linalg.cholesky({matrix})[{row}]", shape, Interval(-bound, bound), True)
    if kind == "eigvalsh":
        n = 2 if shape == (2,) else 3
        u = gen.squash(gen.sub(scope, depth, (n,), must), UNIT)
        gen.feat("more:eigvalsh")
        # diag(1..n) + 0.2 u u^T: each eigenvalue within 0.2 |u|^2 <= 0.6 of k, so they
        # stay apart (a derivative needs distinct eigenvalues); the upper triangle is not read
        diagonal = [float(k) for k in range(1, n + 1)]
        matrix = f"np.diag({diagonal!r}) + 0.2 * np.outer({u.code}, {u.code})"
        if gen.r() < 0.3:
            matrix += f" + np.triu(np.outer({u.code}, {u.code}), 1)"
        values = f"np.linalg.eigvalsh({matrix})"
        roll = gen.eigh_rng.random()  # its own stream: other programs unchanged
        if roll < 0.25:  # eigh's eigenvalues (its eigenvectors unused): eigvalsh's rule
            gen.feat("more:eigh")
            values = f"np.linalg.eigh({matrix})[0]"
        elif roll < 0.4:
            gen.feat("more:eigh_unpacked")
            if not any(h.startswith("def spectrum(") for h in gen.helpers):
                gen.helpers.append("def spectrum(m):\n    w, vectors = np.linalg.eigh(m)\n"
                                   "    return w\n")
            values = f"spectrum({matrix})"
        if shape == ():
            return A(f"{values}[-1]", (), Interval(n, n + 0.6), True)
        return A(values, shape, Interval(1.0, n + 0.6), True)
    if kind == "slogdet":
        a = gen.squash(gen.sub(scope, depth, (2,), first), UNIT)
        b = gen.squash(gen.sub(scope, depth, (2,), second), UNIT)
        gen.feat("more:slogdet")
        # det(3 I + 0.2 a b^T) = 9 + 0.6 b.a, in [7.8, 10.2]: the sign is +1
        matrix = f"3.0 * np.eye(2) + 0.2 * np.outer({a.code}, {b.code})"
        if gen.r() < 0.5:
            return A(f"np.linalg.slogdet({matrix})[1]", (), Interval(2.05, 2.33), True)
        return A(f"np.linalg.slogdet({matrix})[0] * np.linalg.slogdet({matrix})[-1]", (),
                 Interval(-2.33, 2.33))
    if kind == "pinv":
        a = gen.squash(gen.sub(scope, depth, (2,), first), UNIT)
        b = gen.squash(gen.sub(scope, depth, (3,), second), UNIT)
        gen.feat("more:pinv")
        # eye(2, 3) + 0.2 a b^T: singular values within 0.2 |a| |b| < 0.49 of 1, so the
        # rank stays 2 and the pseudo-inverse's norm is below 1 / 0.51
        p = f"np.linalg.pinv(np.eye(2, 3) + 0.2 * np.outer({a.code}, {b.code}))"
        if shape == (2, 3):
            return A(f"{p}.T", shape, Interval(-1.97, 1.97), True)
        u = gen.sub(scope, depth, (2,))
        bound = 1.97 * math.sqrt(2) * u.iv.mag
        return A(f"{p} @ {par(u)}", shape, Interval(-bound, bound))
    if kind == "einsum_diagonal":
        a = gen.sub(scope, depth, (3,), first)
        b = gen.sub(scope, depth, (3,), second)
        gen.feat("more:einsum_diagonal")
        gen.feat("einsum")
        if shape == ():
            return A(f"np.einsum('ii', np.outer({a.code}, {b.code}))", (), a.iv * b.iv * 3, True)
        return A(f"np.einsum('ii->i', np.outer({a.code}, {b.code}))", (3,), a.iv * b.iv, True)
    if kind == "einsum_reduce":
        e = gen.sub(scope, depth, (2, 3), must)
        gen.feat("more:einsum_reduce")
        gen.feat("einsum")
        if shape == (3,):
            return A(f"np.einsum('ij->j', {e.code})", (3,), e.iv * 2, True)
        return A(f"np.einsum('ij->i', {e.code})", (2,), e.iv * 3, True)
    if kind == "einsum_implicit":
        gen.feat("more:einsum_implicit")
        gen.feat("einsum")
        if shape == (2,):
            m = gen.sub(scope, depth, (2, 3), first)
            u = gen.sub(scope, depth, (3,), second)
            return A(f"np.einsum('ij,j', {m.code}, {u.code})", (2,), m.iv * u.iv * 3, True)
        m = gen.sub(scope, depth, (2, 3), first)
        q = gen.sub(scope, depth, (3,), second)
        return A(f"np.einsum('ij,j,k', {m.code}, {q.code}, np.ones(3)) / 3.0", (2, 3),
                 m.iv * q.iv)  # 'ijk' summed over j: each row's m.q, spread over k
    if kind == "roll":
        e = gen.sub(scope, depth, shape, must)
        gen.feat("more:roll")
        counters = scope.ints()
        if counters and gen.r() < 0.5:  # by a loop's counter
            gen.feat("more:roll_counter")
            axis = "" if shape == (3,) else f", axis={gen.choice(['0', '1'])}"
            return A(f"np.roll({e.code}, {gen.choice(counters).name}{axis})", shape, e.iv, True)
        if shape == (3,):
            return A(f"np.roll({e.code}, {gen.choice(['1', '-1', '2', '4'])})", shape, e.iv, True)
        return A(f"np.roll({e.code}, {gen.choice(['1', '-1', '2'])}, axis={gen.choice(['0', '1', '-1'])})",
                 shape, e.iv, True)
    if kind == "tile":
        gen.feat("more:tile")
        if shape == (3,):
            e = gen.sub(scope, depth, (), must)
            return A(f"np.tile({e.code}, 3)", shape, e.iv, True)
        if gen.r() < 0.5:
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.tile({e.code}, (2, 1))", shape, e.iv, True)
        e = gen.sub(scope, depth, (2,), must)
        return A(f"np.tile({par(e)}[:, None], 3)", shape, e.iv, True)
    if kind == "repeat":
        gen.feat("more:repeat")
        if shape == (3,):
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.repeat({e.code}, 2)[::2]", shape, e.iv, True)
        if gen.r() < 0.5:
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.repeat({par(e)}[None, :], 2, axis=0)", shape, e.iv, True)
        e = gen.sub(scope, depth, (2,), must)
        return A(f"np.reshape(np.repeat({e.code}, 3), (2, 3))", shape, e.iv, True)
    if kind == "moveaxis":
        e = gen.sub(scope, depth, (2, 3), must)
        gen.feat("more:moveaxis")
        return A(f"np.moveaxis({par(e)}.T, 0, -1)", shape, e.iv, True)
    if kind == "diagonal":
        e = gen.sub(scope, depth, (2, 3), must)
        gen.feat("more:diagonal")
        form = gen.choice(["np.diagonal({e})", "np.diagonal({e}, 1)", "np.diagonal({e}, 0, 1, 0)",
                           "{p}.diagonal()", "{p}.diagonal(offset=1)"])
        if form.startswith("{p}"):
            gen.feat("more:diagonal_method")
        return A(form.format(e=e.code, p=par(e)), (2,), e.iv, True)
    if kind in ("tril", "triu"):
        e = gen.sub(scope, depth, (2, 3), must)
        gen.feat(f"more:{kind}")
        k = gen.choice(["", ", 1", ", -1", ", k=1"])
        return A(f"np.{kind}({e.code}{k})", shape, e.iv.hull(Interval(0.0)), True)
    if kind == "diff":
        gen.feat("more:diff")
        if shape == ():
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.sum(np.diff({e.code}, n=2))", (), (e.iv - e.iv * 2.0 + e.iv), True)
        if gen.r() < 0.5:
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.diff({e.code})", (2,), e.iv - e.iv, True)
        e = gen.sub(scope, depth, (2, 3), must)
        return A(f"np.diff({e.code}, axis=1)[:, 0]", (2,), e.iv - e.iv, True)
    if kind == "cumprod":
        gen.feat("more:cumprod")
        e = gen.squash(gen.sub(scope, depth, shape, must), Interval(0.5, 1.5))
        if shape == (3,):
            if gen.r() < 0.3:
                gen.feat("more:cumprod_method")
                return A(f"{par(e)}.cumprod()", shape, Interval(0.125, 3.375), True)
            return A(f"np.cumprod({e.code})", shape, Interval(0.125, 3.375), True)
        axis = gen.choice(["0", "1", "-1"])
        return A(f"np.cumprod({e.code}, axis={axis})", shape, Interval(0.125, 3.375), True)
    if kind == "take":
        gen.feat("more:take")
        if shape == (3,):
            e = gen.sub(scope, depth, (3,), must)
            counters = [v for v in scope.ints() if v.hi < 3]
            if counters and gen.r() < 0.8:  # indices written with a loop's counter
                gen.feat("more:take_counter")
                i = gen.choice(counters).name
                return A(f"np.take({e.code}, [{i}, 0, {i}])", shape, e.iv, True)
            return A(f"np.take({e.code}, {gen.choice(['[2, 0, 0]', '[-1, 1, 1]'])})", shape, e.iv, True)
        e = gen.sub(scope, depth, (2, 3), must)
        form = gen.choice(["np.take({e}, [4, 4])", "np.take({e}, 2, axis=1)",
                           "np.take({e}, [0, -1], axis=1)[:, 1]"])
        return A(form.format(e=e.code), (2,), e.iv, True)
    if kind == "atleast_3d":
        e = gen.sub(scope, depth, shape, must)
        gen.feat("more:atleast_3d")
        if shape == (3,):
            return A(f"np.atleast_3d({e.code})[0, :, 0]", shape, e.iv, True)
        return A(f"np.atleast_3d({e.code})[..., 0]", shape, e.iv, True)
    if kind == "pad":
        gen.feat("more:pad")
        c = gen.choice([None, 0.5, -1.0])
        values = "" if c is None else f", constant_values={c}"
        iv_extra = Interval(0.0 if c is None else c)
        if shape == (3,):
            e = gen.sub(scope, depth, (2,), must)
            return A(f"np.pad({e.code}, {gen.choice(['(1, 0)', '(0, 1)'])}{values})", shape,
                     e.iv.hull(iv_extra), True)
        e = gen.sub(scope, depth, (3,), must)
        return A(f"np.pad({par(e)}[None, :], ((1, 0), (0, 0)){values})", shape,
                 e.iv.hull(iv_extra), True)
    if kind == "kron":
        gen.feat("more:kron")
        a = gen.sub(scope, depth, (2,), first)
        b = gen.sub(scope, depth, (3,), second)
        if shape == (3,):
            return A(f"np.kron({a.code}, {b.code})[:3]", shape, a.iv * b.iv, True)
        return A(f"np.kron({par(a)}[:, None], {par(b)}[None, :])", shape, a.iv * b.iv, True)
    if kind == "convolve":
        gen.feat("more:convolve")
        a = gen.sub(scope, depth, (2,), first)
        b = gen.sub(scope, depth, (2,), second)
        if shape == (3,):
            return A(f"np.convolve({a.code}, {b.code})", shape, a.iv * b.iv * 2, True)
        return A(f"np.sum(np.convolve({a.code}, {b.code}))", (), a.iv * b.iv * 4, True)
    return None


# interp's sample points: constants, sorted, away from the values clamps give (0, 0.5, 1)
INTERP_XP = "[-0.93, 0.13, 1.07]"


def _matrix(gen, scope, depth, n, must):
    """``I + 0.2 u w^T`` (n x n) for unit vectors u and w: its infinity norm is at most
    1 + 0.2 n, its one eigenvalue apart from 1 is in [1 - 0.2 n, 1 + 0.2 n], so its
    inverse's norm is at most 1 + 0.2 n / (1 - 0.2 n); returns the code and that bound
    for positive and for negative powers."""
    u = gen.squash(gen.sub(scope, depth, (n,), must), UNIT)
    w = gen.squash(gen.sub(scope, depth, (n,)), UNIT)
    return (f"np.eye({n}) + 0.2 * np.outer({u.code}, {w.code})", 1 + 0.2 * n,
            1 + 0.2 * n / (1 - 0.2 * n))


def op_order_rules(gen, scope, depth, shape, must):
    """The rules added for a new user's programs: numpy.sort (flattened, or along an
    axis), ptp, append, and linalg.norm with ord 1, inf, -inf, a number p, 'fro'. The
    kind is drawn from its own stream (ORDER_RATE), so other programs stay as they were."""
    rng = gen.order_rng
    options = {(): ["ptp", "norm_1", "norm_inf", "norm_minus_inf", "norm_p", "norm_fro"],
               (3,): ["sort", "sort_flat", "ptp_axis", "append"],
               (2, 3): ["sort_axis"]}.get(shape)
    if not options:
        return None
    kind = rng.choice(options)
    gen.feat(f"order:{kind}")
    if kind == "sort":
        e = gen.sub(scope, depth, (3,), must)
        return A(f"np.sort({e.code})", shape, e.iv, True)
    if kind == "sort_flat":  # of a column: three numbers, flattened
        e = gen.sub(scope, depth, (3,), must)
        return A(f"np.sort(np.reshape({e.code}, (3, 1)), axis=None)", shape, e.iv, True)
    if kind == "sort_axis":
        e = gen.sub(scope, depth, (2, 3), must)
        axis = rng.choice(["0", "1", "-1"])
        return A(f"np.sort({e.code}, axis={axis})", shape, e.iv, True)
    if kind == "ptp":
        e = gen.sub(scope, depth, rng.choice([(3,), (2, 3)]), must)
        return A(f"np.ptp({e.code})", shape, Interval(0.0, e.iv.hi - e.iv.lo), True)
    if kind == "ptp_axis":
        e = gen.sub(scope, depth, (2, 3), must)
        return A(f"np.ptp({e.code}, axis=0)", shape, Interval(0.0, e.iv.hi - e.iv.lo), True)
    if kind == "append":
        e = gen.sub(scope, depth, (2,), must)
        v = gen.sub(scope, depth, ())
        return A(f"np.append({e.code}, {v.code})", shape, e.iv.hull(v.iv), True)
    source = (2, 3) if kind == "norm_fro" else (3,)
    e = gen.sub(scope, depth, source, must)
    if not e.iv.finite(1e3):
        return None
    largest = max(abs(e.iv.lo), abs(e.iv.hi))
    if kind == "norm_fro":
        return A(f"np.linalg.norm({e.code}, 'fro')", shape, Interval(0.0, 2.5 * largest), True)
    order, bound = {"norm_1": ("1", 3.0), "norm_inf": ("np.inf", 1.0),
                    "norm_minus_inf": ("-np.inf", 1.0),
                    "norm_p": (rng.choice(["3", "1.5", "4"]), 1.6)}[kind]
    keyword = "ord=" if rng.random() < 0.5 else ""
    return A(f"np.linalg.norm({e.code}, {keyword}{order})", shape, Interval(0.0, bound * largest), True)


def op_numpy2_rules(gen, scope, depth, shape, must):
    """The rules added for users' trials: np.fmod (constant divisors of either sign, or a
    positive array), NumPy 2's linalg.vector_norm (flattened, along an axis, ord 1, 2, 3,
    inf), matrix_transpose (both spellings), vecdot and linalg.vecdot (broadcast, along
    axis 0), cumulative_sum (with axis, include_initial), float_power (a positive base)
    and nan_to_num (of values with nan put in by a constant mask). The kind, and the
    options, are drawn from their own stream (NUMPY2_RATE), so other programs stay as
    they were."""
    rng = gen.numpy2_rng
    options = {(): ["vector_norm", "vecdot", "float_power", "nan_to_num"],
               (2,): ["vector_norm", "vecdot", "fmod", "cumulative_sum", "nan_to_num"],
               (3,): ["vector_norm", "vecdot", "fmod", "cumulative_sum", "matrix_transpose",
                      "float_power", "nan_to_num"],
               (2, 3): ["fmod", "cumulative_sum", "matrix_transpose", "float_power",
                        "nan_to_num"]}.get(shape)
    if not options:
        return None
    kind = rng.choice(options)
    gen.feat(f"numpy2:{kind}")
    if kind == "fmod":
        e = gen.sub(scope, depth, shape, must)
        if rng.random() < 0.3:  # by a positive array: |fmod| < its largest element
            d = gen.positive(gen.bounded(gen.sub(scope, depth, shape), 2.0), 0.3)
            bound = d.iv.hi
            code = f"np.fmod({e.code}, {d.code})"
        else:
            c = rng.choice([0.7, 1.5, -1.1, -0.6])
            if c < 0:
                gen.feat("numpy2:fmod_negative")
            bound = abs(c)
            code = f"np.fmod({e.code}, {fmt(c)})"
        return A(code, shape, Interval(-bound if e.iv.lo < 0 else 0.0,
                                       bound if e.iv.hi > 0 else 0.0), True)
    if kind == "vector_norm":
        if shape == ():
            source = rng.choice([(3,), (2, 3)])
            if source == (2, 3):
                gen.feat("numpy2:vector_norm_flat")  # of every element of a matrix
        else:
            source = (2, 3)
            gen.feat("numpy2:vector_norm_axis")
        e = gen.sub(scope, depth, source, must)
        if not e.iv.finite(1e3):
            return None
        keyword = rng.choice(["", "ord=1", "ord=3", "ord=np.inf"])
        count = 6 if source == (2, 3) and shape == () else source[0 if shape == (3,) else -1]
        axis = "" if shape == () else ("axis=0" if shape == (3,) else "axis=-1")
        arguments = ", ".join(a for a in (e.code, axis, keyword) if a)
        largest = max(abs(e.iv.lo), abs(e.iv.hi))
        return A(f"np.linalg.vector_norm({arguments})", shape,
                 Interval(0.0, count * largest), True)
    if kind == "vecdot":
        if shape == (3,):  # along the first axis of two matrices
            gen.feat("numpy2:linalg_vecdot")
            a, b = gen.sub(scope, depth, (2, 3), must), gen.sub(scope, depth, (2, 3))
            call, count = f"np.linalg.vecdot({a.code}, {b.code}, axis=0)", 2
        elif shape == (2,):  # each row with one vector, broadcast
            a, b = gen.sub(scope, depth, (2, 3), must), gen.sub(scope, depth, (3,))
            call, count = f"np.vecdot({a.code}, {b.code})", 3
        else:
            a, b = gen.sub(scope, depth, (3,), must), gen.sub(scope, depth, (3,))
            call, count = f"np.vecdot({a.code}, {b.code})", 3
        if not (a.iv.finite(1e3) and b.iv.finite(1e3)):
            return None
        bound = count * a.iv.mag * b.iv.mag
        return A(call, shape, Interval(-bound, bound), True)
    if kind == "cumulative_sum":
        if shape == (3,) and rng.random() < 0.5:  # a zero, then the two running sums
            gen.feat("numpy2:cumulative_sum_initial")
            e = gen.sub(scope, depth, (2,), must)
            return A(f"np.cumulative_sum({e.code}, include_initial=True)", shape,
                     (e.iv * 2.0).hull(e.iv).hull(Interval(0.0)), True)
        e = gen.sub(scope, depth, shape, must)
        axis = "" if len(shape) == 1 else f", axis={rng.choice(['0', '1', '-1'])}"
        count = max(shape)
        return A(f"np.cumulative_sum({e.code}{axis})", shape,
                 (e.iv * float(count)).hull(e.iv), True)
    if kind == "matrix_transpose":
        name = rng.choice(["np.matrix_transpose", "np.linalg.matrix_transpose"])
        if shape == (3,):  # the first column of the transpose of a (2, 3) matrix
            e = gen.sub(scope, depth, (2, 3), must)
            return A(f"{name}({e.code})[:, 0]", shape, e.iv, True)
        e = gen.sub(scope, depth, (2, 3), must)
        return A(f"{name}({par(e)}.T)", shape, e.iv, True)
    if kind == "float_power":
        base = gen.positive(gen.bounded(gen.sub(scope, depth, shape, must), 3.0), 0.2)
        c = rng.choice([2.0, 0.5, -1.0, 1.5])
        ends = sorted((base.iv.lo ** c, base.iv.hi ** c))
        return A(f"np.float_power({base.code}, {fmt(c)})", shape, Interval(*ends), True)
    # nan_to_num: of finite values, or with nan where a constant mask says (0.0 there)
    e = gen.sub(scope, depth, shape, must)
    if shape and rng.random() < 0.5:
        gen.feat("numpy2:nan_to_num_nan")
        mask = [True, False, True][:shape[-1]] if len(shape) == 1 else \
            [[True, False, True], [False, True, True]]
        return A(f"np.nan_to_num(np.where({mask}, {e.code}, np.nan))", shape,
                 e.iv.hull(Interval(0.0)), True)
    return A(f"np.nan_to_num({e.code})", shape, e.iv, True)


def op_rules(gen, scope, depth, shape, must):
    """The rules added for autograd's examples: trapezoid, polyval, interp (sample points
    constant and sorted), nanmean (NaN from a constant mask, some element kept in each
    slice), cov, linalg.matrix_power (of a well-conditioned matrix), diagflat, float64,
    logspace (of constants) and scipy.special's gammaln (a positive argument), xlogy and
    xlog1py (the second argument in their domain). Drawn rarely (RULES_RATE, its own
    stream), so that other programs stay as they were."""
    options = {(): ["trapezoid", "polyval", "interp", "nanmean", "cov", "matrix_power", "float64"],
               (3,): ["trapezoid", "polyval", "interp", "nanmean", "cov", "matrix_power",
                      "diagflat", "float64", "logspace"],
               (2,): ["trapezoid", "polyval", "interp", "nanmean", "cov", "matrix_power"],
               (2, 3): ["polyval", "interp", "diagflat", "float64", "logspace"]}.get(shape)
    if not options:
        return None
    kind = gen.choice(options + (["special"] if HAVE_SCIPY else []))
    if kind == "special":
        kind = gen.choice(["gammaln", "xlogy", "xlog1py"])
    gen.feat(f"rules:{kind}")
    if kind == "trapezoid":
        if shape == (3,):  # along the first axis, of two points
            e = gen.sub(scope, depth, (2, 3), must)
            if gen.r() < 0.5:
                return A(f"np.trapezoid({e.code}, dx=0.5, axis=0)", shape, e.iv * 0.5, True)
            return A(f"np.trapezoid({e.code}, axis=0)", shape, e.iv, True)
        e = gen.sub(scope, depth, (3,) if shape == () else (2, 3), must)
        form = gen.choice(["plain", "dx", "grid", "moving", "moving"])
        if form == "plain":
            return A(f"np.trapezoid({e.code})", shape, e.iv * 2.0, True)
        if form == "dx":
            return A(f"np.trapezoid({e.code}, dx=0.25)", shape, e.iv * 0.5, True)
        if form == "grid":
            return A(f"np.trapezoid({e.code}, [0.0, 0.5, 1.5])", shape, e.iv * 1.5, True)
        gen.feat("rules:trapezoid_grid")  # sample points that depend on the arguments
        u = gen.squash(gen.sub(scope, depth, (3,)), UNIT)
        return A(f"np.trapezoid({e.code}, np.cumsum(np.abs({u.code}) + 0.1))", shape,
                 e.iv * 2.2, True)
    if kind == "polyval":
        x = gen.squash(gen.sub(scope, depth, shape, must), UNIT)
        if gen.r() < 0.5:
            gen.feat("rules:polyval_coefficients")
            p = gen.squash(gen.sub(scope, depth, (3,)), UNIT)
            return A(f"np.polyval({p.code}, {x.code})", shape, Interval(-3.0, 3.0), True)
        coefficients = [gen.const(-1.0, 1.0) for _ in range(gen.choice([2, 3, 4]))]
        bound = sum(abs(c) for c in coefficients)
        return A(f"np.polyval({coefficients!r}, {x.code})", shape, Interval(-bound, bound), True)
    if kind == "interp":
        x = gen.sub(scope, depth, shape, must)
        fp = gen.sub(scope, depth, (3,))
        if gen.r() < 0.3:
            gen.feat("rules:interp_ends")
            left, right = gen.const(), gen.const()
            return A(f"np.interp({x.code}, {INTERP_XP}, {fp.code}, left={left}, right={right})",
                     shape, fp.iv.hull(Interval(left)).hull(Interval(right)), True)
        if gen.rules_rng.random() < 0.4:  # the required arguments by keyword
            gen.feat("rules:interp_keywords")
            return A(f"np.interp({x.code}, fp={fp.code}, xp={INTERP_XP})", shape, fp.iv, True)
        return A(f"np.interp({x.code}, {INTERP_XP}, {fp.code})", shape, fp.iv, True)
    if kind == "nanmean":
        if shape == ():
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.nanmean(np.where([True, False, True], {e.code}, np.nan))", shape, e.iv, True)
        e = gen.sub(scope, depth, (2, 3), must)
        if shape == (3,):  # each column keeps an element
            return A(f"np.nanmean(np.where([[True, False, True], [True, True, False]], {e.code}, "
                     f"np.nan), axis=0)", shape, e.iv, True)
        return A(f"np.nanmean({e.code}, axis=1)", shape, e.iv, True)
    if kind == "cov":
        e = gen.sub(scope, depth, (3,) if shape == () else (2, 3), must)
        if not e.iv.finite(1e3):
            return None
        width = (e.iv.hi - e.iv.lo) ** 2 / 4  # the largest product of two centred values
        if shape == ():
            return A(f"np.cov({e.code})", shape, Interval(0.0, 1.5 * width), True)
        row = gen.choice(["0", "-1"])
        if shape == (3,):  # three variables, two observations each
            return A(f"np.cov({e.code}, rowvar=False)[{row}]", shape, Interval(-2 * width, 2 * width), True)
        return A(f"np.cov({e.code})[{row}]", shape, Interval(-1.5 * width, 1.5 * width), True)
    if kind == "matrix_power":
        n = 3 if shape in ((), (3,)) else 2
        matrix, norm, inverse = _matrix(gen, scope, depth, n, must)
        power = gen.choice([2, 3, -1, -2, 5])
        if power < 0:
            gen.feat("rules:matrix_power_inverse")
        bound = (norm if power > 0 else inverse) ** abs(power)
        p = f"np.linalg.matrix_power({matrix}, {power})"
        if shape == ():
            return A(f"np.sum({p})", shape, Interval(-n * n * bound, n * n * bound), True)
        return A(f"{p}[{gen.choice(['0', '-1'])}]", shape, Interval(-bound, bound), True)
    if kind == "diagflat":
        if shape == (3,):
            e = gen.sub(scope, depth, (3,), must)
            return A(f"np.diagflat({e.code})[{gen.choice(['0', '1', '-1'])}]", shape,
                     e.iv.hull(Interval(0.0)), True)
        e = gen.sub(scope, depth, (2,), must)
        return A(f"np.diagflat({e.code}, 1)[:2]", shape, e.iv.hull(Interval(0.0)), True)
    if kind == "float64":
        e = gen.sub(scope, depth, shape, must)
        return A(f"np.float64({e.code})", shape, e.iv, True)
    if kind == "logspace":  # a constant: 0.1, 0.316..., 1
        e = gen.sub(scope, depth, shape, must)
        return A(f"{par(e)} * np.logspace(-1.0, 0.0, 3)", shape, e.iv.hull(Interval(0.0)))
    gen.uses_special = True
    if kind == "gammaln":  # log |gamma| of [0.5, 3]: within [-0.13, 0.7]
        q = gen.squash(gen.sub(scope, depth, shape, must), Interval(0.5, 3.0))
        return A(f"special.gammaln({q.code})", shape, Interval(-0.13, 0.7), True)
    a = gen.sub(scope, depth, shape, must)
    if not a.iv.finite(1e3):
        return None
    other = gen.choice(gen.operand_shapes(shape))
    domain = Interval(0.5, 2.0) if kind == "xlogy" else Interval(-0.5, 1.0)
    q = gen.squash(gen.sub(scope, depth, other), domain)
    return A(f"special.{kind}({a.code}, {q.code})", shape, a.iv * Interval(-0.7, 0.7), True)


def op_sequence_literal(gen, scope, depth, shape, must):
    """A list or tuple of numbers written out as one of the arrays concatenate, stack,
    hstack or vstack join (NumPy makes an array of each): ``np.concatenate([u, [a, b]])``,
    ``np.vstack((u, (a, 0.5, c)))``, ``np.stack([[a, b, c], u], axis=-1).T``, and a
    nested one, ``np.concatenate([M[:1], [[a, b, c]]])``. Its numbers depend on the
    parameters (srcdiff once took such a list for a constant: a zero gradient), one of them
    sometimes a constant. Drawn rarely (SEQUENCE_LITERAL_RATE, its own stream), so that
    other programs stay as they were; the kind of form from that stream too."""
    rng = gen.sequence_rng
    forms = {(): ["concatenate", "hstack"], (2,): ["concatenate", "hstack"],
             (3,): ["concatenate", "hstack", "tuple"],
             (2, 3): ["stack", "vstack", "stack_axis", "nested", "nested_vstack"]}.get(shape)
    if not forms:
        return None
    kind = rng.choice(forms)

    def numbers(count: int, first: bool = True) -> tuple[str, Interval]:
        """``count`` numbers written out, the first given ``must``: their code, joined by
        commas, and the hull of their intervals."""
        parts = [gen.sub(scope, depth, (), must if k == 0 and first else None)
                 for k in range(count)]
        codes = [p.code for p in parts]
        iv = parts[0].iv
        for p in parts[1:]:
            iv = iv.hull(p.iv)
        if count > 1 and rng.random() < 0.3:  # one of them a constant
            c = round(rng.uniform(-1.5, 1.5), 2) or 0.5
            codes[rng.randrange(1, count)] = fmt(c)
            iv = iv.hull(Interval(c))
            gen.feat("sequence_literal:constant")
        return ", ".join(codes), iv

    def written(code: str, count: int, as_tuple: bool) -> str:
        if as_tuple:
            gen.feat("sequence_literal:tuple")
            return f"({code},)" if count == 1 else f"({code})"
        return f"[{code}]"
    if shape == ():  # a sum or mean of the joined array
        f = gen.sub(scope, depth, (2,))
        code, iv = numbers(1 + rng.randrange(2))
        joined = "np.concatenate" if kind == "concatenate" else "np.hstack"
        gen.feat(f"sequence_literal:{kind}")
        reduce = rng.choice(["sum", "mean"])
        gen.feat(f"reduce:{reduce}")
        total = f.iv.hull(iv) * (4 if reduce == "sum" else 1)
        return A(f"np.{reduce}({joined}([{f.code}, [{code}]]))", (), total, True)
    if shape == (2,):
        e = gen.sub(scope, depth, (2,))
        code, iv = numbers(1)
        gen.feat(f"sequence_literal:{kind}")
        if kind == "concatenate":
            return A(f"np.concatenate(([{code}], {par(e)}[1:]))", (2,), e.iv.hull(iv), True)
        return A(f"np.hstack([{par(e)}[:1], {written(code, 1, rng.random() < 0.3)}])", (2,),
                 e.iv.hull(iv), True)
    if shape == (3,):
        if kind == "tuple":  # a tuple among a tuple of arrays
            f = gen.sub(scope, depth, (2,))
            code, iv = numbers(1)
            gen.feat("sequence_literal:concatenate")
            return A(f"np.concatenate(({written(code, 1, True)}, {f.code}))", (3,),
                     f.iv.hull(iv), True)
        gen.feat(f"sequence_literal:{kind}")
        if kind == "concatenate":
            f = gen.sub(scope, depth, (2,))
            code, iv = numbers(1)
            return A(f"np.concatenate([{f.code}, [{code}]])", (3,), f.iv.hull(iv), True)
        e = gen.sub(scope, depth, (3,))
        code, iv = numbers(2)
        return A(f"np.hstack([{written(code, 2, rng.random() < 0.3)}, {par(e)}[2:]])", (3,),
                 e.iv.hull(iv), True)
    # (2, 3)
    if kind in ("nested", "nested_vstack"):  # a row written out: [[a, b, c]]
        gen.feat("sequence_literal:nested")
        m = gen.sub(scope, depth, (2, 3))
        code, iv = numbers(3)
        if kind == "nested":
            gen.feat("sequence_literal:concatenate")
            return A(f"np.concatenate([{par(m)}[:1], [[{code}]]])", (2, 3), m.iv.hull(iv), True)
        gen.feat("sequence_literal:vstack")
        return A(f"np.vstack(([[{code}]], {par(m)}[1:]))", (2, 3), m.iv.hull(iv), True)
    u = gen.sub(scope, depth, (3,))
    code, iv = numbers(3)
    row = written(code, 3, rng.random() < 0.3)
    if kind == "stack_axis":  # (3, 2), transposed
        gen.feat("sequence_literal:stack")
        return A(f"np.stack([{row}, {u.code}], axis=-1).T", (2, 3), u.iv.hull(iv), True)
    gen.feat(f"sequence_literal:{kind}")
    first, second = (u.code, row) if rng.random() < 0.5 else (row, u.code)
    return A(f"np.{kind}([{first}, {second}])", (2, 3), u.iv.hull(iv), True)


OPS = ([op_unary] * 5 + [op_binary] * 6 + [op_binary_ufunc] * 3 + [op_reduce] * 2
       + [op_linalg] * 2 + [op_index] * 2 + [op_shape] * 2 + [op_more] * 2
       + [op_call, op_list, op_list_arith])
