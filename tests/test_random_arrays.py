"""Random NumPy programs, drawn by Hypothesis, differentiated by srcdiff and checked
against central differences: elementwise operations on shapes that broadcast, reductions
with axes, matrix products, indexing, item assignment and ``+=`` inside loops, and
constants computed from module data by functions without a derivative rule
(``np.sort(DATA)``, ``np.percentile(DATA, 30)``).

The generator tracks each variable's shape, so every program runs; what it checks is
that srcdiff's gradient of every parameter (two arrays and a number) matches the
numerical one, with the gradient's shape equal to the parameter's.
"""

import numpy
from hypothesis import assume, given, settings, strategies as st

import srcdiff

from arrays import assert_gradients_close, numeric_gradient, program

# name -> shape; () is a number
PARAMETERS = {"x": (3,), "W": (2, 3), "s": ()}

UNARY = ["np.sin({a})", "np.tanh({a})", "np.exp(0.3 * {a})", "{a} * {a}",
         "np.sqrt(1.0 + {a} ** 2)", "np.maximum({a}, 0.2)", "-{a}"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / (1.5 + {b} * {b})",
          "np.hypot({a}, 1.0 + {b} * {b})", "np.where({a} > {b}, {a}, 0.5 * {b})"]


# constants computed from module data by functions without a derivative rule, and shapes
DATA = numpy.array([0.4, -1.1, 0.9])
DATA2 = numpy.array([[0.3, -0.8, 1.2], [-1.4, 0.6, 0.1]])
CONSTANTS = {"np.sort(DATA)": (3,), "np.percentile(DATA, 30)": (), "np.unique(DATA)": (3,),
             "np.sort(DATA2, axis=0)": (2, 3), "np.nanmedian(DATA2, axis=1)": (2,),
             "np.interp(0.5, np.sort(DATA), DATA)": ()}


def broadcast(a, b):
    try:
        return numpy.broadcast_shapes(a, b)
    except ValueError:
        return None


@st.composite
def programs(draw):
    shapes = dict(PARAMETERS)
    lines = []
    count = draw(st.integers(2, 7))
    for index in range(count):
        name = f"v{index}"
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "matmul",
                                     "index", "loop", "augment", "constant"]))
        names = sorted(shapes)
        a = draw(st.sampled_from(names))
        if kind == "unary":
            lines.append(f"{name} = " + draw(st.sampled_from(UNARY)).format(a=a))
            shapes[name] = shapes[a]
        elif kind == "binary":
            partners = [b for b in names if broadcast(shapes[a], shapes[b]) is not None]
            b = draw(st.sampled_from(partners))
            lines.append(f"{name} = " + draw(st.sampled_from(BINARY)).format(a=a, b=b))
            shapes[name] = broadcast(shapes[a], shapes[b])
        elif kind == "reduce" and shapes[a]:
            axis = draw(st.sampled_from([None] + list(range(len(shapes[a])))))
            function = draw(st.sampled_from(["np.sum", "np.mean", "np.max"]))
            if axis is None:
                lines.append(f"{name} = {function}({a})")
                shapes[name] = ()
            else:
                lines.append(f"{name} = {function}({a}, axis={axis})")
                shapes[name] = shapes[a][:axis] + shapes[a][axis + 1:]
        elif kind == "matmul" and shapes[a] == (2, 3):
            vectors = [b for b in names if shapes[b] == (3,)]
            b = draw(st.sampled_from(vectors))
            lines.append(f"{name} = {a} @ {b}")
            shapes[name] = (2,)
        elif kind == "index" and shapes[a]:
            if len(shapes[a]) == 1:
                index = draw(st.sampled_from(["0", "-1", "1:", "::2", "None, :"]))
                shape = {"0": (), "-1": (), "1:": (2,), "::2": (2,), "None, :": (1, 3)}[index]
            else:
                index = draw(st.sampled_from(["1", ":, 0", "0, 1:", "..., -1"]))
                shape = {"1": (3,), ":, 0": (2,), "0, 1:": (2,), "..., -1": (2,)}[index]
            lines.append(f"{name} = {a}[{index}]")
            shapes[name] = shape
        elif kind == "loop" and shapes[a]:
            length = shapes[a][0]
            b = draw(st.sampled_from(names))
            use = f"np.sum({b})" if shapes[b] else b
            lines.append(f"{name} = {a} * 1.0")
            lines.append(f"for i in range({length}):")
            lines.append(f"    {name}[i] = {name}[i] * 0.5 + np.sin({use}) * (i + 1)")
            shapes[name] = shapes[a]
        elif kind == "augment" and shapes[a]:
            partners = [b for b in names if broadcast(shapes[a], shapes[b]) == shapes[a]]
            b = draw(st.sampled_from(partners))
            lines.append(f"{name} = {a} * 2.0")
            lines.append("for i in range(2):")
            lines.append(f"    {name} += 0.25 * {b} * {name}")
            shapes[name] = shapes[a]
        elif kind == "constant":
            form = draw(st.sampled_from(sorted(CONSTANTS)))
            lines.append(f"{name} = {form}")
            shapes[name] = CONSTANTS[form]
        else:
            lines.append(f"{name} = np.cos({a})")
            shapes[name] = shapes[a]
    last = f"v{count - 1}"
    result = f"np.sum({last} * {last})" if shapes[last] else f"{last} * {last}"
    terms = " + ".join([result] + [f"0.1 * np.sum({p})" for p in PARAMETERS])
    body = "\n".join("    " + line for line in lines)
    return f"def probe(x, W, s):\n{body}\n    return {terms}\n"


@settings(max_examples=120, deadline=None)
@given(source=programs(), seed=st.integers(0, 2 ** 16))
def test_random_array_program(source, seed):
    rng = numpy.random.default_rng(seed)
    args = [rng.uniform(-1.5, 1.5, size=3), rng.uniform(-1.5, 1.5, size=(2, 3)),
            float(rng.uniform(-1.5, 1.5))]
    probe = program(source, DATA=DATA, DATA2=DATA2)
    expected = numeric_gradient(probe, args, (0, 1, 2))
    coarse = numeric_gradient(probe, args, (0, 1, 2), h=1e-4)
    # a kink (max, maximum, where) within a step: no derivative to compare with
    assume(all(numpy.allclose(a, b, rtol=1e-3, atol=1e-4) for a, b in zip(expected, coarse)))
    gradient = srcdiff.grad(probe, wrt=(0, 1, 2))(*args)
    assert_gradients_close(gradient, expected, args, (0, 1, 2), rtol=1e-5, atol=1e-6)
