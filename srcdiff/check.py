"""Gradient checking for users: reverse mode, forward mode and central differences compared.

>>> import math
>>> def f(x, y):
...     return math.sin(x) * y
>>> check_grad(f, 0.3, 2.0, wrt=(0, 1))
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

from .errors import ArgumentKindError
# imported here, not where used: the doctest runner may import srcdiff/stop.py again as
# another module, whose FrozenStops the real stop_gradient would not see
from .stop import FrozenStops
from .structures import Path, children, follow, is_container, rebuild, text

if TYPE_CHECKING:
    import inspect

    from .api import Wrt



class GradientCheckError(AssertionError):
    """Reverse mode, forward mode and central differences disagree; the message is the
    report, one line per disagreeing element."""


def check_grad(func: Callable[..., Any], *args: Any, wrt: Wrt = 0, order: int = 1,
               rtol: float = 1e-5, atol: float = 1e-8, seed: int = 0, **kwargs: Any) -> None:
    """Check srcdiff's derivatives of ``func`` at ``args``, as JAX's and autograd's
    ``check_grads`` do: the gradient (reverse mode) element by element against central
    differences (steps ``1e-6`` and ``1e-4`` relative to each element; where the two
    steps disagree, the function has a kink there and the element is not judged), and
    forward mode (``jvp``) against ``<gradient, v>`` for a random tangent ``v`` (drawn
    from ``seed``). Raises :class:`GradientCheckError` with a report on disagreement;
    returns None. ``func`` must return a number. Use it on a function whose derivative
    you registered with ``register_rule``, to check the rule in place.

    ``func`` may be anything ``grad`` differentiates: a bound method or a
    ``functools.partial`` too, with ``*args``, and with respect to structures (dicts,
    lists, tuples, NamedTuples, dataclasses of numbers and arrays), checked leaf by leaf,
    ``v`` a structure alike.

    ``order=2`` checks second derivatives too: ``v . (H v)`` from the Hessian-vector
    product (``hvp``) along a random vector ``v``, against second central differences of
    ``func`` along ``v`` (relative steps ``1e-4`` and ``1e-3``, which must agree), after
    the first-order checks; as ``hvp``, it takes numbers and arrays. Central differences
    hold the values ``stop_gradient`` returns at the point."""
    from .api import _unbind, _wrt_names, grad, jvp
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, not {order!r}")
    unbound = _unbind(func, wrt)
    while unbound is not None:  # a bound method, a partial: the function they wrap
        func, bound_args, keywords, wrt = unbound
        args, kwargs = bound_args + args, {**keywords, **kwargs}
        unbound = _unbind(func, wrt)
    gradient_of = grad(func, wrt=wrt)  # first: it refuses what is not a Python function
    names = _wrt_names(func, wrt)
    import inspect
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    points = [bound.arguments[n] for n in names]
    gradients = gradient_of(*args, **kwargs)
    if order == 2:
        for name, point in zip(names, points):
            if is_container(point):
                raise ArgumentKindError(
                    f"argument {name!r} is a {type(point).__name__}: check_grad with order=2 "
                    "checks hvp, which takes numbers and NumPy float arrays; check the "
                    "first derivatives of a structure with order=1")
    problems = []

    stops = FrozenStops()   # stop_gradient's values: recorded at the point, then replayed
    with stops.recording():
        func(*args, **kwargs)

    def evaluate(name: str, value: Any) -> float:
        with stops.replaying():
            return float(_call(func, bound, {name: value}))

    if len(names) == 1 and not isinstance(wrt, (tuple, list)):
        gradients = (gradients,)
    for name, point, gradient in zip(names, points, gradients):
        for path, leaf in _leaves(point):
            for index, x, g in _elements(leaf, follow(gradient, path)):
                estimates = []
                for relative in (1e-6, 1e-4):
                    h = relative * max(1.0, abs(x))
                    up = _with(point, path, _with_element(leaf, index, x + h))
                    down = _with(point, path, _with_element(leaf, index, x - h))
                    estimates.append((evaluate(name, up) - evaluate(name, down)) / (2 * h))
                fine, coarse = estimates
                if not math.isclose(fine, coarse, rel_tol=1e-3, abs_tol=1e-6):
                    continue  # a kink or a branch switch within a step: differences cannot tell
                if not math.isclose(g, fine, rel_tol=rtol, abs_tol=atol):
                    where = f"{text(name, path)}{list(index) if index else ''}"
                    problems.append(f"  {where}: reverse mode {g!r}, central differences {fine!r}")

    rng = random.Random(seed)
    tangents = [_random_like(point, rng) for point in points]
    expected = sum(_inner(g, t) for g, t in zip(gradients, tangents))
    value, derivative = jvp(func, wrt=names)(*args, *tangents, **kwargs)
    scale = max(1.0, sum(abs(_inner(g, t)) for g, t in zip(gradients, tangents)))
    if not math.isclose(derivative, expected, rel_tol=rtol, abs_tol=atol * scale):
        problems.append(f"  forward mode along a random tangent: {derivative!r}; reverse mode "
                        f"<gradient, tangent>: {expected!r}")
    if order == 2 and not problems:
        problems += _second_order(func, bound, names, rng, rtol, atol, stops)
    if problems:
        raise GradientCheckError(f"srcdiff's derivatives of {func.__qualname__} disagree at "
                                 f"the point given:\n" + "\n".join(problems))


def _second_order(func: Callable[..., Any], bound: inspect.BoundArguments, names: tuple[str, ...],
                  rng: random.Random, rtol: float, atol: float, stops: FrozenStops) -> list[str]:
    """``v . (H v)``, from the Hessian-vector product along a random vector ``v``,
    against second central differences of ``func`` along ``v``, ``(f(x + h v) - 2 f(x) +
    f(x - h v)) / h**2`` (values ``stop_gradient`` returned at the point replayed)."""
    from .api import hvp
    points = [bound.arguments[n] for n in names]
    vectors = [_random_like(point, rng) for point in points]
    products = hvp(func, wrt=names)(*bound.args, *vectors, **bound.kwargs)
    quadratic = sum(_inner(p, v) for p, v in zip(products, vectors))
    size = max([1.0] + [abs(float(x)) for point in points for _, x, _ in _elements(point, point)])

    def along(t: float) -> float:
        changes = {name: point + t * vector for name, point, vector in zip(names, points, vectors)}
        with stops.replaying():
            return float(_call(func, bound, changes))
    centre = along(0.0)
    estimates = []
    for relative in (1e-4, 1e-3):
        h = relative * size
        estimates.append((along(h) - 2 * centre + along(-h)) / (h * h))
    fine, coarse = estimates
    scale = max(1.0, abs(centre))
    if not math.isclose(fine, coarse, rel_tol=1e-3, abs_tol=1e-5 * scale):
        return []  # a kink near the point along v: differences cannot tell
    if not math.isclose(quadratic, fine, rel_tol=max(rtol, 1e-4), abs_tol=max(atol, 1e-6 * scale)):
        return [f"  along a random vector v: v . (H v) by the Hessian-vector product "
                f"{quadratic!r}, second differences of the function {fine!r}"]
    return []


def _call(func: Callable[..., Any], bound: inspect.BoundArguments, changes: dict[str, Any]) -> Any:
    """``func`` called with the arguments ``bound`` holds, those of the parameters in
    ``changes`` changed (``*args`` a tuple), each passed as its parameter's kind takes it."""
    call = bound.signature.bind(*bound.args, **bound.kwargs)  # a copy, to change
    call.arguments.update(changes)
    return func(*call.args, **call.kwargs)


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, leaf) for each number or array in a structure (``srcdiff.structures``), in
    order; a number or an array is its own leaf, at the path ()."""
    if value is None:
        return
    if is_container(value):
        for step, child in children(value):
            yield from _leaves(child, path + (step,))
    else:
        yield path, value


def _with(point: Any, path: Path, leaf: Any) -> Any:
    """``point`` with the leaf at ``path`` replaced by ``leaf``."""
    if not path:
        return leaf
    return rebuild(point, {p: leaf if p == path else old for p, old in _leaves(point)})


def _elements(point: Any, gradient: Any) -> Iterator[tuple[tuple[int, ...], float, float]]:
    """(index, value, gradient element) for each element of a number or an array."""
    if hasattr(point, "shape") and point.shape:
        import numpy
        for index in numpy.ndindex(point.shape):
            yield index, float(point[index]), float(gradient[index])
    else:
        yield (), float(point), float(gradient)


def _with_element(point: Any, index: tuple[int, ...], value: float) -> Any:
    if index:
        copy = point.astype(float, copy=True)
        copy[index] = value
        return copy
    return value


def _random_like(point: Any, rng: random.Random) -> Any:
    """A random number, or array of ``point``'s shape, or structure of them like
    ``point``'s."""
    if is_container(point):
        return rebuild(point, {path: _random_like(leaf, rng) for path, leaf in _leaves(point)})
    if hasattr(point, "shape") and point.shape:
        import numpy
        return numpy.array([rng.gauss(0.0, 1.0) for _ in range(point.size)]).reshape(point.shape)
    return rng.gauss(0.0, 1.0)


def _inner(a: Any, b: Any) -> float:
    """The inner product of two numbers, arrays, or structures of them alike."""
    if is_container(a):
        return sum((_inner(leaf, follow(b, path)) for path, leaf in _leaves(a)), 0.0)
    # bool(): in a condition, mypy would check getattr's default as a bool
    if hasattr(a, "shape") and bool(getattr(a, "shape", ())):
        import numpy
        return float(numpy.sum(numpy.asarray(a) * numpy.asarray(b)))
    return float(a) * float(b)


__all__ = ["check_grad", "GradientCheckError"]
