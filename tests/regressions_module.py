"""Programs that srcdiff once got wrong, one or more per class of issue 11.

Kept in a module of their own (a file, so srcdiff can read their source) and imported by
tests/test_regressions.py, which checks each against an oracle that does not share code
with srcdiff: central differences with step-size agreement, dual numbers, closed forms.
"""

import math

import numpy as np
from numpy import newaxis

# --- 1. recomputation in loops must not read the new value ----------------------------


def sine_of_sum(x):
    s = 0.3
    for i in range(3):
        s = math.sin(s + x)
    return s


def logistic_map(x):
    p = 0.3
    r = 3.2 + 0.1 * x
    for i in range(4):
        p = r * p * (1 - p)
    return p


def continued_fraction(x):
    s = 1.0
    for i in range(3):
        s = 1 / (s + x)
    return s


def horner(x):
    s = 0.0
    for c in (1.0, -2.0, 0.5, 3.0):
        s = (s + c) * x
    return s


def cube_three_times(x):
    a = x
    for i in range(3):
        a = a * a * a
    return a


def numpy_sine_map(x):
    h = np.ones(3) * 0.5
    for i in range(3):
        h = np.sin(h * x)
    return np.sum(h)


def two_states(x):
    a, b = x, 1.0
    for i in range(4):
        a, b = math.sin(a * b), math.cos(a + b)
    return a + b


def taped_operand_of_a_recomputed_product(x):
    # u is read after a changes: it is taped; w = u * u is recomputed from the taped u
    a, s = x, 0.0
    for i in range(4):
        u = a * 0.7 + 0.1
        w = u * u
        a = a * w + 0.3
        s = s + w * u * a
    return s + a


def divisions_in_a_chain(x):
    y = x
    for i in range(5):
        q = y / (1.0 + y * y)
        r = q / x
        y = y + 0.1 * r * q
    return y


def chain_read_late(x):
    # p is read only by q; q, recomputed where sin(q)'s partial reads it, needs p there
    a, s = x, 0.0
    for i in range(3):
        p = a * 1.1
        q = p + a
        b = math.sin(q)
        s = s + q * b
        a = a * (1.0 + 0.1 * s)
    return s


def user_variable_read_after_the_loop(x):
    a, m = x, 0.0
    for i in range(3):
        m = a * a
        a = m * 0.5 + x
    return a + m


def inner_product_of_an_outer_state(x):
    a, s = x, 0.0
    for i in range(3):
        for j in range(2):
            u = a * x
            s = s + u * u
        a = a * 0.9 + s * 0.01
    return s


def recomputed_across_a_branch(x):
    a, s = x, 0.0
    for i in range(4):
        u = a * 0.5
        w = u * x
        if w > 0.3:
            a = a - u * w
        else:
            s = s + w * w
        s = s + u * a + w
    return s


def product_of_the_loop_target(x):
    s = 0.0
    for i in range(4):
        u = i * x
        w = u * u + x
        s = s + w * u
    return s


def midpoint_step(x):
    # the oscillator's shape: midpoint values recomputed from the state the tape restores
    v, t = 0.0, 0.0
    for i in range(6):
        a = -1.3 * x - 0.4 * v - 0.5 * x * x * x + math.sin(1.3 * t)
        xm = x + 0.5 * 0.1 * v
        vm = v + 0.5 * 0.1 * a
        am = -1.3 * xm - 0.4 * vm - 0.5 * xm * xm * xm
        x = x + 0.1 * vm
        v = v + 0.1 * am
        t = t + 0.1
    return x * x + v * v


def state_read_in_a_while_test(x):
    y, n = x, 0
    while y * y < 4.0 and n < 20:
        d = y * 0.25
        e = d * d + 0.5
        y = y * (1.0 + e * d)
        n = n + 1
    return y


# --- 2. broadcasting operands in loops and branches ------------------------------------


def scale_in_loop(v, a):
    for i in range(3):
        v = v * a
    return np.sum(v)


def accumulate_number_into_array(v, s):
    acc = 0.0
    for i in range(2):
        acc = acc + v * s
    if s > 0:
        acc = acc + s
    return np.sum(acc * acc)


def add_row(H, b):
    for i in range(2):
        H = H + b
    return np.sum(H * H)


def normalise_in_loop(v):
    for i in range(3):
        v = v / np.linalg.norm(v)
        v = v * 1.5
    return np.sum(v * np.array([1.0, 2.0, 3.0]))


def divide_by_sum_in_loop(v):
    for i in range(3):
        v = v / np.sum(v * v)
    return np.sum(v)


# --- 3. self-copies --------------------------------------------------------------------


def bisection(x):
    lo, hi = 0.0, x
    for i in range(6):
        mid = (lo + hi) / 2
        if mid * mid > 2.0:
            lo, hi = lo, mid
        else:
            lo, hi = mid, hi
    return lo * hi


def self_copy(x):
    y = x * 2
    for i in range(2):
        y = y
        if y > 0:
            y = y
    return y * y


# --- 4. local functions ------------------------------------------------------------------


def lambda_rebound(x):
    g = lambda t: t * 2.0
    a = g(x)
    g = lambda t: t * t
    return a + g(x)


def def_rebound(x):
    def g(t):
        return t * 2.0
    a = g(x)

    def g(t):
        return t * t
    return a + g(x)


def default_captures_value(x):
    g = lambda y, k=x: y * k
    x = x * 3.0
    return g(x)


def def_default_captures_value(x):
    def g(y, k=x):
        return y * k
    x = x * 3.0
    return g(x)


def helper_with_lambda(x):
    square = lambda t: t * t
    return square(x) + 1.0


def module_callee_with_lambda_twice(x):
    return helper_with_lambda(x) + helper_with_lambda(2.0 * x)


def helper_with_def(x):
    def inner(t):
        return math.sin(t)
    return inner(x) * 2.0


def callee_with_nested_def_twice(x):
    return helper_with_def(x) * helper_with_def(x + 1.0)


# --- 5. aliasing that escapes the sharing check ------------------------------------------


def ident(a):
    return a


def alias_through_helper(x):
    a = x * 1.0
    b = ident(a)
    b[0] = 0.0
    return np.sum(a)


def alias_through_conditional(x):
    a = x * 1.0
    c = x * 2.0
    b = a if x[0] > 0 else c
    b[0] = 0.0
    return np.sum(a * c)


def alias_through_or(x):
    a = x * 1.0
    b = a or x
    b[1] = 5.0
    return np.sum(a)


# --- 6. gradients that are the caller's own array ------------------------------------------

WEIGHTS = np.array([1.0, 2.0, 3.0])


def dot_with_argument(x, v):
    return np.dot(x, v)


def dot_with_global(x):
    return np.dot(x, WEIGHTS)


# --- 7. generated names must not capture user names --------------------------------------


def underscore_after_loop(x):
    s = x
    _ = 2.0
    for i in range(3):
        s = math.sin(s) + x
    return s * _


def local_named_numpy(x):
    numpy = 3.0
    v = np.array([x, 2.0 * x])
    return np.sum(v * v) * numpy


def local_named_math(x):
    math = 2.0
    return x * math


def dfn_dx(x):
    return 100.0


def fn(x):
    return x * dfn_dx(x)


def while_loop_with_global_range(x):
    s = x
    k = 0
    while k < 3:
        s = math.sin(s) * x
        k += 1
    return s


# --- 8. stale gradients -------------------------------------------------------------------


def rebound_helper(t):
    return t * 2.0


def uses_rebound_helper(x):
    return rebound_helper(x) * x


SCALE = 2.0


def uses_scale(x):
    return np.sum(x * SCALE)


# --- 9. fancy-index assignment with repeated indices ---------------------------------------


def assign_repeated(x):
    y = np.zeros(3)
    y[np.array([0, 0])] = x[1:3]
    return np.sum(y * np.array([1.0, 2.0, 3.0]))


def add_repeated_aliasing(x):
    y = x * 1.0
    idx = np.array([0, 0, -3])
    y[idx] += x[:3] * 2.0
    return np.sum(y * y)


# --- 10. lists of values passed to NumPy -----------------------------------------------------


def mean_of_list(x):
    l1 = np.sum(x)
    l2 = np.sum(x * x)
    return np.mean([l1, l2]) + np.max([l1, l2])


def einsum_of_list(x):
    return np.einsum("i,i", [x[0], x[1]], x[:2])


# --- 11. builtin abs of an array ---------------------------------------------------------------


def huber(x):
    r = x - 0.5
    small = abs(r) < 1.0
    return np.sum(np.where(small, 0.5 * r * r, abs(r) - 0.5))


# --- 12. untaken branches and integer gradients ---------------------------------------------------


def untaken_reshape(x):
    y = x * 0.0
    if np.sum(x) > 100.0:
        y = np.reshape(x, (3,)) * 2
    return np.sum(y)


def loop_never_runs(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(np.swapaxes(x, 0, 1))
    return s + 1.0


def where_constant_branch(s):
    t = np.array([1.0, -1.0, 2.0])
    return np.sum(np.where(t > 0, 1.0, s))


def maximum_with_zero(x):
    return np.sum(np.maximum(x, 0))


def max_below(x):
    return max(x, 0.5)


# --- 14. unbound on the path taken ------------------------------------------------------------


def unbound_on_path(x):
    if x > 10.0:
        y = x
    return y * 2


def unbound_in_loop(x):
    for i in range(2):
        if i > 5:
            y = x
        z = y * 2
    return x


# --- 15. reuse across overwrites -----------------------------------------------------------------


def parameter_reassigned_in_branch(x):
    if math.sin(x) > 0.5:
        x = 0.5 * x
    return math.sin(x) * 2.0


def value_after_loop(x):
    for i in range(3):
        x = math.sin(x) * 0.7
    return x / (1.5 + math.cos(x))


# --- 16. copy propagation across an overwrite with no tape ---------------------------------------


def copy_then_overwrite(x, y):
    z = ident(x) * y
    for i in range(2):
        x = 3.0
    return z + x


def copy_then_overwrite_in_branch(x, y):
    z = ident(x) * y
    if y > 0:
        x = 3.0
    return z * x


# --- 17. module-level arrays and local lists ---------------------------------------------------

CENTRES = np.arange(12.0).reshape(4, 3) / 10


def shekel_like(x):
    return np.sum((x - CENTRES) ** 2)


def through_atleast_2d(x):
    d = np.atleast_2d(x) - CENTRES
    return np.sum(d * d)


def local_list(x):
    return np.sum((x[0] - [3.0, 5.0, 2.0]) ** 2)


# --- 18. evaluation order ----------------------------------------------------------------------


def evaluation_order(x0):
    x1 = 0.5
    g = lambda c: x1 * c
    x1, x0 = x0 * 2.0, g(1.0)
    return x1 + x0 * 3.0


# --- internal errors ----------------------------------------------------------------------------


def clip(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def clip_helper(x):
    return clip(x * 2.0, 0.0, 1.0) + clip(x, -1.0, 0.1)


def hoisted_then_reassigned(x):
    s = 0.0
    for i in range(3):
        t = math.tanh(x)
        s = s + t * i
    x = s * 2.0
    return x + math.tanh(x)


def matrix_item_assignment(M):
    M = M * 1.0
    M[0, 1] = M[1, 0] * 3.0
    return np.sum(M * M)


def ellipsis_item_assignment(y):
    y = y * 1.0
    y[..., 0] = 2.0 * y[..., 1]
    return np.sum(y * y)


def copysign_of_temporary(x):
    s = 0.0
    for i in range(3):
        s = s + math.copysign(x, x - 0.1 * i)
    return s


def copysign_in_recursion(x, n):
    if n == 0:
        return x
    return math.copysign(copysign_in_recursion(x * 1.1, n - 1), x - 1.0)


def clip_method(x):
    return np.sum(x.clip(min=0.0) ** 2)


def and_then_pass(x):
    a = x > 0
    b = x < 2
    if a and b:
        pass
    return x * x


def break_in_inner_else(x):
    s = x
    for i in range(3):
        for j in range(2):
            s = s * 1.1
        else:
            if s > 1.0:
                break
        s = s + x
    return s


def polynomial(x):
    s = 0.0
    for i in range(4):
        s = s + (i + 1) * x ** i
    return s


def zero_to_the_x(x):
    return 0.0 ** x + x


def recursive_scale(x, n):
    if n == 0:
        return x
    return recursive_scale(x * 1.5, n - 1)


def recursion_with_arrays(x):
    return np.sum(recursive_scale(x, 2) ** 2)


def power_of_negative(y):
    return (-2.0) ** y  # defined at integers; its slope in y is not real (log(-2))


def sqrt_at_zero(x):
    return math.sqrt(x) + x


def hypot_at_zero(x, y):
    return math.hypot(x, y)


# --- found by the random program generators (tests/fuzz), shrunk --------------------------


def loop_target_reassigned(x0):
    d = x0
    for coef in [0.53, 0.76, 0.28, 0.16]:
        d, coef = coef, d
    return d


def loop_target_swapped_with_max(x2):
    for i, c in enumerate([0.81, 1.26, 0.07]):
        c = max(x2, c)
        c, x2 = x2, c
    return x2


def grad_program(x):
    return 3.0


def calls_a_global_named_like_its_gradient(x0):
    return x0 * grad_program(x0)


def inner_product_of_fancy_selection(x):
    p = x[[2, 0, 0]]
    m = np.mean([0.9, p @ p])
    return m


def reduction_after_early_return(b):
    acc = np.clip(b[:, None], 0.0, 1.0).max(axis=1)
    if b[0] > -10.0:
        return 1.0
    return np.mean(acc)


def outer_after_early_return(x):
    q = 0.0 + np.outer(x, x)
    if x[0] > -10.0:
        return 1.0
    return np.mean(q)


def ellipsis_view_in_loop(W):
    h = W
    for i in range(2):
        W = W[...]
    return np.mean(h) + np.sum(W * W)


def recomputed_and_reused(x, v):
    dv = np.dot(x, v)
    it = 0
    while it < 2:
        it += 1
        dv = np.arctan2(dv, 1.0 + dv * dv)
    return dv


def numpy_loop_target_reassigned(x):
    for c in [1.38, 0.66]:
        c = np.inner(c + np.zeros(3), x)
        z = c
    return z


def newaxis_indices(x):
    M = x[:, np.newaxis] * x[np.newaxis, :]
    return np.sum(M * x[newaxis]) + np.sum(x[np.newaxis, ...] ** 2)


def dot_of_fancy_selections(s, b):
    # the rank of b[np.array([...])] is known (1): np.dot of it was refused as of unknown rank
    M = ((s * np.ones(3)) / np.exp(np.tanh(b[np.array([0, 0, 1])]))).copy()
    return np.dot(M, M)


def fancy_selections_of_a_matrix(W, x):
    rows = W[np.array([1, 0, 1])]             # (3, 3)
    mixed = W[0, np.array([2, 2, 0])]         # (3,)
    tail = W[np.array([1, 0]), 1:]            # (2, 2)
    masked = x[x > 0.0]                       # (number of positives,)
    return np.sum(rows @ x) + np.dot(mixed, x) + np.sum(tail * tail) + np.dot(masked, masked)


def scaled_by_an_int(x1, n):
    lo = x1 * n          # d/dx1 is n itself once 1.0 * n is simplified: an int
    return lo


OFFSET = 0.68


def overwritten_in_a_constant_branch(x0, x1):
    if 0.48 < OFFSET < 1.34:
        f = 2.0
        x0, f = f, math.tanh(x0)   # x0's adjoint is assigned b * 0 (it was the int 0)
    return x0 + x1


def sum_and_difference(a, b):
    c = a + b
    d = b - a
    return c * d


def zero_dimensional_adjoint(W, s):
    # numpy.where of numbers returns a 0-d array; b_var = b_add; b_var += ... changed both
    var = np.mean(W)
    m = np.min([1.0, var])
    return m + (s + var) * np.where(m < 1.0, 0.5, m)


def zero_dimensional_adjoint_of_numbers(v, s):
    var = v * 0.5
    m = min(1.0, var)
    return m + (s + var) * np.where(m < 1.0, 0.5, m)


def softplus(x):
    return math.log1p(math.exp(x))


def uses_softplus(x):
    return softplus(x)


def determinant_at_a_singular_matrix(x):
    # x = (1, 1): [[1, 1], [1, 1]] is singular; d det / dx = (x1, x0) = (1, 1) exists there
    return np.linalg.det(np.array([[x[0], 1.0], [1.0, x[1]]]))


def zero_adjoint_of_a_broadcast_product(s):
    q = np.ones((1, 3)) * (s + np.zeros((2, 3)))   # q is (2, 3); ones is (1, 3)
    acc = 0.0
    for c in [0.89, 1.24]:
        if c > 0.35:
            break          # acc += q never runs: q's adjoint stays the branch's zero
        acc += q
    return np.mean(acc) + s


def dot_after_squeeze(x):
    # squeeze with its axis given has a known rank (np.dot of it was refused as unknown)
    return np.dot(np.squeeze(x[None, :], axis=0), x)


# --- the gradient raises where the function raises (campaign seeds 200077, 200907) ------------


def truth_of_an_array_unused(x, v):
    view = v or x          # bool(v) raises for a vector; view is never used
    return np.sum(x * x)


def write_to_a_read_only_view(x):
    c = np.diag(np.outer(x, x))   # np.diag of a matrix is a read-only view
    c[0] = 1.0
    return np.sum(c * x)


def update_a_read_only_view(x):
    c = np.diag(np.outer(x, x))
    c *= 2.0
    return np.sum(c * x)


def write_to_a_broadcast(x):
    c = np.broadcast_to(x, (2, 3))   # read-only too
    c[0, 1] = 3.0
    return np.sum(c)


def unused_sum_that_does_not_broadcast(x, w):
    junk = x + w
    return np.sum(x * x)


def unused_comparison_that_does_not_broadcast(x, w):
    junk = x < w
    return np.sum(x * x)


def unused_maximum_that_does_not_broadcast(x, w):
    junk = np.maximum(x, w)
    return np.sum(x * x)


def unused_where_that_does_not_broadcast(x, w):
    junk = np.where(x > 0, x, w)
    return np.sum(x * x)


def update_that_would_grow(x, w):
    c = x * 1.0
    c += w                 # (3,) += (2, 3): NumPy cannot grow c in place
    return np.sum(c)


def invariant_that_does_not_broadcast(x, w, n):
    s = 0.0
    for i in range(n):     # runs no time for n = 0: x * w is never computed
        s = s + np.sum(x * w)
    return np.sum(x) + s


def updates_that_fit(x, w):
    c = x * 1.0
    c += w[0]              # same shape: changes c in place, fine
    c *= 2.0
    d = np.diag(np.outer(x, x)).copy()
    d[0] = x[1]            # a copy of the view is writable
    return np.sum(c * d)


# --- an array variable overwritten by a number in a loop (campaign arrays seed 201572) ---------
# the loop's backward resets the adjoint to 0.0; the rule that made the array took that zero


OVERWRITTEN = ["np.sum(W, axis=1)", "np.max(W, axis=1)", "np.outer(W[0], W[1])",
               "np.reshape(W, (6,))", "np.swapaxes(W, 0, 1)", "np.concatenate([W[0], W[1]])",
               "W @ W[0]", "np.cumsum(W[0])", "np.tensordot(W, W[0], axes=1)",
               "np.einsum('ij,j->i', W, W[0])", "np.stack([W[0], W[1]])", "np.flip(W, 0)",
               "np.hstack([W, W])", "np.diag(W[0])", "np.linalg.inv(W @ W.T)",
               "np.cross(W[0], W[1])", "np.linalg.solve(W @ W.T, W[0][:2])"]


def constant_power_in_a_branch(x0):
    # campaign scalar seed 400122: t = 0.0 ** 0.07 is active (the other branch's t is x0),
    # and generating its partials folded 0.07 * 0.0 ** -0.93 (ZeroDivisionError)
    t = x0
    if x0 < 5.0:
        t = 0.0 ** 0.07
    return t + x0


def zero_adjoint_into_concatenate(x):
    # campaign arrays seed 601497: s - s makes the adjoint of the concatenation 0.0 * ...;
    # simplify folded it to the number 0.0 and numpy.concatenate's rule sliced a number
    s = np.prod(np.concatenate([x, np.squeeze(np.ones(3)[None], axis=0)]))
    return s - s + np.sum(x)


def std_of_equal_elements(s):
    """Every element of ``z`` is the same number: the spread is zero whatever ``s`` is,
    but the computed mean is off by a rounding error."""
    z = np.sin(s + np.zeros(7)) / 3.0
    return np.std(z) + np.var(z, axis=0) + 0.5 * s


KNOTS = [1.33, 1.21, 1.16, 1.16]


def bisection_then_branch_in_a_loop(x0, n):
    """Campaign scalar seed 632212: the backward sweep of the bisection replays its
    branch test (``mid * mid > res``, recomputed rather than taped) only because the
    later loop's backward sweep needs ``hi`` restored; the recomputation was dropped
    and the test read a stale value (pop from an empty tape)."""
    q = x0
    count = 0
    res = 2.0
    lo, hi = (0.0, 3.0)
    while count < 6:
        count += 1
        mid = 0.5 * (lo + hi)
        if mid * mid > res:
            lo, hi = (lo, mid)
        else:
            lo, hi = (mid, hi)
    r, x0, res = (lo, hi, 2.0)
    while True:
        if r >= KNOTS[0] - hi:
            q = 1.0
        break
    return q


def broadcast_product_in_an_untaken_branch(x, s):
    """Campaign arrays seed 650538: ``q = a[:, None] * x`` is read only in the branch
    not taken, so ``q``'s adjoint is still 0.0; 0.0 times ``x`` has ``x``'s shape, not
    ``q``'s, and could not be summed back to ``a[:, None]``'s."""
    a = s + np.zeros(2)
    buf = (a * a).copy()
    q = a[:, None] * x
    if 1.0 > 0.34:
        x = buf
    else:
        a = q
    q1 = x.sum()
    return q1


LOOP_WEIGHTS = (0.2, 0.27, 0.52, 0.48)


def local_named_range_in_a_loop_over_a_global(x0, x1, iterations):
    """Campaign scalar seed 750296: a loop over a global tuple, a local named range."""
    for i, w in enumerate(LOOP_WEIGHTS):
        x1 += LOOP_WEIGHTS[3] * x0
        range = x1
    return x1 * range
