"""Programs that call user functions, each inlined by srcdiff."""

import math

import helpers_elsewhere

CALLS = []
SCALE = 2.0


def program(*point):
    def register(func):
        CALLS.append((func, point))
        return func
    return register


def helper(x, k=3.0):
    y = math.sin(x) * k
    return y + SCALE


def pair(a, b):
    if a > b:
        return a * b, a - b
    return b, a


@program(0.4, 0.9)
def module_functions_keywords_defaults(x, y):
    u = helper(x)
    v = helper(y, k=0.5) * helper(k=1.5, x=x * y)
    return u * v


@program(0.9, 0.1)
def tuple_returns(x, y):
    p, q = pair(x, y)
    r, s = pair(q, p)
    return p * q + r / (1 + s * s)


@program(0.7)
def nested_function_and_lambda(x):
    def square(v):
        return v * v
    cube = lambda v: v * square(v)
    return square(x) + cube(x + 1)


def make_scaled(k):
    def scaled(x):
        return k * math.exp(x)
    return scaled


scaled3 = make_scaled(3.0)


@program(0.3)
def closure_callee(x):
    return scaled3(x) + scaled3(2 * x)


square = lambda v: v * v


@program(0.6)
def module_lambda(x):
    return square(x) * square(x + 1)


@program(0.5, 4)
def callee_with_loop_and_early_return(x, n):
    total = 0.0
    for i in range(n):
        total += helpers_elsewhere.clipped_growth(x, i)
    return total


@program(0.8)
def callee_from_another_module(x):
    return helpers_elsewhere.smooth_step(x) * helpers_elsewhere.RATE + helpers_elsewhere.smooth_step(x * x)


@program(1.2)
def nested_calls(x):
    return helper(helper(x, 0.5), k=helper(x))


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


@program(1.3, 5)
def recursion(x, n):
    return power(x, n) + power(math.sin(x), 2)


def continued_fraction(x, depth):
    if depth == 0:
        return x
    return 1.0 + x / continued_fraction(x, depth - 1)


@program(0.8, 6)
def recursion_in_expressions(x, depth):
    return continued_fraction(x, depth) * 2


def ping(x, n):
    if n <= 0:
        return x
    return pong(x * 1.1, n - 1)


def pong(x, n):
    return math.sin(ping(x, n)) + x


@program(0.4, 5)
def mutual_recursion(x, n):
    return ping(x, n)


@program(0.7, 4)
def recursion_in_a_loop(x, n):
    total = 0.0
    for k in range(n):
        total += power(x, k) / (1 + k)
    return total


# -- strings that say what to compute: a helper's flag, the function's own option -----------

def activation(x, kind="tanh"):
    if kind == "tanh":
        return math.tanh(x)
    elif kind == "relu":
        return max(x, 0.0)
    if kind not in ("linear", "identity"):
        raise ValueError(f"unknown activation {kind!r}")
    return x


@program(0.3, 0.7)
def string_flags_of_a_helper(x, w):
    return activation(x * w) + activation(x, "relu") * activation(w, kind="linear")


@program(0.6, "mean")
def string_option_of_the_function(x, reduction):
    terms = (math.sin(x), x * x, math.exp(-x))
    if reduction == "mean":
        return sum(terms) / len(terms)
    if reduction == "sum":
        return sum(terms)
    raise ValueError(f"reduction is 'mean' or 'sum', not {reduction!r}")


CALLS.append((string_option_of_the_function, (0.6, "sum")))


@program(0.4)
def strings_in_a_loop(x):
    total = 0.0
    for name in ("square", "sine", "square"):
        if name == "square":
            total = total + x * x
        else:
            total = total * math.sin(x)
    return total
