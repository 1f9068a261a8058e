"""Structured variants of generated programs: the same program with some of the
parameters it differentiates read out of one structured argument (a dict, a nested dict,
a list or tuple read by position or unpacked, a NamedTuple, a dataclass), and now and
then the others read as attributes of an object that is not differentiated, or out of a
list or tuple that is not differentiated (``data_s[0]``, or unpacked at the top), with
some of the module's constants the function reads (``T = np.array(...)``: the arrays
programs differentiate all their parameters): its numbers and arrays of one shape make
one array, arrays of different shapes (or next to numbers) a structure, each read as an
item of its own.

The variant computes what the program computes, so its gradient, put back into the
argument's structure, must equal the program's: ``Run.check_structured`` compares them
and checks the gradient keeps the argument's type. Reads are rewritten where they are
(in loops, branches, calls and comprehensions of the body); a parameter the body
rebinds, that a nested function's parameter shadows, or that an assertion's message formats,
is read once at the top instead.
Drawn from its own random stream, so the program itself is unchanged.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import numpy

FORMS = ("dict", "nested", "list", "tuple", "unpack", "unpack_item", "namedtuple", "dataclass")
# the packed values bound by one unpacking, at the top (``loop_slice``: by the target of
# a loop over a slice of the list, which takes their one item: drawn in place of half the
# unpack_item forms, from a stream of its own)
UNPACKED = ("unpack", "unpack_nested", "unpack_item", "loop_slice", "dict_loop")
SLICES = {0: ("[:1]", "[:-1]", "[::2]", "[-2::-3]", "[0:1]"),  # the item first, a pad after
          1: ("[1:]", "[-1:]", "[1::5]", "[:0:-1]", "[-1:-2:-1]")}  # a pad first
NAME = "params_s"
OBJECT = "config_s"
DATA = "data_s"
DATA_FORMS = ("list", "tuple", "unpack")


@dataclass
class _Make:
    """An argument made once the variant's module is loaded: its ``Params_s`` class, or
    a ``types.SimpleNamespace`` (``kind`` "object")."""
    kind: str
    fields: dict


@dataclass
class Variant:
    source: str      # the module with the variant appended
    function: str    # its name
    args: list       # the arguments, in order
    wrt: tuple       # positions differentiated
    reads: dict      # packed parameter name -> its path in the structure, for comparing
    form: str
    at: int          # where the structure's gradient is among the gradients
    spread: bool = False  # the structure is *params_s: its values passed one by one




def _stored_or_shadowed(func: ast.FunctionDef) -> set[str]:
    names = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        if isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not func:
            args = node.args
            names |= {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            if args.vararg:
                names.add(args.vararg.arg)
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            names |= set(node.names)
        if isinstance(node, ast.Assert) and node.msg is not None:
            # an assertion's message: srcdiff takes f-strings of names there, not of items
            names |= {n.id for n in ast.walk(node.msg) if isinstance(n, ast.Name)}
    return names


class _Reads(ast.NodeTransformer):
    def __init__(self, access: dict[str, ast.expr]):
        self.access = access

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.access:
            return ast.copy_location(ast.parse(ast.unparse(self.access[node.id]),
                                               mode="eval").body, node)
        return node


def make(case, copy_point) -> Variant | None:
    """The structured variant of ``case`` (None when it has nothing to pack)."""
    rng = random.Random(f"structured/{case.kind}/{case.seed}")
    module = ast.parse(case.source)
    func = next((n for n in module.body if isinstance(n, ast.FunctionDef)
                 and n.name == case.function), None)
    if func is None or func.args.vararg or func.args.kwarg or func.args.kwonlyargs \
            or NAME in case.source or OBJECT in case.source:
        return None
    names = list(case.names)
    wrt = [names[i] for i in case.wrt]
    packed = [n for n in wrt if rng.random() < 0.7] or [rng.choice(wrt)]
    others = [n for n in names if n not in wrt]
    in_object = [n for n in others if rng.random() < 0.5]
    form = rng.choice(FORMS)
    # now and then the dataclass or NamedTuple, or the object not differentiated, is of
    # a class whose methods read the fields (its own stream: the other variants are
    # unchanged)
    methods = random.Random(f"methods/{case.kind}/{case.seed}")
    slicing = random.Random(f"slice/{case.kind}/{case.seed}")
    if form == "unpack_item" and slicing.random() < 0.5:
        form = "loop_slice"
    # now and then the tuple is *params_s, the packed values passed one by one (its own
    # stream: the other variants are unchanged)
    spread = form == "tuple" and random.Random(f"varargs/{case.kind}/{case.seed}").random() < 0.4
    point = dict(zip(names, copy_point(case.point)))
    # now and then some of the others (numbers, arrays) read out of a list or tuple not
    # differentiated (its own stream: the other variants are unchanged)
    data = random.Random(f"data/{case.kind}/{case.seed}")
    in_data = [] if DATA in case.source else [
        n for n in others if n not in in_object and _is_data(point[n]) and data.random() < 0.5]
    constants = [] if DATA in case.source else [
        n for n in _constants(case.source, func) if data.random() < 0.5]
    data_form = data.choice(DATA_FORMS) if in_data or constants else None
    # half the time an item no one reads after them: a number, or an array of a shape
    # of its own (so the list is a structure, not one array, more often)
    pad = [] if data_form in (None, "unpack") or data.random() < 0.5 else [
        data.choice([0.5, -1.5, numpy.linspace(-1.0, 1.0, 5), numpy.ones((2, 1))])]

    head = []
    if form in ("dict", "nested"):
        inner = {n: point[n] for n in packed}
        structure = inner if form == "dict" else {"layer": inner, "unused": 0.5}
        reads = {n: (("layer",) if form == "nested" else ()) + (n,) for n in packed}
        access = {n: f"{NAME}" + "".join(f"[{k!r}]" for k in reads[n]) for n in packed}
        looping = random.Random(f"dict_loop/{case.kind}/{case.seed}")
        if form == "dict" and looping.random() < 0.4:
            # its values bound by a loop over its items (or keys), one branch per key,
            # at the top (its own stream)
            form = "dict_loop"
            by_key = looping.random() < 0.5
            loop = [f"for key_s in {NAME}:" if by_key else
                    f"for key_s, value_s in {NAME}.items():"]
            for i, n in enumerate(packed):
                loop.append(f"    {'if' if i == 0 else 'elif'} key_s == {n!r}:")
                loop.append(f"        {n} = {NAME}[key_s]" if by_key else f"        {n} = value_s")
            head.append("\n".join(loop))
    elif form in ("list", "tuple", "unpack"):
        values = [point[n] for n in packed]
        structure = tuple(values) if form != "list" else values
        reads = {n: (i,) for i, n in enumerate(packed)}
        count = len(packed)
        access = {n: f"{NAME}[{i if rng.random() < 0.7 else i - count}]"
                  for i, n in enumerate(packed)}
        if form == "unpack":
            head.append(f"{', '.join(packed)}{',' if count == 1 else ''} = {NAME}")
            nested = random.Random(f"nested_unpack/{case.kind}/{case.seed}")
            if count >= 2 and nested.random() < 0.4:  # (a, b), c = params_s (its own stream)
                structure = (tuple(values[:2]),) + tuple(values[2:])
                reads = {n: ((0, i) if i < 2 else (i - 1,)) for i, n in enumerate(packed)}
                rest = "".join(f", {n}" for n in packed[2:]) or ","  # ((a, b),) = ...
                head[-1] = f"({packed[0]}, {packed[1]}){rest} = {NAME}"
                form = "unpack_nested"
    elif form == "unpack_item":  # W, b = params[0]: a tuple, an item of a list
        values = [point[n] for n in packed]
        structure = [tuple(values)]
        reads = {n: (0, i) for i, n in enumerate(packed)}
        access = {n: f"{NAME}[0][{i}]" for i, n in enumerate(packed)}
        head.append(f"{', '.join(packed)}{',' if len(packed) == 1 else ''} = "
                    f"{NAME}[{rng.choice([0, -1])}]")
    elif form == "loop_slice":  # for W, b in params[1:]: the loop runs once
        values = [point[n] for n in packed]
        at_item = slicing.choice([0, 1])
        structure = [tuple(values), (0.5,)] if at_item == 0 else [(0.5, -1.5), tuple(values)]
        reads = {n: (at_item, i) for i, n in enumerate(packed)}
        access = {n: f"{NAME}[{at_item}][{i}]" for i, n in enumerate(packed)}
        head.append(f"for {', '.join(packed)}{',' if len(packed) == 1 else ''} in "
                    f"{NAME}{slicing.choice(SLICES[at_item])}:\n    pass")
    else:
        fields = ", ".join(f"({n!r}, object)" for n in packed)
        maker = "typing.NamedTuple" if form == "namedtuple" else "dataclasses.make_dataclass"
        module_head = (f"import typing\nimport dataclasses\n\n"
                       f"Params_s = {maker}('Params_s', [{fields}])\n")
        structure = _Make("Params_s", {n: point[n] for n in packed})
        reads = {n: (n,) for n in packed}
        access = {n: f"{NAME}.{n}" for n in packed}
        if methods.random() < 0.5:  # a class with methods reading the fields
            module_head, access = _with_methods(form, packed, methods)
            form += " with methods"
    if not form.startswith(("namedtuple", "dataclass")):
        module_head = ""
    object_methods = bool(in_object) and methods.random() < 0.4
    for n in in_object:
        access[n] = f"{OBJECT}.{n}"
    if object_methods:  # config_s an object of a class of its own, read through methods
        head_of_object, object_access = _object_with_methods(in_object, methods)
        module_head += head_of_object
        access.update(object_access)
    items = in_data + constants
    for i, n in enumerate(items):
        access[n] = f"{DATA}[{i if data.random() < 0.7 else i - len(items) - len(pad)}]"
    unpacked = set(items) if data_form == "unpack" else set()
    if unpacked:
        head.append(f"{', '.join(items)}{',' if len(items) == 1 else ''} = {DATA}")

    rebound = _stored_or_shadowed(func)
    top = [n for n in access if n in rebound and not (form in UNPACKED and n in packed)
           and n not in unpacked]
    replaced = {n: ast.parse(a, mode="eval").body for n, a in access.items()
                if n not in rebound and not (form in UNPACKED and n in packed)
                and n not in unpacked}
    new = ast.parse(ast.unparse(func)).body[0]
    new.name = f"{case.function}_structured"
    body = [_Reads(replaced).visit(statement) for statement in new.body]
    head += [f"{n} = {access[n]}" for n in top]
    new.body = [ast.parse(line).body[0] for line in head] + body
    parameters = []
    for n in names:
        if n in packed:
            if n == packed[0] and not spread:
                parameters.append(NAME)
        elif n in in_object:
            if n == in_object[0]:
                parameters.append(OBJECT)
        elif n in in_data:
            if n == in_data[0]:
                parameters.append(DATA)
        else:
            parameters.append(n)
    if items and not in_data:
        parameters.append(DATA)
    new.args = ast.arguments([], [ast.arg(p) for p in parameters],
                             ast.arg(NAME) if spread else None, [], [], None, [])
    if spread:
        parameters.append(NAME)
    ast.fix_missing_locations(new)
    source = (case.source + "\n\n" + module_head + "\n\nimport types as types_s\n\n\n"
              + ast.unparse(new) + "\n")
    args = []
    for p in parameters:
        if p == NAME:
            args.append(structure)
        elif p == OBJECT:
            args.append(_Make("Config_s" if object_methods else "object",
                              {n: point[n] for n in in_object}))
        elif p == DATA:  # the constants' values are the loaded module's
            args.append(_Make("data", {"items": [point[n] for n in in_data] + [
                _Global(n) for n in constants] + pad, "tuple": data_form == "tuple"}))
        else:
            args.append(point[p])
    positions = tuple(i for i, p in enumerate(parameters) if p == NAME or p in wrt)
    at = positions.index(parameters.index(NAME))
    if spread:  # *params_s is named, not counted: wrt="params_s" (srcdiff.api)
        positions = positions[:-1] + (NAME,)
    described = "varargs" if spread else form
    if data_form is not None:
        described += f" (and data in a {data_form if data_form != 'unpack' else 'list unpacked'})"
    return Variant(source, new.name, args, positions, reads, described, at, spread)


def _with_methods(form: str, packed: list[str], rng: random.Random) -> tuple[str, dict]:
    """``Params_s`` as a class statement whose methods read its fields, and how the body
    reads each field: a getter (``params_s.get_w_s()``), a method calling it
    (``params_s.via_w_s()``), a staticmethod given the field (``params_s.same_s(...)``
    or ``Params_s.same_s(...)``), or the field itself. A dataclass half the time derives
    from a base class whose getters give other values: its own must be the ones called."""
    based = form == "dataclass" and rng.random() < 0.5
    lines = ["import typing", "import dataclasses", ""]
    if based:
        lines += ["class Base_s:"] + [f"    def get_{n}_s(self):\n        return 0.0"
                                      for n in packed] + [""]
    # (no annotations in class bodies: under ``from __future__ import annotations`` the
    # dataclass decorator looks the module up in sys.modules, where it is not)
    fields = ", ".join(f"({n!r}, object)" for n in packed)
    if form == "dataclass":
        lines += [f"class Methods_s{'(Base_s)' if based else ''}:"]
    else:
        lines += [f"class Params_s(typing.NamedTuple('Fields_s', [{fields}])):"]
    for n in packed:
        lines += [f"    def get_{n}_s(self):", f"        return self.{n}",
                  f"    def via_{n}_s(self):", f"        return self.get_{n}_s()"]
    lines += ["    @staticmethod", "    def same_s(value):", "        return value", ""]
    if form == "dataclass":
        lines += [f"Params_s = dataclasses.make_dataclass('Params_s', [{fields}], "
                  "bases=(Methods_s,))", ""]
    access = {}
    for n in packed:
        access[n] = rng.choice([f"{NAME}.get_{n}_s()", f"{NAME}.via_{n}_s()",
                                f"{NAME}.same_s({NAME}.{n})", f"Params_s.same_s({NAME}.{n})",
                                f"{NAME}.{n}"])
    return "\n".join(lines) + "\n", access


def _object_with_methods(in_object: list[str], rng: random.Random) -> tuple[str, dict]:
    """``Config_s``, the class of the object not differentiated: its attributes set in
    ``__init__``, a getter for each, and ``__call__`` giving the first; how the body reads
    each (a getter, the object called, the attribute)."""
    lines = ["class Config_s:", "    def __init__(self, **values):",
             "        self.__dict__.update(values)"]
    for n in in_object:
        lines += [f"    def get_{n}_s(self):", f"        return self.{n}"]
    lines += ["    def __call__(self):", f"        return self.get_{in_object[0]}_s()", ""]
    access = {}
    for i, n in enumerate(in_object):
        access[n] = rng.choice([f"{OBJECT}.get_{n}_s()", f"{OBJECT}.{n}"]
                               + ([f"{OBJECT}()"] if i == 0 else []))
    return "\n".join(lines) + "\n", access


@dataclass
class _Global:
    """In the list of data: the value of the module's constant ``name``."""
    name: str


def _constants(source: str, func: ast.FunctionDef) -> list[str]:
    """The module's constants (numbers and arrays, assigned at its top level) that the
    function reads and never binds (in the order ast.walk meets them)."""
    module = ast.parse(source)
    assigned = {t.id for n in module.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    bound = _stored_or_shadowed(func) | {a.arg for a in ast.walk(func.args)
                                         if isinstance(a, ast.arg)}
    read = [n.id for n in ast.walk(func) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id in assigned and n.id not in bound]
    if not read:
        return []
    namespace: dict = {}
    exec(compile(source, "<fuzz structured constants>", "exec"), namespace)
    return [n for n in dict.fromkeys(read) if _is_data(namespace.get(n))]


def _is_data(value) -> bool:
    """A number or a NumPy array: what a list or tuple of data holds here."""
    return (type(value) in (float, int) or isinstance(value, numpy.ndarray)) and \
        not isinstance(value, bool)


def given(variant: Variant, args: list):
    """The structured argument, among ``arguments(variant, ...)``."""
    if variant.spread:
        return tuple(args[len(variant.args) - 1:])
    return args[variant.wrt[variant.at]]


def arguments(variant: Variant, namespace: dict) -> list:
    """The variant's arguments, its classes and objects made in its loaded module."""
    result = []
    for value in variant.args:
        if isinstance(value, _Make) and value.kind == "data":
            items = [namespace[i.name] if isinstance(i, _Global) else i
                     for i in value.fields["items"]]
            value = tuple(items) if value.fields["tuple"] else items
        elif isinstance(value, _Make):
            make_one = namespace[value.kind] if value.kind in ("Params_s", "Config_s") \
                else namespace["types_s"].SimpleNamespace
            value = make_one(**value.fields)
        result.append(value)
    if variant.spread:  # the last is the tuple *params_s takes: its values one by one
        result = result[:-1] + list(result[-1])
    return result


def read(gradient, path):
    """The gradient of one packed parameter: ``path`` followed in the structure."""
    for key in path:
        gradient = getattr(gradient, key) if isinstance(key, str) and not isinstance(
            gradient, dict) else gradient[key]
    return gradient
