"""Black–Scholes call price and its five sensitivities, by srcdiff.

The price is written the way a quant writes it, with math.erf for the normal CDF;
srcdiff differentiates it with respect to all five inputs at once. The closed-form
Greeks from the textbook are printed beside srcdiff's numbers as a check:

    delta = N(d1)                   dual delta = -exp(-rT) N(d2)
    vega  = S φ(d1) √T              rho        = K T exp(-rT) N(d2)
    ∂C/∂T = S φ(d1) σ / (2√T) + r K exp(-rT) N(d2)     (theta is -∂C/∂T)

Run: python examples/black_scholes.py
"""

import math

import srcdiff


def call_price(spot, strike, rate, vol, maturity):
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol ** 2) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    n_d1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
    n_d2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
    return spot * n_d1 - strike * math.exp(-rate * maturity) * n_d2


sensitivities = srcdiff.value_and_grad(
    call_price, wrt=("spot", "strike", "rate", "vol", "maturity"))


def closed_form_greeks(spot, strike, rate, vol, maturity):
    """The textbook formulas, written independently of call_price."""
    def cdf(x):
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    def pdf(x):
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    d1 = (math.log(spot / strike) + (rate + vol * vol / 2) * maturity) / (vol * math.sqrt(maturity))
    d2 = d1 - vol * math.sqrt(maturity)
    discount = math.exp(-rate * maturity)
    return (cdf(d1), -discount * cdf(d2), strike * maturity * discount * cdf(d2),
            spot * pdf(d1) * math.sqrt(maturity),
            spot * pdf(d1) * vol / (2 * math.sqrt(maturity)) + rate * strike * discount * cdf(d2))


def main():
    market = dict(spot=100.0, strike=95.0, rate=0.03, vol=0.2, maturity=0.75)
    price, greeks = sensitivities(**market)
    expected = closed_form_greeks(**market)
    print(f"call price: {price:.6f}")
    names = ("delta  dC/dS", "dual   dC/dK", "rho    dC/dr", "vega   dC/dσ", "-theta dC/dT")
    for name, mine, theirs in zip(names, greeks, expected):
        print(f"  {name}: {mine:+.12f}   closed form {theirs:+.12f}")
    print()
    print(srcdiff.source(sensitivities))
    return price, greeks, expected


if __name__ == "__main__":
    main()
