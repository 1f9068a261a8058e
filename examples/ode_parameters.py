"""Gradient of an ODE's final state with respect to its parameters.

A damped, driven oscillator x'' + c x' + k x = sin(ω t), integrated with explicit
(symplectic) Euler steps in a plain Python loop. srcdiff differentiates the whole loop:
the backward sweep replays the steps in reverse, reading the states it needs from a tape.
The gradient is compared with central differences.

Run: python examples/ode_parameters.py
"""

import math

import srcdiff


def final_position(damping, stiffness, omega, steps=2000, dt=0.005):
    x, v = 1.0, 0.0
    t = 0.0
    for _ in range(steps):
        a = math.sin(omega * t) - damping * v - stiffness * x
        v = v + dt * a
        x = x + dt * v
        t = t + dt
    return x


sensitivity = srcdiff.value_and_grad(final_position, wrt=("damping", "stiffness", "omega"))


def central_differences(params, h=1e-6):
    result = []
    for i in range(len(params)):
        up, down = list(params), list(params)
        up[i] += h
        down[i] -= h
        result.append((final_position(*up) - final_position(*down)) / (2 * h))
    return result


def main():
    params = (0.3, 4.0, 1.7)
    value, gradient = sensitivity(*params)
    reference = central_differences(params)
    print(f"x(T) = {value:.9f}")
    for name, mine, theirs in zip(("damping", "stiffness", "omega"), gradient, reference):
        print(f"  d x(T) / d {name:<9}: {mine:+.9f}   central differences {theirs:+.9f}")
    print()
    print(srcdiff.source(sensitivity))
    return value, gradient, reference


if __name__ == "__main__":
    main()
