"""Methods of objects given as arguments: ``self.forward(x)`` inside a bound method,
``layer(x)`` of an object whose class defines ``__call__``, ``Model.forward(self, x)``,
staticmethods. srcdiff inlines the function the object's class defines, so the gradient
is the gradient of the code that runs; the code holds while a later argument's class
gives the very same function (a subclass overriding a method, an attribute of the
instance hiding it, a class patched after: new code, or a located refusal).

Expected gradients are derived by hand from the mathematics."""

import dataclasses
import math
import typing

import numpy as np
import pytest

import srcdiff
from srcdiff import UnsupportedSyntaxError


class Model:
    def __init__(self, w, b):
        self.w = w
        self.b = b

    def act(self, z):
        return math.tanh(z)

    def forward(self, x):
        return self.act(self.w * x + self.b)

    def loss(self, x, y):
        r = self.forward(x) - y
        return r * r


class SineModel(Model):
    def act(self, z):  # overrides the base class's
        return math.sin(z)


def tanh_loss_gradient(w, b, x, y):
    """d/dx and (d/dw, d/db) of (tanh(w x + b) - y)^2."""
    t = math.tanh(w * x + b)
    outer = 2.0 * (t - y) * (1.0 - t * t)
    return outer * w, outer * x, outer


def sine_loss_dx(w, b, x, y):
    """d/dx of (sin(w x + b) - y)^2."""
    z = w * x + b
    return 2.0 * (math.sin(z) - y) * math.cos(z) * w


def test_a_method_calling_methods_of_self():
    model = Model(0.5, 0.1)
    gradient = srcdiff.grad(model.loss)(0.3, 1.0)
    assert gradient == pytest.approx(tanh_loss_gradient(0.5, 0.1, 0.3, 1.0)[0], rel=1e-12)
    value, derivative = srcdiff.jvp(model.loss)(0.3, 1.0, 2.0)
    assert value == pytest.approx(model.loss(0.3, 1.0))
    assert derivative == pytest.approx(2.0 * tanh_loss_gradient(0.5, 0.1, 0.3, 1.0)[0])


def test_a_subclass_gets_the_method_it_overrides():
    # one gradient, called with a base-class object, then a subclass's, then the base's
    # again: each call runs the code of its own class's act
    gradient = srcdiff.grad(Model.loss, wrt=1)
    base, sine = Model(0.7, -0.2), SineModel(0.7, -0.2)
    for model in (base, sine, base):
        expected = sine_loss_dx(0.7, -0.2, 0.4, 0.5) if isinstance(model, SineModel) else \
            tanh_loss_gradient(0.7, -0.2, 0.4, 0.5)[0]
        assert gradient(model, 0.4, 0.5) == pytest.approx(expected, rel=1e-12)


def test_a_class_patched_after_the_first_call_gets_new_code():
    class Patched(Model):
        pass

    gradient = srcdiff.grad(Patched.loss, wrt=1)
    model = Patched(0.7, -0.2)
    assert gradient(model, 0.4, 0.5) == pytest.approx(tanh_loss_gradient(0.7, -0.2, 0.4, 0.5)[0])
    Patched.act = SineModel.act  # the method the class gives is another function now
    assert gradient(model, 0.4, 0.5) == pytest.approx(sine_loss_dx(0.7, -0.2, 0.4, 0.5))


def test_an_instance_attribute_hiding_a_method_is_refused_where_it_is_called():
    gradient = srcdiff.grad(Model.loss, wrt=1)
    model = Model(0.7, -0.2)
    assert gradient(model, 0.4, 0.5) == pytest.approx(tanh_loss_gradient(0.7, -0.2, 0.4, 0.5)[0])
    hidden = Model(0.7, -0.2)
    hidden.act = math.cos  # not the class's method: never taken for it
    with pytest.raises(UnsupportedSyntaxError, match="attribute of the object itself") as caught:
        gradient(hidden, 0.4, 0.5)
    assert caught.value.source_line.strip() == "return self.act(self.w * x + self.b)"


@dataclasses.dataclass
class Params:
    w: float
    b: float

    def predict(self, x):
        return self.w * x + self.b

    def loss(self, x, y):
        r = self.predict(x) - y
        return r * r


def test_the_gradient_with_respect_to_self_reads_fields_through_methods():
    params = Params(2.0, 0.5)
    gradient = srcdiff.grad(params.loss, wrt="self")(3.0, 1.0)
    r = 2.0 * 3.0 + 0.5 - 1.0  # d/dw = 2 r x, d/db = 2 r
    assert gradient == Params(w=pytest.approx(2 * r * 3.0), b=pytest.approx(2 * r))


def outer_loss(params, x):
    return params.loss(x, 1.0) + Params.predict(params, x)


def test_methods_called_on_a_structured_argument_and_through_the_class():
    params = Params(2.0, 0.5)
    r = 2.0 * 0.7 + 0.5 - 1.0
    gradient = srcdiff.grad(outer_loss, wrt=(0, 1))(params, 0.7)
    # d/dw = 2 r x + x, d/db = 2 r + 1, d/dx = 2 r w + w
    assert gradient[0] == Params(w=pytest.approx(2 * r * 0.7 + 0.7), b=pytest.approx(2 * r + 1))
    assert gradient[1] == pytest.approx(2 * r * 2.0 + 2.0)


class Scaled(typing.NamedTuple):
    k: float

    @staticmethod
    def square(z):
        return z * z

    def apply(self, x):
        return self.k * self.square(x) + Scaled.square(self.k)


def test_staticmethods_through_the_instance_and_the_class():
    def f(s, x):
        return s.apply(x)
    # k x^2 + k^2: d/dk = x^2 + 2k, d/dx = 2 k x
    gradient = srcdiff.grad(f, wrt=(0, 1))(Scaled(3.0), 0.5)
    assert gradient[0] == Scaled(k=pytest.approx(0.25 + 6.0))
    assert gradient[1] == pytest.approx(3.0)


class Dense:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, x):
        return np.tanh(self.w @ x + self.b)


class Network:
    def __init__(self, rng):
        self.first = Dense(rng.normal(size=(4, 3)), rng.normal(size=4))
        self.second = Dense(rng.normal(size=(2, 4)), rng.normal(size=2))
        self.layers = [self.first, self.second]

    def __call__(self, x):
        return self.second(self.first(x))

    def loss(self, x):
        return np.sum(self(x) ** 2)

    def loss_by_loop(self, x):
        for layer in self.layers:
            x = layer(x)
        return np.sum(x ** 2)


def network_gradient(net, x):
    """The gradient of sum(tanh(W2 tanh(W1 x + b1) + b2)^2) with respect to x, by the
    chain rule written out."""
    h = np.tanh(net.first.w @ x + net.first.b)
    out = np.tanh(net.second.w @ h + net.second.b)
    b_out = 2 * out
    b_h = net.second.w.T @ (b_out * (1 - out * out))
    return net.first.w.T @ (b_h * (1 - h * h))


@pytest.mark.parametrize("method", ["loss", "loss_by_loop"])
def test_objects_called_as_functions(method):
    net = Network(np.random.default_rng(5))
    x = np.array([0.1, -0.2, 0.3])
    gradient = srcdiff.grad(getattr(net, method))(x)
    np.testing.assert_allclose(gradient, network_gradient(net, x), rtol=1e-12)
    tangent = np.array([1.0, 0.5, -2.0])
    _, derivative = srcdiff.jvp(getattr(net, method))(x, tangent)
    assert derivative == pytest.approx(network_gradient(net, x) @ tangent)


def calls_a_variable(x):
    y = x * 2.0
    return y(3.0)  # refused


def calls_a_method_of_a_number(x):
    return x.conjugate()  # refused


def test_calls_srcdiff_cannot_follow_are_refused_where_they_are():
    with pytest.raises(UnsupportedSyntaxError, match="`y` is a local variable; calling it"):
        srcdiff.grad(calls_a_variable)(1.0)
    with pytest.raises(UnsupportedSyntaxError, match=r"the method `\.conjugate\(\)` is not "
                       "supported here") as caught:
        srcdiff.grad(calls_a_method_of_a_number)(1.0)
    assert caught.value.source_line.strip().endswith("# refused")


class Recursive:
    def __init__(self, k):
        self.k = k

    def power(self, x, n):
        if n == 0:
            return 1.0
        return x * self.power(x, n - 1)


def test_recursion_through_self_is_refused_with_a_reason():
    with pytest.raises(UnsupportedSyntaxError, match="recursive calls"):
        srcdiff.grad(Recursive(2.0).power)(1.5, 3)


# -- forms a fifth trial wrote (each refused before)
class Pendulum:
    def __init__(self, k):
        self.k = k

    def step(self, x, v, dt):
        return x + dt * v, v - dt * self.k * x

    def energy_after(self, x0, steps=3, dt=0.1):
        x, v = x0, 0.0
        for _ in range(steps):
            x, v = self.step(x, v, dt)  # a tuple a method returns, unpacked
        return x * x + v * v


def pendulum_energy_dx0(k, x0, steps=3, dt=0.1):
    """The map is linear: (x, v) <- M (x, v), so the energy is x0^2 |M^n e1|^2."""
    m = np.array([[1.0, dt], [-dt * k, 1.0]])
    column = np.linalg.matrix_power(m, steps) @ np.array([1.0, 0.0])
    return 2.0 * x0 * float(column @ column)


def test_a_tuple_a_method_returns_unpacked():
    # refused before with 'lists and tuples holding values that depend on x0'
    model = Pendulum(4.0)
    assert srcdiff.grad(model.energy_after)(0.7) == pytest.approx(pendulum_energy_dx0(4.0, 0.7))


class Activation:
    def __init__(self, kind):
        self.kind = kind

    def __call__(self, z):
        if self.kind == "tanh":
            return math.tanh(z)
        if self.kind in ("softplus", "smooth"):
            return math.log1p(math.exp(z))
        return z


def activated(act, x):
    return act(x) * 2.0


def test_an_option_an_object_holds_selects_the_code():
    # self.kind == "tanh" was refused ('a str used as a value'); each string an object
    # holds gets code of its own
    gradient = srcdiff.grad(activated, wrt=1)
    expected = {"tanh": 2.0 * (1.0 - math.tanh(0.3) ** 2),
                "softplus": 2.0 / (1.0 + math.exp(-0.3)), "linear": 2.0}
    for kind in ("tanh", "softplus", "linear", "tanh"):
        assert gradient(Activation(kind), 0.3) == pytest.approx(expected[kind])


class Layered:
    SCALE = 2.0

    def __init__(self):
        self.layers = [Dense(np.array([[0.5]]), np.array([0.1])),
                       Dense(np.array([[-1.5]]), np.array([0.0]))]
        self.blocks = {"first": self.layers[0], "second": self.layers[1]}

    def by_position(self, x):
        return np.sum(self.layers[-1](self.layers[0](x))) * Layered.SCALE

    def by_enumerate(self, x):
        for i, layer in enumerate(self.layers, 1):
            x = layer(x) * i
        return np.sum(x)

    def by_name(self, x):
        s = 0.0
        for name, block in self.blocks.items():
            s = s + np.sum(block(x))
        return s


def test_layers_called_by_position_enumerated_and_by_name():
    model, x = Layered(), np.array([0.4])
    t1 = np.tanh(0.5 * 0.4 + 0.1)
    d1 = 0.5 * (1 - t1 ** 2)  # d first(x) / dx
    t2 = np.tanh(-1.5 * t1)
    assert srcdiff.grad(model.by_position)(x) == pytest.approx(2.0 * (1 - t2 ** 2) * -1.5 * d1)
    t2e = np.tanh(-1.5 * t1)  # by_enumerate: x1 = first(x) * 1, x2 = second(x1) * 2
    assert srcdiff.grad(model.by_enumerate)(x) == pytest.approx(2 * (1 - t2e ** 2) * -1.5 * d1)
    # by_name: first(x) + second(x)
    assert srcdiff.grad(model.by_name)(x) == pytest.approx(
        d1 + (1 - np.tanh(-1.5 * 0.4) ** 2) * -1.5)


def pairs_of_parts(ws, bs, x):
    for w, b in zip(ws, bs):  # stops at the shorter, as zip does
        x = w * x + b
    return x


def test_zip_of_structured_lists():
    # x2 = w1 (w0 x + b0) + b1: d/dw = (x, w1 x ... ), d/db = (w1, 1, 0)
    gw, gb, gx = srcdiff.grad(pairs_of_parts, wrt=(0, 1, 2))([0.5, -1.0], (0.1, 0.2, 9.0), 0.3)
    assert gw == [pytest.approx(-1.0 * 0.3), pytest.approx(0.5 * 0.3 + 0.1)]
    assert gb == (pytest.approx(-1.0), pytest.approx(1.0), 0.0)
    assert gx == pytest.approx(-0.5)


class Derived(Model):
    def forward(self, x):
        return super().forward(x) * 2.0  # refused

    @classmethod
    def unit(cls, x):
        return x

    def through_classmethod(self, x):
        return self.unit(x) * self.w  # refused


def test_super_and_classmethods_are_refused_with_a_way_out():
    with pytest.raises(UnsupportedSyntaxError, match=r"`super\(\)` is not supported") as caught:
        srcdiff.grad(Derived(0.5, 0.1).loss)(0.3, 1.0)
    assert "Base.forward(self, ...)" in caught.value.hint
    with pytest.raises(UnsupportedSyntaxError, match="is a classmethod") as caught:
        srcdiff.grad(Derived(0.5, 0.1).through_classmethod)(0.3)
    assert "staticmethod" in caught.value.hint


def through_layers(x, layers):
    for layer in layers:
        x = layer(x)
    return np.sum(x)


def through_dicts(x, layers):
    for p in layers:
        x = np.tanh(p["W"] @ x + p["b"])
    return np.sum(x)


def test_lists_of_objects_and_of_dicts_given_as_data():
    # a list of dicts (or of objects) not differentiated was taken for an array of
    # unknown rank: p["W"] 'reads part of p, which is not a structured argument' (a
    # fifth trial); it is a structure, read as the list of parts it is
    rng = np.random.default_rng(2)
    shapes = [((3, 2), 3), ((1, 3), 1)]
    dicts = [{"W": rng.normal(size=s), "b": rng.normal(size=n)} for s, n in shapes]
    objects = [Dense(d["W"], d["b"]) for d in dicts]
    x = np.array([0.2, -0.1])
    h = np.tanh(dicts[0]["W"] @ x + dicts[0]["b"])
    out = np.tanh(dicts[1]["W"] @ h + dicts[1]["b"])
    expected = dicts[0]["W"].T @ ((dicts[1]["W"].T @ (1 - out * out)) * (1 - h * h))
    np.testing.assert_allclose(srcdiff.grad(through_dicts)(x, dicts), expected, rtol=1e-12)
    np.testing.assert_allclose(srcdiff.grad(through_layers)(x, objects), expected, rtol=1e-12)


class Scale:
    def __init__(self, gain, inner):
        self.gain, self.inner = gain, inner

    def __call__(self, x):
        return self.gain * self.inner(x)


class Tanh:
    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return math.tanh(self.w * x)


def applied(model, x):
    return model(x)


def test_an_object_holding_another_of_its_class():
    # Scale(2, Scale(0.5, Tanh(1.5))): the same __call__ inlined for each part of the
    # structure; it was taken for recursion and refused (a seventh trial)
    model = Scale(2.0, Scale(0.5, Tanh(1.5)))
    assert srcdiff.grad(applied, wrt=1)(model, 0.3) == pytest.approx(
        2.0 * 0.5 * 1.5 * (1 - math.tanh(0.45) ** 2), rel=1e-14)
