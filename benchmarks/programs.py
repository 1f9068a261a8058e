"""Benchmark objectives, written from their mathematics, each with a hand-written
reverse-mode gradient of the same computation (the cost to beat) and a hand-written
forward-mode one (value and directional derivative: what ``srcdiff.jvp`` computes), and for
the two loops a hand-written Hessian-vector product (what ``srcdiff.hvp`` computes), as a
careful human would write them: tangents beside the values, common factors computed once,
loop-invariant products hoisted, no identity of the model used that the primal does not
use."""

import math


# -- a damped, driven Duffing oscillator, 100 midpoint (RK2) steps --------------------
def oscillator(k, c, x0, steps=100, dt=0.01):
    x = x0
    v = 0.0
    t = 0.0
    for _ in range(steps):
        a = -k * x - c * v - 0.5 * x * x * x + math.sin(1.3 * t)
        xm = x + 0.5 * dt * v
        vm = v + 0.5 * dt * a
        am = -k * xm - c * vm - 0.5 * xm * xm * xm + math.sin(1.3 * (t + 0.5 * dt))
        x = x + dt * vm
        v = v + dt * am
        t = t + dt
    return x * x + v * v


def oscillator_by_hand(k, c, x0, steps=100, dt=0.01):
    xs, vs, ts = [], [], []
    x, v, t = x0, 0.0, 0.0
    for _ in range(steps):
        xs.append(x)
        vs.append(v)
        ts.append(t)
        a = -k * x - c * v - 0.5 * x * x * x + math.sin(1.3 * t)
        xm = x + 0.5 * dt * v
        vm = v + 0.5 * dt * a
        am = -k * xm - c * vm - 0.5 * xm * xm * xm + math.sin(1.3 * (t + 0.5 * dt))
        x = x + dt * vm
        v = v + dt * am
        t = t + dt
    bx, bv, bk, bc = 2 * x, 2 * v, 0.0, 0.0
    for i in range(steps - 1, -1, -1):
        x, v = xs[i], vs[i]
        a = -k * x - c * v - 0.5 * x * x * x + math.sin(1.3 * ts[i])
        xm = x + 0.5 * dt * v
        vm = v + 0.5 * dt * a
        bam = dt * bv
        bvm = dt * bx
        bxm = -bam * (k + 1.5 * xm * xm)
        bk -= bam * xm
        bc -= bam * vm
        bvm -= bam * c
        ba = 0.5 * dt * bvm
        bx = bx + bxm - ba * (k + 1.5 * x * x)
        bv = bv + 0.5 * dt * bxm + bvm - ba * c
        bk -= ba * x
        bc -= ba * v
    return bk, bc, bx


def oscillator_jvp_by_hand(k, c, x0, d_k, d_c, d_x0, steps=100, dt=0.01):
    x, v, t = x0, 0.0, 0.0
    d_x, d_v = d_x0, 0.0
    for _ in range(steps):
        xx = x * x
        a = -k * x - c * v - 0.5 * xx * x + math.sin(1.3 * t)
        d_a = -d_k * x - d_c * v - (k + 1.5 * xx) * d_x - c * d_v
        xm = x + 0.5 * dt * v
        d_xm = d_x + 0.5 * dt * d_v
        vm = v + 0.5 * dt * a
        d_vm = d_v + 0.5 * dt * d_a
        xmxm = xm * xm
        am = -k * xm - c * vm - 0.5 * xmxm * xm + math.sin(1.3 * (t + 0.5 * dt))
        d_am = -d_k * xm - d_c * vm - (k + 1.5 * xmxm) * d_xm - c * d_vm
        x, d_x = x + dt * vm, d_x + dt * d_vm
        v, d_v = v + dt * am, d_v + dt * d_am
        t = t + dt
    return x * x + v * v, 2 * (x * d_x + v * d_v)


def oscillator_hvp_by_hand(k, c, x0, d_k, d_c, d_x0, steps=100, dt=0.01):
    """H v: reverse mode over the forward mode (the tangent along v), by hand: each
    step's state, its tangent and vm kept in lists, the rest of the step recomputed in
    the backward sweep; each partial written out, accumulated where it is made."""
    h = 0.5 * dt
    xs, vs, d_xs, d_vs, vms = [], [], [], [], []
    x, v, t = x0, 0.0, 0.0
    d_x, d_v = d_x0, 0.0
    for _ in range(steps):
        xs.append(x)
        vs.append(v)
        d_xs.append(d_x)
        d_vs.append(d_v)
        a = -k * x - c * v - 0.5 * x * x * x + math.sin(1.3 * t)
        d_a = -d_k * x - k * d_x - d_c * v - c * d_v - 1.5 * x * x * d_x
        xm = x + h * v
        vm = v + h * a
        vms.append(vm)
        d_xm = d_x + h * d_v
        d_vm = d_v + h * d_a
        am = -k * xm - c * vm - 0.5 * xm * xm * xm + math.sin(1.3 * (t + h))
        d_am = -d_k * xm - k * d_xm - d_c * vm - c * d_vm - 1.5 * xm * xm * d_xm
        x, v = x + dt * vm, v + dt * am
        d_x, d_v = d_x + dt * d_vm, d_v + dt * d_am
        t = t + dt
    # the gradient of the tangent 2 x d_x + 2 v d_v
    b_x, b_v, b_d_x, b_d_v = 2 * d_x, 2 * d_v, 2 * x, 2 * v
    b_k = b_c = 0.0
    for _ in range(steps):
        x, v, d_x, d_v, vm = xs.pop(), vs.pop(), d_xs.pop(), d_vs.pop(), vms.pop()
        xm = x + h * v
        d_xm = d_x + h * d_v
        d_a = -d_k * x - k * d_x - d_c * v - c * d_v - 1.5 * x * x * d_x
        d_vm = d_v + h * d_a
        b_dam = dt * b_d_v
        b_dvm = dt * b_d_x
        b_am = dt * b_v
        b_vm = dt * b_x
        # d_am = -d_k xm - k d_xm - d_c vm - c d_vm - 1.5 xm^2 d_xm
        b_xm = -b_dam * (d_k + 3 * xm * d_xm)
        b_k -= b_dam * d_xm
        b_dxm = -b_dam * (k + 1.5 * xm * xm)
        b_vm -= d_c * b_dam
        b_c -= b_dam * d_vm
        b_dvm -= c * b_dam
        # am = -k xm - c vm - 0.5 xm^3 + sin
        b_xm -= b_am * (k + 1.5 * xm * xm)
        b_k -= b_am * xm
        b_vm -= c * b_am
        b_c -= b_am * vm
        # d_vm = d_v + h d_a; d_xm = d_x + h d_v; vm = v + h a; xm = x + h v
        b_d_v += b_dvm + h * b_dxm
        b_da = h * b_dvm
        b_d_x += b_dxm
        b_v += b_vm + h * b_xm
        b_a = h * b_vm
        b_x += b_xm
        # d_a = -d_k x - k d_x - d_c v - c d_v - 1.5 x^2 d_x
        b_x -= b_da * (d_k + 3 * x * d_x)
        b_k -= b_da * d_x
        b_d_x -= b_da * (k + 1.5 * x * x)
        b_v -= d_c * b_da
        b_c -= b_da * d_v
        b_d_v -= c * b_da
        # a = -k x - c v - 0.5 x^3 + sin
        b_x -= b_a * (k + 1.5 * x * x)
        b_k -= b_a * x
        b_v -= c * b_a
        b_c -= b_a * v
    return b_k, b_c, b_x


# -- Black-Scholes call price and its five sensitivities ------------------------------
def black_scholes(spot, strike, rate, vol, maturity):
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    n1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
    n2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
    discount = math.exp(-rate * maturity)
    return spot * n1 - strike * discount * n2


def black_scholes_by_hand(spot, strike, rate, vol, maturity):
    sqrt_t = math.sqrt(maturity)
    log_m = math.log(spot / strike)
    num = log_m + (rate + 0.5 * vol * vol) * maturity
    den = vol * sqrt_t
    d1 = num / den
    d2 = d1 - den
    n1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
    n2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
    discount = math.exp(-rate * maturity)
    phi1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    phi2 = math.exp(-0.5 * d2 * d2) / math.sqrt(2 * math.pi)
    b_n1, b_n2 = spot, -strike * discount
    b_spot, b_strike = n1, -discount * n2
    b_discount = -strike * n2
    b_d1, b_d2 = b_n1 * phi1, b_n2 * phi2
    b_d1 += b_d2
    b_den = -b_d2 - b_d1 * d1 / den
    b_num = b_d1 / den
    b_rate = b_num * maturity - b_discount * discount * maturity
    b_maturity = b_num * (rate + 0.5 * vol * vol) - b_discount * discount * rate
    b_vol = b_num * vol * maturity + b_den * sqrt_t
    b_maturity += b_den * vol / (2 * sqrt_t)
    b_spot += b_num / spot
    b_strike -= b_num / strike
    return b_spot, b_strike, b_rate, b_vol, b_maturity


def black_scholes_jvp_by_hand(spot, strike, rate, vol, maturity,
                              d_spot, d_strike, d_rate, d_vol, d_maturity):
    sqrt_t = math.sqrt(maturity)
    d_sqrt_t = d_maturity / (2 * sqrt_t)
    drift = rate + 0.5 * vol * vol
    num = math.log(spot / strike) + drift * maturity
    d_num = d_spot / spot - d_strike / strike + (d_rate + vol * d_vol) * maturity \
        + drift * d_maturity
    den = vol * sqrt_t
    d_den = d_vol * sqrt_t + vol * d_sqrt_t
    d1 = num / den
    d_d1 = (d_num - d1 * d_den) / den
    d2 = d1 - den
    d_d2 = d_d1 - d_den
    n1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
    n2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
    phi1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    phi2 = math.exp(-0.5 * d2 * d2) / math.sqrt(2 * math.pi)
    discount = math.exp(-rate * maturity)
    d_discount = -discount * (d_rate * maturity + rate * d_maturity)
    k_discount = strike * discount
    value = spot * n1 - k_discount * n2
    tangent = d_spot * n1 + spot * phi1 * d_d1 \
        - (d_strike * discount + strike * d_discount) * n2 - k_discount * phi2 * d_d2
    return value, tangent


# -- logistic growth, 10,000 explicit Euler steps -------------------------------------
def logistic_growth(rate, capacity, y0, steps=10000, dt=0.001):
    y = y0
    for _ in range(steps):
        y = y + dt * rate * y * (1 - y / capacity)
    return y


def logistic_growth_by_hand(rate, capacity, y0, steps=10000, dt=0.001):
    ys = []
    y = y0
    for _ in range(steps):
        ys.append(y)
        y = y + dt * rate * y * (1 - y / capacity)
    by, b_rate, b_capacity = 1.0, 0.0, 0.0
    for y in reversed(ys):
        growth = 1 - y / capacity
        b_rate += by * dt * y * growth
        b_capacity += by * dt * rate * y * y / (capacity * capacity)
        by = by * (1 + dt * rate * (growth - y / capacity))
    return b_rate, b_capacity, by


def logistic_growth_jvp_by_hand(rate, capacity, y0, d_rate, d_capacity, d_y0, steps=10000,
                                dt=0.001):
    y, d_y = y0, d_y0
    h, d_h = dt * rate, dt * d_rate
    for _ in range(steps):
        q = y / capacity
        d_q = (d_y - q * d_capacity) / capacity
        g = 1 - q
        hy = h * y
        d_y = d_y + (d_h * y + h * d_y) * g - hy * d_q
        y = y + hy * g
    return y, d_y


def logistic_growth_hvp_by_hand(rate, capacity, y0, d_rate, d_capacity, d_y0, steps=10000,
                                dt=0.001):
    """H v: reverse mode over the forward mode above (the tangent along v), by hand: each
    step's state and tangent kept in lists, then each step's partials written out."""
    h, d_h = dt * rate, dt * d_rate
    ys, d_ys = [], []
    y, d_y = y0, d_y0
    for _ in range(steps):
        ys.append(y)
        d_ys.append(d_y)
        q = y / capacity
        g = 1 - q
        d_g = (q * d_capacity - d_y) / capacity
        y, d_y = y + h * y * g, d_y + d_h * y * g + h * (d_y * g + y * d_g)
    b_y, b_d_y, b_h, b_capacity = 0.0, 1.0, 0.0, 0.0  # the tangent's gradient
    for _ in range(steps):
        y, d_y = ys.pop(), d_ys.pop()
        q = y / capacity
        g = 1 - q
        d_g = (q * d_capacity - d_y) / capacity
        step = 1 + h * (g - q)  # the partial of y and of d_y after the step in y, d_y before
        b_h += b_y * y * g + b_d_y * (d_y * g + y * d_g)
        b_capacity += (b_y * h * y * q + b_d_y * (q * (d_h * y + h * d_y)
                                                   + h * q * (d_y - 2 * q * d_capacity))) / capacity
        b_y, b_d_y = b_y * step + b_d_y * (d_h * (g - q) + 2 * h * d_g), b_d_y * step
    return b_h * dt, b_capacity, b_y


PROGRAMS = [
    ("damped oscillator, 100 RK2 steps", oscillator, oscillator_by_hand, (2.0, 0.3, 1.0), (0, 1, 2)),
    ("Black-Scholes, 5 sensitivities", black_scholes, black_scholes_by_hand,
     (100.0, 95.0, 0.03, 0.2, 0.75), (0, 1, 2, 3, 4)),
    ("logistic ODE, 10^4 Euler steps", logistic_growth, logistic_growth_by_hand,
     (1.5, 10.0, 0.5), (0, 1, 2)),
]

# the hand-written forward mode of each program above: its arguments, then one tangent per
# differentiated parameter (before the defaults); returns (value, directional derivative)
JVP_BY_HAND = {oscillator: oscillator_jvp_by_hand,
               black_scholes: black_scholes_jvp_by_hand,
               logistic_growth: logistic_growth_jvp_by_hand}
# the hand-written Hessian-vector product (the same arguments, then one vector per
# differentiated parameter; returns H v), where there is one
HVP_BY_HAND = {oscillator: oscillator_hvp_by_hand, logistic_growth: logistic_growth_hvp_by_hand}
