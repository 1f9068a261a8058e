"""Programs with ``try`` statements around constants (issue 13, item 6): a ``try`` runs
as written in the gradient's forward sweep, some raising and caught, in loops,
branches and inlined callees. Checked by tests/test_try.py against central differences
and dual numbers, and by tests/test_translation_validation.py in every optimisation
setting."""

import math

TRY = []


def program(*point):
    def register(func):
        TRY.append((func, point))
        return func
    return register


@program(0.7, {"scale": 3.0})
def config_lookup(x, config):
    try:
        scale = config["scale"]
    except KeyError:
        scale = 2.0
    return scale * x ** 2


TRY.append((config_lookup, (0.7, {})))  # the handler runs


@program(0.9, "4")
def parse_count(x, s):
    try:
        n = int(s)
    except ValueError:
        n = 3
    return x ** n


TRY.append((parse_count, (0.9, "four")))


@program(1.3)
def import_or_default(x):
    try:
        import math as m
        c = m.pi
    except ImportError:
        c = 3.0
    try:
        import no_such_module_srcdiff as missing
        k = missing.K
    except ImportError:
        k = 0.5
    return math.sin(c * x) + k * x


@program(0.8, 5)
def raising_in_loop(x, n):
    y = 1.0
    for i in range(n):
        try:
            r = 10 // (i - 2)
        except ZeroDivisionError:
            r = 0
        y = y * x + r * math.cos(x)
    return y


@program(0.6, "2")
def in_branches(x, s):
    if x > 0.5:
        try:
            k = float(s)
        except ValueError:
            k = -1.0
        y = k * x
    else:
        y = x
    if x < 0.0:
        try:
            k = float(s)
        except ValueError:
            k = 1.0
        y = y + k
    return y * math.exp(x)


TRY.append((in_branches, (-0.4, "two")))


@program(0.4, 4)
def else_and_finally(x, n):
    calls = 0
    y = x
    for i in range(n):
        try:
            q = 6 / (i - 1)
        except ZeroDivisionError:
            q = 0.0
        else:
            calls = calls + 1
        finally:
            calls = calls + 10
        y = y * math.sin(x + q)
    return y + calls * x


@program(1.1, 2.0)
def kept_when_not_assigned(x, w):
    scale = 1.5
    table = (2.0, 3.0)
    for i in range(4):
        try:
            scale = table[i]
        except IndexError:
            pass
        w = w * scale + x
    return w * x


def lookup(config, key, default):
    """Called (inlined) by the functions below: its names become fresh ones."""
    try:
        value = config[key]
    except (KeyError, TypeError) as error:
        value = default + len(str(error)) * 0.0
    return value


@program(0.5, 1.2, {0: 2.0})
def through_a_callee(x, value, config):
    a = lookup(config, 0, 1.0)
    b = lookup(config, 1, 4.0)
    error = 0.25
    return a * x ** 2 + b * value + error * x * value


TRY.append((through_a_callee, (0.5, 1.2, None)))


@program(0.3, "1,2,3.5")
def comprehension_inside(x, s):
    v = 2.0
    try:
        total = sum(float(v) for v in s.split(","))
    except ValueError:
        total = -1.0
    return total * math.sin(x) + v * x


TRY.append((comprehension_inside, (0.3, "1,a")))


@program(0.9, 7)
def in_while_loop(x, n):
    y = 0.0
    k = 0
    while k < n:
        try:
            step = [1, 2][k % 3]
        except IndexError:
            step = 3
        y = y + math.sin(x * step)
        k = k + step
    return y


@program(0.7, "3")
def nested_try(x, s):
    try:
        try:
            m = int(s) * 2
        except ValueError:
            m = int(float(s))
    except ValueError:
        m = 1
    y = x
    for i in range(m):
        y = math.sin(y) + x
    return y


TRY.append((nested_try, (0.7, "1.5")))
TRY.append((nested_try, (0.7, "zz")))


@program(0.8, 3)
def parameter_not_differentiated(x, t):
    try:
        u = math.log(t)
    except ValueError:
        u = 0.0
    return x * u + x ** 2


@program(0.8, 3)
def count_read_after(x, n):
    y = x
    try:
        limit = n * 2
        check = 1 / (n - 3)
    except ZeroDivisionError:
        limit = n
    for i in range(limit):
        y = y * 0.9 + math.cos(y) * x
    return y


@program(0.5, "3")
def overwritten_at_the_top_level(x, s):
    """The backward sweep reads ``a`` before the try overwrites it (in place: saved)."""
    a = 2.0
    y = a * math.sin(x)
    try:
        a = float(s)
    except ValueError:
        pass
    return a * y


TRY.append((overwritten_at_the_top_level, (0.5, "q")))
