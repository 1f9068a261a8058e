"""Functions written in the shapes srcdiff.parse must read: decorators, methods, nested
definitions, lines continued at column 0, docstrings and comments at column 0.
tests/test_source_reading.py reads each both ways (srcdiff's own line scan and
inspect's tokenizer) and asks for the same tree. Do not reformat this file."""
import math


def plain(x):
    return x * x


def tagged(f):
    f.tagged = True
    return f


def tagging(**options):
    return tagged


@tagged
def decorated(x):
    return math.sin(x)


@tagging(
    size=None)
@tagged
def decorated_over_lines(x):
    return x + 1.0


@tagging(
size=None)
def decorator_at_column_zero(x):
    return x + 2.0


def docstring_at_column_zero(x):
    """A docstring whose second line
starts at column 0."""
    y = x * 2.0
    return y


def string_at_column_zero(x):
    label = """
not code
"""
    return x * len(label)


def bracket_at_column_zero(x):
    y = (x +
x)
    return y


def backslash_at_column_zero(x):
    y = x * \
2.0
    return y


def parameters_at_column_zero(x,
y=1.0):
    return x * y


def comment_at_column_zero(x):
    y = x + 1.0
# a comment at column 0 inside the body
    return y * y


def blank_lines_inside(x):

    y = x * 3.0


    return y
    # a comment after the last statement


class Holder:
    def method(self, x):
        return x * 4.0

    @staticmethod
    def static(x):
        return x - 1.0

    def method_with_column_zero(self, x):
        z = (x *
x)
        return z


def outer(x):
    def inner(y):
        return y * y
    return inner(x)


def make_inner():
    def inner(y):
        return math.cos(y)
    return inner


one_line = lambda x: x * x  # noqa: E731


def one_liner(x): return x * 5.0


def ends_the_file(x):
    return x - 3.0
    # the last line, with no newline