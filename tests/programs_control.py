"""Programs with control flow, one or more per construct srcdiff supports; each with a
point away from branch boundaries. Checked by tests/test_control_flow.py against
forward-mode dual numbers and central differences."""

import math

CONTROL = []


def program(*point):
    def register(func):
        CONTROL.append((func, point))
        return func
    return register


@program(0.7)
def if_elif_else(x):
    if x > 1:
        y = x ** 3
    elif x > 0.5:
        y = math.sin(x) * x
    else:
        y = -x
    return y * 2


CONTROL.append((if_elif_else, (-0.3,)))  # the else branch
CONTROL.append((if_elif_else, (1.4,)))   # the first branch


@program(0.4, 0.9)
def conditional_expression(x, y):
    z = x * y if x < y else x - y
    return z * math.exp(z)


@program(0.4, 0.9)
def boolean_conditions(x, y):
    if x > 0 and y > 0 and not x > y:
        z = x * y
    elif x < -1 or y < -1:
        z = x
    else:
        z = y
    w = x or 1.0
    return z + w * (0 < x < y)


@program(1.3, 6)
def for_range(x, n):
    y = 1.0
    for i in range(n):
        y = y * x + i
    return y


@program(0.8, 2)
def for_range_from_inputs(x, k):
    total = 0.0
    for i in range(k, 2 * k + 1, 2):
        total += math.sin(x * i)
    return total


@program(0.5)
def for_over_constants(x):
    total = 0.0
    for c in (1.0, -2.0, 0.5):
        total = total * x + c
    for w in [0.1, 0.2]:
        total += w * x
    return total


@program(0.3)
def enumerate_and_zip(x):
    coefficients = [1.0, 0.5, 0.25]
    shifts = (0.0, 0.1, 0.2)
    total = 0.0
    for i, c in enumerate(coefficients):
        total += c * x ** i
    for c, s in zip(coefficients, shifts):
        total += c * math.cos(x + s)
    return total


@program(2.0)
def while_loop(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


@program(0.3, 0.8)
def nested_loops(x, y):
    acc = x
    for i in range(3):
        for j in range(2):
            acc = acc * y + math.sin(acc) * j
        acc = acc / (1 + i)
    return acc


@program(0.9, 10)
def loop_with_break(x, n):
    total = 0.0
    for i in range(n):
        total += x * i
        if total > 5:
            break
        total = total * math.cos(x)
    return total


@program(0.7, 6)
def loop_with_continue(x, n):
    s = 0.0
    k = 0
    while k < n:
        k += 1
        if k % 2 == 0:
            continue
        s += x ** k / k
    return s


@program(0.6)
def loop_else(x):
    y = x
    for i in range(4):
        y = y * 1.5
        if y > 10:
            break
    else:
        y = -y
    z = x
    while z < 1:
        z = z * 2
    else:
        z = z + x
    return y + z


@program(0.5)
def return_inside_loop(x):
    for i in range(10):
        x = x * 1.1
        if x > 3:
            return x * x
    return -x


CONTROL.append((return_inside_loop, (0.01,)))  # the loop runs to its end


@program(1.5)
def multiple_returns(x):
    if x > 2:
        return x * x
    if x > 1:
        y = math.log(x)
        return y * 3
    return x


@program(0.4, 1.2)
def swaps_and_overwrites(a, b):
    for _ in range(3):
        a, b = b, a * b
        a += 0.1
        a *= 0.9
        a /= 1.1
        a **= 1.0
        b -= 0.05
    return a + b


@program(1.1, 3)
def integer_counters_and_prints(x, n):
    count = 0
    total = x
    values = [1.0, 2.0]
    for i in range(n):
        count += 1
        assert count <= n
        total = total * x
    print("iterations:", count, len(values))
    return total * count


@program(0.7)
def branch_inside_loop(x):
    total = 0.0
    for i in range(6):
        if i % 3 == 0:
            total = total + math.sin(x * i)
        elif i % 3 == 1:
            total = total * x
        else:
            total = math.sqrt(total * total + 1)
    return total


@program(0.4)
def nested_loops_only_counts_taped(x):
    """Linear updates read no old values: the tape holds only the inner trip counts."""
    acc = x
    for i in range(3):
        for j in range(i + 1):
            acc = acc * 0.5 + x
    return acc
