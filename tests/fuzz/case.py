"""A generated test case: the source of a small module, the function under test
(``program``) and the point to differentiate it at."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Case:
    kind: str                 # "scalar" or "arrays"
    seed: int
    source: str               # the whole module: imports, globals, helpers, program
    point: tuple              # the arguments, in order (floats, ints, NumPy arrays)
    wrt: tuple                # positions of the parameters to differentiate
    names: tuple              # program's parameter names, in order
    ranks: dict = field(default_factory=dict)   # parameter name -> array rank
    features: Counter = field(default_factory=Counter)
    function: str = "program"
    # also run at the point's arrays in float32 (arrays only): the gradient of a float32
    # argument is float32, of a Python float a float; checked by ``Run.check_float32``
    float32: bool = False

    @property
    def wrt_names(self):
        return tuple(self.names[i] for i in self.wrt)

    @property
    def label(self):
        return f"{self.kind} seed {self.seed}"


def format_point(point) -> str:
    """The point as Python source (exact: repr of floats round-trips)."""
    parts = []
    for value in point:
        if hasattr(value, "tolist") and hasattr(value, "shape"):
            parts.append(f"np.array({value.tolist()!r})")
        else:
            parts.append(repr(value))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


STOP_GRADIENT_RATE = 0.015   # of the compound expressions drawn
MARKED_RATE = 0.005          # of those not stopped: snapped by a srcdiff.nondifferentiable helper
SNAP = "snap_level"          # that helper: its argument rounded down to a multiple of 1/64


class Drawing:
    """What both generators share: a seeded random source and the features drawn."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.features = Counter()
        # its own stream, so that drawing it leaves every other draw as it was
        self.stop_rng = random.Random(f"stop_gradient/{seed}")
        self.uses_stop = False
        self.marked_rng = random.Random(f"nondifferentiable/{seed}")
        self.uses_marked = False

    def maybe_stopped(self, code: str) -> str:
        """``code``, or now and then ``srcdiff.stop_gradient(code)`` (the value kept, its
        derivative taken as zero)."""
        if self.stop_rng.random() < STOP_GRADIENT_RATE:
            self.uses_stop = True
            self.feat("stop_gradient")
            return f"srcdiff.stop_gradient({code})"
        return code

    def maybe_marked(self, code: str) -> str:
        """``code``, or now and then ``snap_level(code)``: a user function marked
        ``srcdiff.nondifferentiable`` (piecewise constant: its derivative is zero, as the
        oracles find away from its steps)."""
        if self.marked_rng.random() < MARKED_RATE:
            self.uses_marked = True
            self.feat("nondifferentiable")
            return f"{SNAP}({code})"
        return code

    @staticmethod
    def append_loop(pad: str, name: str, head: str, element: str, condition: str) -> list[str]:
        """``name = []`` then a loop ``for {head}:`` appending ``element`` to it (under
        ``if condition:`` when there is one)."""
        lines = [f"{pad}{name} = []", f"{pad}for {head}:"]
        if condition:
            return lines + [f"{pad}    if {condition}:", f"{pad}        {name}.append({element})"]
        return lines + [f"{pad}    {name}.append({element})"]

    def r(self):
        return self.rng.random()

    def choice(self, items):
        return self.rng.choice(items)

    def feat(self, name):
        self.features[name] += 1
