"""``srcdiff.stop_gradient``: a value whose derivative srcdiff takes as zero.

>>> import math, srcdiff
>>> def f(x):
...     return x * srcdiff.stop_gradient(x)
>>> srcdiff.grad(f)(3.0)   # d/dx (x * c) with c = x held constant
3.0
"""

from __future__ import annotations

import contextlib
import contextvars
import copy

_frozen: contextvars.ContextVar = contextvars.ContextVar("srcdiff_frozen_stops", default=None)


def stop_gradient(x):
    """``x`` itself; srcdiff takes its derivative as zero, so derivatives do not flow
    through it (``jax.lax.stop_gradient``, PyTorch's ``detach``). Generated code reads
    ``x`` directly. Under :class:`FrozenStops` (central differences in ``check_grad`` and
    the test oracles) one evaluation's values are replayed in the next ones."""
    frozen = _frozen.get()
    return x if frozen is None else frozen.value(x)


class FrozenStops:
    """The values ``stop_gradient`` returns in one evaluation of a function, replayed in
    later ones in call order, so that central differences (``check_grad``, the test
    oracles) see them as the constants srcdiff does::

        stops = FrozenStops()
        with stops.recording():
            f(x)
        with stops.replaying():
            f(x + h)
    """

    def __init__(self):
        self.values: list = []
        self.position: int | None = None  # None: recording
        self.diverged = False  # a replay asked for more values than were recorded

    def value(self, x):
        if self.position is None:
            self.values.append(copy.copy(x))  # the program may change an array later
            return x
        if self.position < len(self.values):
            self.position += 1
            return copy.copy(self.values[self.position - 1])
        self.diverged = True
        return x

    @contextlib.contextmanager
    def recording(self):
        self.values, self.position = [], None
        token = _frozen.set(self)
        try:
            yield self
        finally:
            _frozen.reset(token)

    @contextlib.contextmanager
    def replaying(self):
        self.position = 0
        token = _frozen.set(self)
        try:
            yield self
        finally:
            _frozen.reset(token)
