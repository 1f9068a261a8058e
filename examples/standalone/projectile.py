"""A projectile with quadratic air drag, integrated until it lands.

`srcdiff generate projectile.py` writes projectile_grad.py beside this file: plain Python
gradients that import only `math` and this module, never srcdiff. The generated module is
checked in; the tests run `srcdiff generate --check` on it so it never goes stale.
"""

import math

GRAVITY = 9.81


def landing_distance(speed: float, angle: float, drag: float) -> float:
    """How far the projectile flies before it comes back to the ground."""
    x, y = 0.0, 0.0
    vx, vy = speed * math.cos(angle), speed * math.sin(angle)
    dt = 0.001
    while y >= 0.0:
        v = math.hypot(vx, vy)
        vx = vx - dt * drag * v * vx
        vy = vy - dt * (GRAVITY + drag * v * vy)
        x = x + dt * vx
        y = y + dt * vy
    return x


def peak_height(speed: float, angle: float) -> float:
    """The highest point of the drag-free trajectory."""
    vy = speed * math.sin(angle)
    return vy * vy / (2 * GRAVITY)
