"""Lists, tuples, comprehensions and reductions as people write them: the collection
tests/test_lists.py checks against dual numbers, central differences, SymPy (where it
runs the program) and the gradient made without optimisations, and
tests/test_translation_validation.py with each optimisation off.

srcdiff follows a list the function makes element by element (its length is known when
the gradient is written); ``sum``, ``min``, ``max``, ``math.prod``, ``any`` and ``all``
of a generator become the loops they stand for, of any length.
"""

import math

import numpy as np

LISTS = []


def program(*point, sympy=True):
    def register(func):
        LISTS.append((func, point, sympy))
        return func
    return register


@program(0.7, 1.3)
def sum_of_generator(x, y):
    return sum(w * x ** k for k, w in enumerate((0.5, 1.5, -2.0))) + y


@program(0.4)
def weighted_sum_of_zip(x):
    weights = (0.5, 1.5, 2.0)
    values = (x, x * x, math.sin(x))
    return sum(w * v for w, v in zip(weights, values))


@program(0.3, 5, sympy=False)
def sum_of_comprehension_of_any_length(x, n):
    return sum([math.sin(k * x) for k in range(n)])


@program(0.6)
def appended_in_a_loop(x):
    out = []
    for k in range(4):
        out.append(math.cos(k * x))
    return sum(out) / len(out)


@program(0.8, -0.3)
def literal_items_assigned(x, y):
    values = [x, y, x * y]
    values[1] = values[0] + values[2]
    return values[1] * values[-1]


@program(0.9, 0.4, sympy=False)
def max_and_min_of_generators(x, y):
    return max(x * k - y * y for k in (1.0, -2.0, 0.5)) + min([x, y, 0.25])


@program(0.7)
def nested_comprehension_with_condition(x):
    return sum(x ** i * j for i in range(3) for j in (1.0, 2.0) if i != j)


@program(0.35)
def product_of_generator(x):
    return math.prod(1.0 + x / k for k in range(1, 5))


@program(0.45)
def loop_over_a_list(x):
    terms = [x, 2.0 * x, x ** 3]
    total = 0.0
    for t in terms:
        total = total * 0.5 + math.exp(-t)
    return total


def mean(values):
    return sum(values) / len(values)


@program(0.5, 1.5)
def helper_given_a_list(x, y):
    return mean([x, y, x * y]) * mean([x])


def push_square(out, v):
    out.append(v * v)
    out.append(v)
    return len(out)


@program(0.6)
def helper_appends_to_a_list(x):
    out = []
    first = push_square(out, x)
    push_square(out, 2.0 * x)
    return out[0] + out[3] * out[1] + first


@program(0.8, sympy=False)
def any_and_all(x):
    if any(v > 1.0 for v in (x, 2.0 * x)):
        scale = 3.0
    else:
        scale = 0.5
    if all(v < 5.0 for v in [x, x * x]):
        scale = scale + 1.0
    return scale * x * x


@program(1.1, 0.4)
def unpack_a_list(x, y):
    pair = [x + y, x - y]
    a, b = pair
    t = (a * b, a)
    c, d = t
    return c * d + t[0]


@program(0.65)
def enumerate_a_list(x):
    coeffs = [x, x * x, 1.0]
    return sum(c * 0.5 ** i for i, c in enumerate(coeffs))


@program(0.75)
def horner_over_reversed(x):
    coeffs = [1.0, -2.0, x]
    acc = 0.0
    for c in reversed(coeffs):
        acc = acc * x + c
    return acc


@program(0.55)
def slices_of_a_list(x):
    values = [x, 2.0 * x, 3.0 * x, x * x]
    return sum(values[1:]) * values[0] + sum(values[::2])


@program(0.7, sympy=False)
def list_read_in_a_while_loop(x):
    steps = [x, 0.1 * x]
    total = 0.0
    while total < 10.0:
        total = total + steps[0] + steps[1] * total
    return total


@program(0.3, 0.2, 4, sympy=False)
def list_made_in_each_iteration(s, x, n):
    for i in range(n):
        pair = [s, x * i]
        s = math.sin(pair[0] + pair[1])
    return s


@program(0.4, sympy=False)
def aliases_see_appends(x):
    out = [x]
    alias = out
    alias.append(x * x)
    out.append(3.0 * x)
    return sum(out) * len(alias)


@program(0.9)
def comprehension_of_comprehension(x):
    rows = [[x * i + j for j in range(2)] for i in range(3)]
    return sum(sum(row) * row[0] for row in rows)


@program(0.3, sympy=False)
def sine_map_in_a_loop(x):
    s = 0.0
    for i in range(3):
        s = math.sin(s + x)
    return s + max(v for v in (s, x))


WEIGHTS = (0.5, -1.0, 2.0)


@program(0.6, sympy=False)
def list_in_a_loop_that_breaks(x):
    # fuzz scalar 750092 and 750057: a list made and grown inside a loop that breaks (over
    # a module's tuple) was refused as if the loop had to be unrolled
    total = 0.0
    for i, w in enumerate(WEIGHTS):
        if total > 5.0:
            break
        parts = []
        for k in range(2):
            parts.append(w * x ** k)
        total = total + parts[0] * parts[1] + i
    return total


@program(0.8)
def zip_of_a_module_tuple_and_computed_values(x):
    return sum(w * v for w, v in zip(WEIGHTS, (x, x * x, 1.0)))


@program(0.4)
def lists_of_lists_in_a_comprehension(x):
    # fuzz scalar 750013: a list written out as a comprehension's element was refused
    rows = [[math.cos(w * x), 0.5 * w] for w in (0.5, 1.5)]
    return rows[0][0] * rows[1][1] + sum(r[0] - r[1] for r in rows)


@program(0.3, 0.4)
def hypot_of_three_and_four(x, y):
    return math.hypot(x, y, 2.0 * x) + math.hypot(x, 1.0, y, 0.5)


@program(0.3, 0.4)
def hypot_of_many(x, y):
    values = [x + k * y for k in range(7)]
    return math.hypot(x, y, 2.0 * x, 0.5, x * y) + math.hypot(*values)


# math.fsum: one primitive over the elements, exactly rounded (the value is fsum's: the
# cancellation below leaves x + y, where adding left to right leaves 0)
@program(0.7, 1.3)
def fsum_of_a_list_written_out(x, y):
    return math.fsum([x * y, x, y]) + math.fsum((x, 1e100, y, -1e100))


@program(0.7, 1.3)
def fsum_of_a_list_made(x, y):
    out = []
    for k in range(4):
        out.append(math.sin(k * x) + y)
    return math.fsum(out) * math.fsum([v * v for v in out])


@program(0.7, 1.3)
def fsum_of_generators(x, y):
    weights = (0.5, 1.5, -2.0)
    return math.fsum(w * x ** k for k, w in enumerate(weights)) + math.fsum(
        w * v for w, v in zip(weights, (x, y, x * y)))


@program(0.7, 1.3)
def fsum_of_spread_and_module_data(x, y):
    pair = [x, y * y]
    return math.fsum([*pair, x * y]) + x * math.fsum(WEIGHTS) + math.fsum(())


@program(0.3, 0.4)
def dist_of_points(x, y):
    return math.dist((x, y, 1.0), (0.5, x * y, -1.0)) + math.dist([x], [2.0]) + math.dist(
        [x * k for k in range(3)], (y, y, y))


# -- calls to functions returning a tuple, used as values ----------------------------------
def _polar(r, t):
    return r * math.cos(t), r * math.sin(t)


@program(0.7, 1.3)
def returned_tuple_indexed(x, y):
    def inner(a):
        return a * y, a + y, math.sin(a)
    t = inner(x)
    return t[0] * t[2] + inner(x)[1] + inner(y)[-1] * len(t)


@program(0.7, 1.3, sympy=False)  # _polar reads the module's math
def returned_tuple_looped_and_reduced(x, y):
    def inner(a):
        return a * y, a - y
    total = 0.0
    for v in inner(x):
        total = total * v + v
    return total + sum(v * v for v in inner(x)) + max(inner(y)) + math.fsum(_polar(x, y))


@program(0.7, 1.3, sympy=False)
def returned_through_helpers(x, y):
    def inner(a):
        return a * y, a - y

    def outer(a):
        return inner(a)

    def polar_of(a):
        return _polar(a, y)
    p, q = outer(x)
    return p * q + outer(y)[0] + polar_of(x)[1]


# -- `*` unpacking and `del` ---------------------------------------------------------------
def _three(a, b, c):
    return a * b - c


@program(1.5, 2.0)
def starred_targets(x, y):
    first, *middle, last = [x * k for k in range(1, 5)]
    a, *rest = (x, y, x * y)
    return first * last + sum(middle) * y + a * sum(rest)


@program(0.7, 1.3)
def starred_arguments(x, y):
    args = [x, y]
    pairs = [(x, y), (y, 2.0 * x)]
    return _three(*args, x * y) + _three(*(y, x), 1.0) + math.atan2(*args) + sum(
        math.atan2(*p) for p in pairs) + _three(*WEIGHTS) * x


@program(0.6, 1.1)
def starred_elements(x, y):
    xs = [x, y]
    ys = [*xs, x * y, *(y, 2.0)]
    first, *_, last = ys
    return sum(ys) * first + last


@program(0.9)
def starred_in_a_loop(x):
    s = 0.0
    for i in range(3):
        a, *r = (x * i, x, 2.0)
        s = s + a * sum(r)
    return s


@program(1.2)
def del_of_temporaries(x):
    t = x * x
    u = t + 1.0
    del t
    s = 0.0
    for i in range(3):
        tmp = math.sin(x * i)
        s = s + tmp * u
        del tmp
    t = 3.0 * x  # assigned again after the del: read as the new value
    xs = [x, 2.0 * x]
    s = s + sum(xs)
    del xs, u
    return s + t


@program(0.8, sympy=False)
def del_in_a_loop_with_continue(x):
    i = 0
    t = x
    s = 0.0
    while i < 3:
        i = i + 1
        if i == 2:
            del t
            t = x * 2.0
            continue
        s = s + t
    return s


@program(0.4, 1.2, sympy=False)  # max(): SymPy cannot order symbols
def starred_in_reductions_and_rows(x, y):
    # fuzz scalar 770102: `*` in a list given to sum() reached the lowering unspread
    parts = [y, x * y, y]
    rows = [[x, y], [y, 2.0 * x]]
    table = [*rows, [x * x, 1.0]]
    return sum([*parts, 0.5]) + max((*parts, x)) + sum(r[0] * r[1] for r in table)


# -- dicts made in the function, with constant keys -----------------------------------------
def _saxpy(val):
    return val["a"] * val["b"] + val["c"]


@program(0.7, 1.3)
def dict_given_to_a_function(x, y):
    # Tangent's dict_wrapper
    return _saxpy(dict(a=x, b=y, c=x * y)) + _saxpy({"a": y, "b": 2.0, "c": x})


@program(1.5, 2.0)
def dict_items_values_and_keys(x, y):
    d = {"a": x, "b": y}
    d["c"] = x * y
    d["a"] = d["a"] + 1.0
    s = 0.0
    for k, v in d.items():
        s = s + v * len(k)
    for k in d:
        s = s + d[k] * d[k]
    return s + sum(d.values()) + sum(w * w for w in d.values()) + len(d)


@program(0.9)
def dict_of_lists_in_a_loop(x):
    s = 0.0
    for i in range(3):
        p = {"u": [x * i, x], 1: x}
        s = s + p["u"][0] * p["u"][-1] + p[1]
    params = {0: x, 1: 2.0 * x}
    for k in range(2):
        s = s + params[k] * (k + 1)  # a loop over range() of a constant, unrolled
    return s


@program(0.6, 1.4)
def del_inside_a_local_function(x, y):
    # fuzz scalar 771374: a local function's del of its own local was taken for the outer
    # function's, and its reads refused
    def inner(z):
        pair = [z * y, z]
        total = pair[0] + pair[1]
        del pair
        return total

    pair = x * 2.0
    return inner(x) * pair + inner(y)


# -- items at positions known only when the function runs ----------------------------------
@program(1.0, 2.0, 3.0, 1, sympy=False)  # an index: SymPy takes every argument as a symbol
def passthru_pack(a, b, c, i):
    # Tangent's passthru_pack
    x = a, b, c
    return x[i] * x[-1 - i]


@program(0.7, 5, sympy=False)
def weights_at_a_loop_position(x, n):
    w = [x, 2.0 * x, x * x]
    s = 0.0
    for i in range(n):
        s = s + w[i % 3] * math.sin(x * i)
    return s


@program(0.7, -2, sympy=False)
def item_assigned_at_a_variable_position(x, i):
    xs = [x, 2.0 * x, 3.0]
    xs[i] = xs[i] * x
    return xs[0] + xs[1] * xs[2]


# -- lists grown while the function runs: their length known only then ---------------------
@program(0.7, 4, sympy=False)
def grows_with_n(x, n):
    out = []
    for k in range(n):
        out.append(x * k)
    return sum(out)


@program(0.7, sympy=False)  # (SymPy cannot decide the condition of a symbol)
def comprehension_with_a_condition(x):
    kept = [v for v in (x, -x) if v > 0.0]
    return kept[0] * len(kept)


@program(0.3, 5, sympy=False)
def fsum_of_a_run_time_length(x, n):
    return math.fsum(x * k for k in range(n))


@program(0.4, 5, sympy=False)
def comprehension_of_any_length_read_by_position(x, n):
    ys = [math.sin(x * k) for k in range(n)]
    return ys[1] * ys[-1] + np.mean(ys)


@program(1.1, sympy=False)
def grows_in_a_while_loop(x):
    out = [x]
    t = x
    while t < 4.0:
        t = t * 1.5 + 0.1
        out.append(t * x)
    return np.sum(out) + max(out) * len(out)


@program(0.6, 9, sympy=False)
def grows_until_a_break(x, n):
    out = [1.0]
    for k in range(n):
        if out[-1] > 3.0:
            break
        out.append(out[-1] * (1.0 + x * k))
    return np.prod(np.array(out))


@program(0.5, 6, sympy=False)
def grown_then_looped_over(x, n):
    ys = [x ** k for k in range(n) if k % 2 == 0]
    total = 0.0
    for i, y in enumerate(ys):
        total = total + (i + 1.0) * y
    return total + min(y * y for y in ys)


@program(0.9, 4, sympy=False)
def grown_in_nested_loops(x, n):
    out = []
    for i in range(n):
        for j in range(i):
            out.append(math.cos(x * i - j))
    return np.sum(np.array(out) ** 2) + np.mean(out)


@program(0.7, sympy=False)
def grows_in_a_branch(x):
    out = [x]
    if x > 0.0:
        out.append(2.0 * x)
    return sum(out) * len(out)


@program(0.4, 1.3, sympy=False)
def grows_in_a_branch_of_an_unrolled_loop(x, y):
    kept = []
    for k in range(4):
        if math.sin(x * k) < y * 0.5:
            kept.append(math.exp(x - k * y))
    return sum(kept) + 0.5 * max(kept)
