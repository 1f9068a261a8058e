"""srcdiff: source-to-source automatic differentiation for plain Python (reverse and
forward mode).

>>> import math, srcdiff
>>> def h(x):
...     f = x ** 2
...     g = math.log(f)
...     return g + 1
>>> srcdiff.grad(h)(3.0)
0.6666666666666666
>>> srcdiff.jvp(h)(3.0, 1.0)
(3.1972245773362196, 0.6666666666666666)
"""

from .api import grad, hessian, hvp, jacobian, jvp, source, value_and_grad, vjp
from .check import GradientCheckError, check_grad
from .explanation import explain
from .errors import (ArgumentKindError, CompileError, CompilerMissingError, KindError,
                     LocatedError, MissingRuleError, NoSourceError, SrcdiffError,
                     SrcdiffNameError, UnsupportedSyntaxError)
from .rules import register_rule
from .stop import nondifferentiable, stop_gradient
from .tracebacks import install as _install_traceback_hook

_install_traceback_hook()  # generated code's lines in uncaught tracebacks (3.11, 3.12)

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hvp", "hessian", "check_grad",
    "GradientCheckError",
    "source", "explain", "register_rule", "stop_gradient", "nondifferentiable", "SrcdiffError", "LocatedError",
    "UnsupportedSyntaxError", "MissingRuleError", "NoSourceError", "SrcdiffNameError",
    "ArgumentKindError", "KindError", "CompileError", "CompilerMissingError", "__version__",
]
