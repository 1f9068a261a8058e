"""srcdiff: source-to-source reverse-mode automatic differentiation for plain Python.

>>> import math, srcdiff
>>> def h(x):
...     f = x ** 2
...     g = math.log(f)
...     return g + 1
>>> srcdiff.grad(h)(3.0)
0.6666666666666666
"""

from .api import grad, source, value_and_grad
from .explanation import explain
from .errors import (ArgumentKindError, KindError, LocatedError, MissingRuleError,
                     NoSourceError, SrcdiffError, SrcdiffNameError, UnsupportedSyntaxError)
from .rules import register_rule

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "source", "explain", "register_rule", "SrcdiffError", "LocatedError",
    "UnsupportedSyntaxError", "MissingRuleError", "NoSourceError", "SrcdiffNameError",
    "ArgumentKindError", "KindError", "__version__",
]
