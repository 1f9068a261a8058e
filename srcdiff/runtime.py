"""The few helpers generated array code calls.

Each is a plain function of NumPy arrays; the ``srcdiff`` command copies the source of the
ones a gradient uses into the module it writes, so generated modules import only
``numpy`` (and what the original module imports). Scalar code never calls them.

Adjoints follow one convention: an adjoint is an array of its variable's shape, or a
plain zero (``0.0``) standing for an all-zero array (the initial value inside loops).
The helpers accept such a zero.

>>> import numpy
>>> unbroadcast(numpy.ones((2, 3)), numpy.zeros((1, 3)))
array([[2., 2., 2.]])
>>> scatter(1.0, numpy.zeros(4), numpy.array([0, 2, 2]))
array([1., 0., 2., 0.])
"""

import numpy


def unbroadcast(gradient, like):
    """``gradient`` summed back to the shape of ``like``, which was broadcast into it."""
    shape = numpy.shape(like)
    if numpy.shape(gradient) == shape:
        return gradient
    extra = numpy.ndim(gradient) - len(shape)
    if extra < 0:
        return gradient  # a zero, or a value that broadcasts to ``like`` when added
    if extra:
        gradient = numpy.sum(gradient, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and numpy.shape(gradient)[i] != 1)
    if stretched:
        gradient = numpy.sum(gradient, axis=stretched, keepdims=True)
    if numpy.shape(gradient) != shape:
        # smaller than ``like``: a branch's zero adjoint times a partial that does not span
        # ``like``'s shape (0.0 * ones((1, 3)) for a (2, 3) operand): zeros of its shape,
        # in the gradient's float dtype (float32 stays float32)
        return numpy.array(numpy.broadcast_to(gradient, shape),
                           dtype=numpy.result_type(gradient, 1.0))
    return numpy.reshape(gradient, shape) if isinstance(like, numpy.ndarray) else gradient


# unbroadcast_product makes no product of fewer elements than this: below it, einsum's
# own cost is more than the product array's
_EINSUM_SIZE = 4096


def unbroadcast_product(a, b, like):
    """``unbroadcast(a * b, like)``, without the product array where it would be summed
    over leading axes only (one operand was stretched along them: ``w[None, :, :]``):
    ``numpy.einsum`` adds the products row after row, as ``numpy.sum`` adds the rows of
    the product. Anything else (numbers, dtypes that differ, other axes summed, small
    arrays) is ``unbroadcast(a * b, like)`` itself."""
    if type(a) is numpy.ndarray and type(b) is numpy.ndarray and a.ndim == b.ndim \
            and a.dtype == b.dtype and a.dtype.kind == "f" and 0 < a.ndim <= 26 \
            and a.size and b.size and max(a.size, b.size) >= _EINSUM_SIZE:
        shape = numpy.shape(like)
        rank = a.ndim
        if 0 < len(shape) <= rank:
            full = []
            for m, n in zip(a.shape, b.shape):
                if m != n and m != 1 and n != 1:
                    return unbroadcast(a * b, like)  # (raises as the product does)
                full.append(max(m, n))
            padded = (1,) * (rank - len(shape)) + tuple(shape)
            summed = 0  # the leading axes unbroadcast would sum
            while summed < rank and padded[summed:] != tuple(full[summed:]):
                summed += 1
            if 0 < summed < rank and all(n == 1 for n in padded[:summed]):
                axes = "abcdefghijklmnopqrstuvwxyz"[:rank]
                total = numpy.einsum(f"{axes},{axes}->{axes[summed:]}", a, b)
                return numpy.reshape(total, shape)  # (unbroadcast keeps like's ones)
    return unbroadcast(a * b, like)


def scatter(gradient, like, index):
    """The adjoint of ``like[index]``: zeros of ``like``'s shape with ``gradient`` added
    at ``index`` (repeated indices accumulate). ``like`` may be a list grown while the
    function runs: its adjoint is an array too."""
    if hasattr(like, "elements"):  # a GrownList (no array has the attribute)
        like = numpy.asarray(like.elements())
    result = numpy.zeros(numpy.shape(like), numpy.result_type(like, 1.0))
    if _basic(index):
        result[index] = gradient  # no position is selected twice
    else:
        numpy.add.at(result, index, gradient)
    return result


def _basic(index):
    """Whether ``index`` is basic indexing (integers, slices, ``None``, ``...``), which
    selects no position twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, numpy.integer, slice, type(None), type(Ellipsis)))
               for p in parts)


def scatter_add(total, gradient, like, index):
    """``total + scatter(gradient, like, index)``, the adjoint of ``like`` accumulated
    over the reads ``like[index]`` of a loop, added into ``total``'s own array where that
    gives the same numbers: an accumulation that made a new array on each pass was
    quadratic in the number of passes (``for row in X``). Generated code passes as
    ``total`` only an array no other name can hold (``optimize.accumulate`` proves it
    from def-use facts), so the change in place is seen by nobody else; anything that
    could round differently (a dtype the sum would change, an index that selects a
    position twice) or that is not such an array (the ``0.0`` of an adjoint not yet
    written) is the sum itself. Only the sign of a zero may differ from the sum's: an
    entry -0.0 stays -0.0 where -0.0 + 0.0 is 0.0."""
    if type(total) is numpy.ndarray and type(like) is numpy.ndarray and total is not like \
            and total.shape == like.shape and total.flags.writeable and total.flags.owndata:
        dtype = total.dtype  # the sum's: scatter's, result_type(like, 1.0), and total's
        if dtype == (like.dtype if like.dtype.kind == "f" else numpy.result_type(like, 1.0)) \
                and ((type(gradient) is float and dtype.kind == "f")
                     or getattr(gradient, "dtype", None) == dtype
                     or numpy.result_type(gradient, dtype) == dtype):
            if type(index) is int or _basic(index):
                total[index] += gradient
                return total
    return total + scatter(gradient, like, index)


def set_item(array, index, value):
    """``array`` with ``array[index] = value``, as a new array: the old one may still be
    needed by the backward sweep. (``writable`` raises where the assignment would.) The
    copy keeps the array's layout, so that reductions over it (``sum``, ``dot``,
    ``einsum``) add in the order they add over the original and give its last bits: a
    contiguous array its memory order (a transposed view stays Fortran-ordered); a view
    with steps or negative strides (``numpy.flip(x[::2])``) its very strides, on a new
    buffer spanning it (a compact copy of ``numpy.flip(x)`` is added up in another
    order), unless that buffer would be more than four times the view."""
    strides, item = array.strides, array.itemsize
    copy = None
    if not (array.flags.c_contiguous or array.flags.f_contiguous) and array.size \
            and all(s and s % item == 0 for s in strides):
        low = sum(s * (n - 1) for s, n in zip(strides, array.shape) if s < 0)
        high = sum(s * (n - 1) for s, n in zip(strides, array.shape) if s > 0)
        count = (high - low) // item + 1
        if count <= 4 * array.size + 512:
            buffer = numpy.empty(count, array.dtype)
            copy = numpy.lib.stride_tricks.as_strided(buffer[-low // item:], array.shape,
                                                      strides)
            copy[...] = array
    if copy is None:
        copy = array.copy(order="K")
    copy[index] = value
    return copy


def write_item(array, index, value, tape):
    """``array[index] = value`` in place, the part it overwrites pushed on ``tape`` first
    (a copy, where it is an array), and ``array`` returned: ``set_item`` where nothing
    but the backward sweep could see the old array, and the backward sweep undoes the
    change in turn (``restore_item``), so each of its statements still reads the values
    of its own time."""
    old = array[index]
    tape.append(old.copy() if type(old) is numpy.ndarray else old)
    array[index] = value
    return array


def restore_item(array, index, old):
    """Undo ``write_item``: write back the part it overwrote."""
    array[index] = old


def in_place(old, new):
    """Raise where ``old op= value`` raises on a NumPy array ``old``, generated code
    having computed ``new = old op value`` as a new array: ``old`` is read-only, or
    ``new`` has another shape (``old`` would have to grow: ``x += W``), or a dtype that
    does not cast back to ``old``'s (an integer array ``*= 0.5``)."""
    if isinstance(old, numpy.ndarray):
        if not old.flags.writeable:
            raise ValueError("output array is read-only")
        shape = numpy.shape(new)
        if shape != old.shape:
            raise ValueError(f"non-broadcastable output operand with shape {old.shape} "
                             f"doesn't match the broadcast shape {shape}")
        dtype = numpy.result_type(new)
        if not numpy.can_cast(dtype, old.dtype, casting="same_kind"):
            raise TypeError(f"Cannot cast ufunc output from {dtype!r} to {old.dtype!r} with "
                            "casting rule 'same_kind'")


def writable(array):
    """Raise where ``array[index] = value`` raises on a read-only NumPy array (the views
    ``numpy.diag`` and ``numpy.broadcast_to`` give are), generated code making the
    change on a copy (``set_item``)."""
    if isinstance(array, numpy.ndarray) and not array.flags.writeable:
        raise ValueError("assignment destination is read-only")


def assigned(gradient, like, index, value):
    """The adjoint flowing to ``value`` through ``like[index] = value``: the part of
    ``gradient`` at ``index``, summed back to ``value``'s shape, from the positions whose
    write stayed. With repeated indices (``[0, 0]``, or ``-3`` and ``0`` on a length-3
    axis) NumPy keeps one write per position; which one is found by doing the same
    assignment with each write's serial number. (A gradient of ``like``'s shape already,
    indexed to one number, is indexed as it is: a loop writing ``out[i]`` calls this once
    a pass, and ``broadcast_to`` cost most of the call.) The result shares no memory with
    ``gradient``, which ``zero_item_into`` may change next."""
    selected = None
    if type(gradient) is numpy.ndarray and gradient.shape == numpy.shape(like):
        selected = gradient[index]
        if type(selected) is numpy.ndarray:  # a part: a read-only view, as below
            selected = None
    if selected is None:
        selected = numpy.broadcast_to(gradient, numpy.shape(like))[index]
    parts = index if isinstance(index, tuple) else (index,)
    if not all(isinstance(p, (int, numpy.integer, slice, type(None), type(Ellipsis))) for p in parts):
        order = numpy.arange(numpy.size(selected)).reshape(numpy.shape(selected))
        winner = numpy.full(numpy.shape(like), -1)
        winner[index] = order
        selected = selected * (winner[index] == order)
    taken = unbroadcast(selected, value)
    if type(taken) is numpy.ndarray and numpy.may_share_memory(taken, gradient):
        taken = taken.copy()  # a part of the adjoint, as a view: ``zero_item_into`` zeroes it
    return taken


def zero_item(gradient, like, index):
    """The adjoint flowing to the old value of ``like`` through ``like[index] = ...``:
    the part of ``gradient`` that was overwritten is zero."""
    if type(gradient) is not numpy.ndarray or gradient.shape != numpy.shape(like):
        gradient = numpy.broadcast_to(gradient, numpy.shape(like))
    result = numpy.array(gradient, numpy.result_type(like, 1.0))
    result[index] = 0.0
    return result


def zero_item_into(gradient, like, index, taken):
    """``zero_item(gradient, like, index)``, the zeros written into ``gradient``'s own
    array where that gives the same array: a loop writing ``out[i]`` calls this once a
    pass, and a copy of the adjoint each pass cost O(n) (O(n²) for the loop). Generated
    code passes only an array that no other name holds or reads afterwards
    (``optimize.accumulate`` proves it), after ``assigned`` took from it ``taken``, the
    adjoint of the value written, which must not see the zeros: where ``taken`` may share
    memory with ``gradient`` (a part of it, as a view), and where ``gradient`` is not an
    array of its own of ``zero_item``'s shape and dtype (a number, a read-only broadcast
    view, a view), it is ``zero_item`` itself."""
    if type(gradient) is numpy.ndarray and gradient.flags.writeable \
            and gradient.flags.owndata and gradient.shape == numpy.shape(like) \
            and gradient.dtype == numpy.result_type(like, 1.0) \
            and not (isinstance(taken, numpy.ndarray) and numpy.may_share_memory(taken, gradient)):
        gradient[index] = 0.0
        return gradient
    return zero_item(gradient, like, index)


def piece(gradient, parts, position, axis, promote):
    """The adjoint of ``parts[position]`` in ``numpy.concatenate(parts, axis)`` (after
    ``promote``: ``numpy.atleast_1d`` for ``hstack``, ``numpy.atleast_2d`` for ``vstack``)."""
    shapes = [numpy.shape(promote(p)) for p in parts]
    if axis is None:  # hstack: the first axis of 1-d arrays, else the second
        axis = 0 if len(shapes[0]) == 1 else 1
    start = sum(shape[axis] for shape in shapes[:position])
    taken = numpy.take(gradient, range(start, start + shapes[position][axis]), axis=axis)
    return numpy.reshape(taken, numpy.shape(parts[position]))


def matmul_vjp(gradient, a, b, left):
    """The adjoint of ``a`` (``left``) or ``b`` in ``a @ b``, for operands of any rank."""
    if numpy.ndim(a) == 1 and numpy.ndim(b) == 1:  # an inner product: a number
        return gradient * (b if left else a)  # a Python float stays weak (float32 stays)
    gradient = numpy.asarray(gradient)
    a2, b2 = (a[None, :] if numpy.ndim(a) == 1 else a), (b[:, None] if numpy.ndim(b) == 1 else b)
    g2 = gradient
    if numpy.ndim(a) == 1:
        g2 = numpy.expand_dims(g2, -2)
    if numpy.ndim(b) == 1:
        g2 = numpy.expand_dims(g2, -1)
    if left:
        result = numpy.matmul(g2, numpy.swapaxes(b2, -1, -2))
        result = result[..., 0, :] if numpy.ndim(a) == 1 else result
        return unbroadcast(result, a)
    result = numpy.matmul(numpy.swapaxes(a2, -1, -2), g2)
    result = result[..., :, 0] if numpy.ndim(b) == 1 else result
    return unbroadcast(result, b)


def diagonal_vjp(gradient, like):
    """The adjoint of ``like`` in ``numpy.diag(like)`` for a 2-d ``like``."""
    result = numpy.zeros(numpy.shape(like), numpy.result_type(like, 1.0))
    count = min(numpy.shape(like))
    result[numpy.arange(count), numpy.arange(count)] = gradient
    return result


def gradient_like(gradient, like, copy):
    """The gradient returned for the array parameter ``like``: an array of its shape and
    dtype (``gradient`` may be a plain zero), sharing memory with nothing (``copy``: it
    may be an input, a global or another gradient)."""
    if type(gradient) is numpy.ndarray and gradient.shape == numpy.shape(like) \
            and gradient.dtype == like.dtype:
        return gradient.copy() if copy else gradient
    return numpy.array(numpy.broadcast_to(gradient, numpy.shape(like)), dtype=like.dtype)


def broadcast_like(adjoint, like):
    """``adjoint`` (an array, or a plain number: an adjoint still holding the 0.0 or 1.0
    it was initialised with) broadcast to ``like``'s shape, as a view. A plain number
    first becomes the 0-d array of the dtype it takes with ``like`` (float32 for a float32
    ``like``: ``numpy.broadcast_to`` alone makes a float64 array of it). An array of
    ``like``'s shape already, or a NumPy scalar where ``like`` has no axes, is returned
    as it is (the same numbers; a loop over an array's rows calls this twice a row)."""
    kind = type(adjoint)
    if kind is numpy.ndarray:
        if adjoint.shape == numpy.shape(like):
            return adjoint
    elif isinstance(adjoint, numpy.generic):
        if not numpy.ndim(like):
            return adjoint
    elif isinstance(adjoint, (int, float)):
        adjoint = numpy.asarray(adjoint, numpy.result_type(adjoint, like))
    return numpy.broadcast_to(adjoint, numpy.shape(like))


_STAND_INS_KEPT = 256  # stand_in's arrays, by shape and dtype: a few kilobytes


def stand_in(value, _kept={}):  # noqa: B006 (the cache, copied as it is into modules)
    """What a tape keeps of a value the backward sweep reads only for its shape and dtype
    (the ``like`` of ``unbroadcast``, ``broadcast_like``, ``zero_item``): for a NumPy
    array with axes, a read-only array of the same type, shape and dtype holding no
    numbers of its own (one zero, broadcast), shared by every array of that shape and
    dtype (``_kept``); anything else (a number, a 0-d array, a subclass, a list) as it
    is."""
    if type(value) is not numpy.ndarray or not value.ndim:
        return value
    key = (value.shape, value.dtype)
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= _STAND_INS_KEPT:
            _kept.clear()
        found = _kept[key] = numpy.broadcast_to(numpy.zeros((), value.dtype), value.shape)
    return found


def expit(x):
    """The logistic function ``1 / (1 + exp(-x))`` of an array: the partials of
    ``numpy.logaddexp``. Where ``exp(-x)`` overflows (``x`` below -709) the quotient is
    0, its limit, without NumPy's overflow warning (nor underflow's, of ``exp`` of a
    large ``x``: ``numpy.seterr(all="raise")`` would raise it)."""
    with numpy.errstate(over="ignore", under="ignore"):
        return 1.0 / (1.0 + numpy.exp(-x))


def number_like(number, like):
    """The derivative returned for ``like``, a number (a parameter, or the result of a
    Jacobian-vector product): a NumPy scalar of ``like``'s dtype when that is a float
    narrower than float64 (float32 in, float32 out), else a Python float, as ``float``
    gives (from float64, an int or a bool)."""
    dtype = getattr(like, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        return dtype.type(float(number))  # (through float64: exact for a narrower float)
    return float(number)


def cofactor(a, det=None):
    """The cofactor matrix of the square matrix ``a`` whose determinant is ``det`` (found
    here when not given): the derivative of the determinant. ``det * inv(a).T`` where
    ``a`` is invertible; from the minors where it is singular (the derivative exists
    there too: two equal rows)."""
    a, det, inverse = _inverse(a, det)
    if inverse is not None:
        return det * inverse.T
    n = a.shape[0]
    result = numpy.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = numpy.delete(numpy.delete(a, i, axis=0), j, axis=1)
            result[i, j] = (-1) ** (i + j) * numpy.linalg.det(minor)
    return result


def _inverse(a, det):
    """``a`` as floats (float32 stays float32: 1.0 does not promote), its determinant
    (``det``, or found here when None) and its inverse where that is not zero and NumPy
    inverts ``a`` (else None)."""
    a = numpy.asarray(a) * 1.0
    if det is None:
        det = numpy.linalg.det(a)
    if det != 0:
        try:
            return a, det, numpy.linalg.inv(a)
        except numpy.linalg.LinAlgError:
            pass
    return a, det, None


def _minors(a):
    """Each (i, j), its sign (-1) ** (i + j) and the rows and columns of ``a`` without
    row i and column j (for ``numpy.ix_``)."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            rows = [r for r in range(n) if r != i]
            columns = [c for c in range(n) if c != j]
            yield i, j, (-1) ** (i + j), numpy.ix_(rows, columns)


def cofactor_tangent(a, tangent, det=None):
    """The derivative of ``cofactor(a)`` along ``tangent``: tr(inv(a) t) C - det(a)
    (inv(a) t inv(a))^T where ``a`` is invertible; where it is singular, each entry from
    its minor (the derivative of a minor's determinant is that minor's cofactor matrix)."""
    a, det, inverse = _inverse(a, det)
    tangent = numpy.asarray(tangent)
    if inverse is not None:
        return numpy.sum(inverse.T * tangent) * (det * inverse.T) - \
            det * (inverse @ tangent @ inverse).T
    result = numpy.zeros(a.shape, numpy.result_type(a, tangent))
    for i, j, sign, minor in _minors(a):
        result[i, j] = sign * numpy.sum(cofactor(a[minor]) * tangent[minor])
    return result


def cofactor_adjoint(a, gradient, det=None):
    """The adjoint flowing to ``a`` from the adjoint ``gradient`` of ``cofactor(a)``:
    <G, C> inv(a)^T - inv(a)^T G^T C where ``a`` is invertible; where it is singular, from
    each entry's minor (``cofactor_tangent``, transposed)."""
    a, det, inverse = _inverse(a, det)
    gradient = numpy.asarray(gradient)
    if inverse is not None:
        full = det * inverse.T
        return numpy.sum(gradient * full) * inverse.T - inverse.T @ gradient.T @ full
    result = numpy.zeros(a.shape, numpy.result_type(a, gradient))
    for i, j, sign, minor in _minors(a):
        result[minor] += gradient[i, j] * sign * cofactor(a[minor])
    return result


def centred(a):
    """The deviations of ``a`` from its mean, the direction of the derivative of
    ``numpy.var`` and ``numpy.std``. Centred twice: the first pass leaves a common offset
    the size of the mean's rounding error (the deviations of equal elements are not zero
    but all equal), the second removes it, so they sum to zero to rounding of their own
    size, as the derivative does exactly (changing every element alike changes neither
    function).

    >>> d = centred(numpy.full(3, 0.1))
    >>> bool(abs(d.sum()) < 1e-30)
    True
    """
    d = a - numpy.mean(a, keepdims=True)
    return d - numpy.mean(d, keepdims=True)


def copy_of(a):
    """``a.copy()`` as Python runs it: of an array a C-ordered copy (``numpy.copy`` keeps
    the layout), of a list a list (``numpy.copy`` would make an array of it, and ``b * 2``
    after would multiply where Python repeats)."""
    return a.copy()


def item_of(a):
    """``a.item()``: the one element of a size-1 array as a Python number (raising as
    ``item`` raises for other sizes, and for a Python float, which has no ``item``)."""
    return a.item()


def centred_along(a, axis):
    """:func:`centred` along ``axis``."""
    d = a - numpy.mean(a, axis=axis, keepdims=True)
    return d - numpy.mean(d, axis=axis, keepdims=True)


def tangent_like(tangent, like):
    """The tangent returned for the array result ``like``: a new array of its shape and,
    when it is a float array, its dtype (a float32 result has a float32 tangent; otherwise
    float64). ``tangent`` may be a plain zero, a broadcast view, or the caller's own
    tangent."""
    dtype = numpy.asarray(like).dtype
    return numpy.array(numpy.broadcast_to(tangent, numpy.shape(like)),
                       dtype=dtype if dtype.kind == "f" else float)


def diagonal_adjoint(gradient, like, offset, axis1, axis2):
    """The adjoint of ``like`` in ``numpy.diagonal(like, offset, axis1, axis2)``: zeros of
    ``like``'s shape with ``gradient`` (whose last axis runs along the diagonal) on it."""
    result = numpy.zeros(numpy.shape(like), numpy.result_type(like, 1.0))
    view = numpy.moveaxis(result, (axis1, axis2), (-2, -1))
    count = numpy.shape(numpy.diagonal(view, offset, -2, -1))[-1]
    rows = numpy.arange(count) + max(-offset, 0)
    view[..., rows, rows + offset] = gradient
    return result


def take_adjoint(gradient, like, indices, axis):
    """The adjoint of ``like`` in ``numpy.take(like, indices, axis)``: ``gradient`` added
    back at ``indices`` (repeated indices accumulate)."""
    result = numpy.zeros(numpy.shape(like), numpy.result_type(like, 1.0))
    if axis is None:
        numpy.add.at(result.reshape(-1), indices, gradient)
    else:
        axis = axis % numpy.ndim(like)
        numpy.add.at(result, (slice(None),) * axis + (indices,), gradient)
    return result


def kron_adjoint(gradient, a, b, left):
    """The adjoint of ``a`` (``left``) or ``b`` in ``numpy.kron(a, b)``: the shorter shape
    takes leading ones, then the result's axis k splits into (``a``'s axis k, ``b``'s)."""
    rank = max(numpy.ndim(a), numpy.ndim(b))
    shape_a = (1,) * (rank - numpy.ndim(a)) + numpy.shape(a)
    shape_b = (1,) * (rank - numpy.ndim(b)) + numpy.shape(b)
    split = tuple(n for pair in zip(shape_a, shape_b) for n in pair)
    blocks = numpy.reshape(gradient, split)
    odd, even = tuple(range(1, 2 * rank, 2)), tuple(range(0, 2 * rank, 2))
    if left:  # contract the b axes (odd positions) with b
        result = numpy.tensordot(blocks, numpy.reshape(b, shape_b), axes=(odd, tuple(range(rank))))
        return numpy.reshape(result, numpy.shape(a))
    result = numpy.tensordot(numpy.reshape(a, shape_a), blocks, axes=(tuple(range(rank)), even))
    return numpy.reshape(result, numpy.shape(b))


def tile_adjoint(gradient, like, reps):
    """The adjoint of ``like`` in ``numpy.tile(like, reps)``: the copies summed."""
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    shape = numpy.shape(like)
    rank = max(len(shape), len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    sizes = (1,) * (rank - len(shape)) + shape
    split = tuple(n for pair in zip(reps, sizes) for n in pair)
    summed = numpy.sum(numpy.reshape(gradient, split), axis=tuple(range(0, 2 * rank, 2)))
    return numpy.reshape(summed, shape)


def repeat_adjoint(gradient, like, repeats, axis):
    """The adjoint of ``like`` in ``numpy.repeat(like, repeats, axis)`` (an integer
    ``repeats``): each run of copies summed."""
    if axis is None:
        return numpy.reshape(numpy.sum(numpy.reshape(gradient, (-1, repeats)), axis=1),
                             numpy.shape(like))
    axis = axis % numpy.ndim(like)
    shape = numpy.shape(like)
    split = shape[:axis] + (shape[axis], repeats) + shape[axis + 1:]
    return numpy.sum(numpy.reshape(gradient, split), axis=axis + 1)


def diff_adjoint(gradient, n, axis):
    """The adjoint of ``a`` in ``numpy.diff(a, n, axis)``: one difference's adjoint is
    ``g[i - 1] - g[i]`` (zero beyond the ends), n times."""
    zero = numpy.zeros((), numpy.result_type(gradient, 1.0))  # not 0.0: NumPy makes that float64
    for _ in range(n):
        gradient = -numpy.diff(gradient, axis=axis, prepend=zero, append=zero)
    return gradient


def unpad(gradient, widths):
    """The adjoint of ``array`` in ``numpy.pad(array, widths)`` (mode 'constant'): the
    middle of ``gradient``."""
    widths = numpy.broadcast_to(numpy.asarray(widths, dtype=int), (numpy.ndim(gradient), 2))
    return gradient[tuple(slice(int(b), numpy.shape(gradient)[k] - int(a))
                          for k, (b, a) in enumerate(widths))]


def einsum_adjoint(reduced, letters, subscripts, like):
    """The adjoint of the einsum operand ``like`` written ``subscripts`` (which may repeat
    a letter, ``'ii'``, or have letters no other operand or the output has, which were
    summed away), given ``reduced``, the adjoint over ``letters`` (its distinct letters
    that were not summed away): spread over the summed-away axes, put on the diagonal of
    repeated ones."""
    shape = numpy.shape(like)
    sizes = dict(zip(subscripts, shape))
    distinct = "".join(dict.fromkeys(subscripts))
    full = numpy.einsum(letters + "->" + "".join(c for c in distinct if c in letters), reduced)
    for position, c in enumerate(distinct):  # broadcast the summed-away letters back
        if c not in letters:
            full = numpy.expand_dims(full, position)
    full = numpy.broadcast_to(full, tuple(sizes[c] for c in distinct))
    if len(distinct) == len(subscripts):
        return numpy.array(numpy.transpose(full, [distinct.index(c) for c in subscripts]),
                           dtype=numpy.result_type(like, 1.0))
    result = numpy.zeros(shape, numpy.result_type(like, 1.0))
    grids = numpy.ix_(*[numpy.arange(sizes[c]) for c in distinct]) if distinct else ()
    result[tuple(grids[distinct.index(c)] for c in subscripts)] = full
    return result


def eigenvectors(a):
    """The eigenvectors of the symmetric matrix whose lower triangle ``a`` holds, as
    ``numpy.linalg.eigh`` gives them (columns, eigenvalues ascending): a primitive with
    its own derivative rule, which the rules of ``numpy.linalg.eigvalsh`` call."""
    return numpy.linalg.eigh(a)[1]


def eigenvalues(a, UPLO="L"):
    """``numpy.linalg.eigh(a, UPLO)[0]``: the eigenvalues as ``eigh`` computes them (not
    always bit for bit ``eigvalsh``'s), differentiated by ``eigvalsh``'s rule; the
    eigenvectors ``eigh`` also computes are not used."""
    return numpy.linalg.eigh(a, UPLO)[0]


# --- the rules of trapezoid, polyval, interp, cov, matrix_power and gammaln -----------------
def digamma(x):
    """``scipy.special.digamma(x)``, the derivative of ``scipy.special.gammaln`` (a
    primitive with its own rule, for second derivatives). SciPy is imported here, so
    generated code that calls it needs SciPy, as the function it came from did."""
    import scipy.special
    return scipy.special.digamma(x)


def trigamma(x):
    """``scipy.special.polygamma(1, x)``, the derivative of ``digamma``, in ``x``'s
    float dtype (polygamma computes float32 in float64)."""
    import scipy.special
    return scipy.special.polygamma(1, x).astype(numpy.result_type(x, 1.0), copy=False)


def _along(axis, ndim, index):
    """An index of ``ndim`` axes: ``index`` along ``axis``, everything along the others."""
    return tuple(index if k == axis else slice(None) for k in range(ndim))


def trapezoid_adjoint(gradient, y, x, dx, axis, wrt):
    """The adjoint of ``y`` (``wrt="y"``), ``x`` (``"x"``) or ``dx`` (``"dx"``) in
    ``numpy.trapezoid(y, x, dx, axis)``, given the result's. NumPy computes
    ``sum(d * (y[1:] + y[:-1]) / 2)`` along the axis, ``d`` the widths: ``numpy.diff(x)``
    (a 1-D ``x`` laid along the axis, another along its own) or ``dx``."""
    y = numpy.asarray(y)
    ndim = y.ndim
    along = axis % ndim
    if x is None:
        d = dx
    else:
        x = numpy.asarray(x)
        d = numpy.reshape(numpy.diff(x), [-1 if k == along else 1 for k in range(ndim)]) \
            if x.ndim == 1 else numpy.diff(x, axis=axis)
    upper, lower = y[_along(along, ndim, slice(1, None))], y[_along(along, ndim, slice(None, -1))]
    gradient = numpy.expand_dims(numpy.asarray(gradient, numpy.result_type(gradient, d, y)), axis)
    if wrt == "y":  # each width's half goes to the two ends of its interval
        part = gradient * d / 2.0
        part = unbroadcast(numpy.broadcast_to(part, numpy.broadcast_shapes(part.shape, upper.shape)),
                           upper)
        adjoint = numpy.zeros(y.shape, part.dtype)
        adjoint[_along(along, ndim, slice(1, None))] += part
        adjoint[_along(along, ndim, slice(None, -1))] += part
        return adjoint
    part = gradient * (upper + lower) / 2.0  # the adjoint of the widths d
    if wrt == "dx":
        return numpy.sum(part)
    if x.ndim == 1:
        widths = numpy.sum(part, axis=tuple(k for k in range(part.ndim) if k != along))
        on = 0
    else:
        widths = unbroadcast(numpy.broadcast_to(part, numpy.broadcast_shapes(part.shape, d.shape)), d)
        on = axis % x.ndim
    before = [(1, 0) if k == on else (0, 0) for k in range(widths.ndim)]
    after = [(0, 1) if k == on else (0, 0) for k in range(widths.ndim)]
    return numpy.pad(widths, before) - numpy.pad(widths, after)  # numpy.diff's adjoint


def polyder(p):
    """``numpy.polyder(p)`` in ``p``'s float dtype (NumPy multiplies by an int64 range,
    which makes float32 coefficients float64): the coefficients of the derivative of the
    polynomial ``p``, highest power first. A primitive with its own rule: the forward
    rule of ``numpy.polyval`` calls it."""
    p = numpy.asarray(p)
    return p[:-1] * numpy.arange(len(p) - 1, 0, -1).astype(numpy.result_type(p, 1.0))


def polyder_adjoint(gradient, p):
    """The adjoint of ``p`` in ``polyder(p)``: the result's adjoint times each power, a
    zero for the constant term."""
    p = numpy.asarray(p)
    adjoint = numpy.zeros(len(p), numpy.result_type(gradient, p, 1.0))
    adjoint[:-1] = gradient * numpy.arange(len(p) - 1, 0, -1).astype(adjoint.dtype)
    return adjoint


def polyval_adjoint(gradient, p, x):
    """The adjoint of the coefficients ``p`` in ``numpy.polyval(p, x)``: the result's
    adjoint times each power of ``x`` (``x ** (len(p) - 1)`` first), summed over ``x``'s
    elements."""
    p = numpy.asarray(p)
    dtype = numpy.result_type(gradient, p, x, 1.0)
    adjoint = numpy.zeros(len(p), dtype)
    power = numpy.ones(numpy.shape(x), dtype)  # x ** 0
    for k in range(len(p) - 1, -1, -1):
        adjoint[k] = numpy.sum(gradient * power)
        power = power * x
    return adjoint


def _segments(x, xp):
    """For each element of ``x``: the segment ``i`` of ``xp`` (``xp[i - 1]`` to
    ``xp[i]``) that ``numpy.interp`` reads it on (at a point of ``xp`` the segment to its
    right, at the last point the last segment), and whether ``x`` lies within ``xp``."""
    i = numpy.clip(numpy.searchsorted(xp, x, side="right"), 1, len(xp) - 1)
    return i, (x >= xp[0]) & (x <= xp[-1])


def interp_slope(x, xp, fp):
    """The derivative of ``numpy.interp(x, xp, fp)`` in ``x``: the slope of the segment
    ``_segments`` gives, 0 outside ``xp`` (the value is ``left`` or ``right`` there). A
    primitive with its own rule (linear in ``fp``): the forward rule of ``numpy.interp``
    calls it."""
    xp, fp = numpy.asarray(xp), numpy.asarray(fp)
    if len(xp) < 2:
        return numpy.zeros(numpy.shape(x), numpy.result_type(x, xp, fp, 1.0))[()]
    i, inside = _segments(x, xp)
    with numpy.errstate(divide="ignore", invalid="ignore"):  # (of no segment read)
        slope = (fp[i] - fp[i - 1]) / (xp[i] - xp[i - 1])
    return numpy.where(inside, slope, numpy.zeros_like(slope))[()]


def interp_slope_adjoint(gradient, x, xp, fp):
    """The adjoint of ``fp`` in ``interp_slope(x, xp, fp)``: each element's adjoint over
    its segment's width, added to the segment's end and taken from its start."""
    xp, fp = numpy.asarray(xp), numpy.asarray(fp)
    adjoint = numpy.zeros(fp.shape, numpy.result_type(gradient, xp, fp, 1.0))
    if len(xp) < 2:
        return adjoint
    i, inside = _segments(x, xp)
    share = numpy.where(inside, gradient / (xp[i] - xp[i - 1]), 0.0)
    i = numpy.broadcast_to(i, numpy.shape(share))
    numpy.add.at(adjoint, i, share)
    numpy.add.at(adjoint, i - 1, -share)
    return adjoint


def interp_adjoint(gradient, x, xp, fp, left, right):
    """The adjoint of ``fp`` in ``numpy.interp(x, xp, fp, left, right)``: each element's
    adjoint shared between the two ends of its segment by the interpolation weights;
    below ``xp`` it goes to ``fp[0]``, above it to ``fp[-1]`` (unless ``left`` or
    ``right`` is given: that value is a constant)."""
    xp, fp = numpy.asarray(xp), numpy.asarray(fp)
    gradient = numpy.broadcast_to(gradient, numpy.shape(x))
    adjoint = numpy.zeros(fp.shape, numpy.result_type(gradient, xp, fp, 1.0))
    if len(xp) >= 2:
        i, inside = _segments(x, xp)
        weight = (x - xp[i - 1]) / (xp[i] - xp[i - 1])  # of fp[i]; 1 - weight of fp[i - 1]
        numpy.add.at(adjoint, i, numpy.where(inside, gradient * weight, 0.0))
        numpy.add.at(adjoint, i - 1, numpy.where(inside, gradient * (1 - weight), 0.0))
    if left is None:
        adjoint[0] += numpy.sum(numpy.where(x < xp[0], gradient, 0.0))
    if right is None:
        adjoint[-1] += numpy.sum(numpy.where(x > xp[-1], gradient, 0.0))
    return adjoint


def _variables(m, rowvar):
    """``m`` as ``numpy.cov`` reads it: a 2-D array (float64 or wider) of one variable
    per row, and whether that is ``m`` transposed."""
    x = numpy.array(m, ndmin=2, dtype=numpy.result_type(m, numpy.float64))
    flipped = not rowvar and x.shape[0] != 1
    return (x.T if flipped else x), flipped


def cov_tangent(m, tangent, rowvar, ddof):
    """The tangent of ``numpy.cov(m, rowvar=rowvar, ddof=ddof)`` along ``tangent``:
    ``(M T^T + T M^T) / (n - ddof)`` for the centred variables ``M`` and ``T``, shaped as
    NumPy shapes the covariance (one variable: a number). A primitive with its own rule
    (bilinear in ``m`` and ``tangent``): the forward rule of ``numpy.cov`` calls it."""
    x, _ = _variables(m, rowvar)
    t, _ = _variables(tangent, rowvar)
    product = (x - numpy.mean(x, axis=1, keepdims=True)) @ \
        (t - numpy.mean(t, axis=1, keepdims=True)).T / (x.shape[1] - ddof)
    return (product + product.T).squeeze()


def cov_adjoint(gradient, other, rowvar, ddof):
    """``(G + G^T) M / (n - ddof)``, ``M`` the centred variables of ``other`` and ``G``
    the covariance's adjoint: the adjoint of ``m`` in ``numpy.cov(m)`` (``other`` is
    ``m``), of either argument in ``cov_tangent`` (``other`` is the other one)."""
    x, flipped = _variables(other, rowvar)
    centred = x - numpy.mean(x, axis=1, keepdims=True)
    g = numpy.reshape(gradient, (x.shape[0], x.shape[0]))  # (a number for one variable)
    adjoint = (g + g.T) @ centred / (x.shape[1] - ddof)
    return numpy.reshape(adjoint.T if flipped else adjoint, numpy.shape(other))


def matrix_power_adjoint(gradient, a, n):
    """The adjoint of ``a`` in ``numpy.linalg.matrix_power(a, n)``: the sum over the
    ``n`` factors of ``(a^k)^T g (a^(n-1-k))^T``; for ``n < 0``, of the powers of the
    inverse ``b``, then ``-b^T (...) b^T``."""
    if n == 0:
        return numpy.zeros(numpy.shape(a), numpy.result_type(gradient, a, 1.0))
    base = a if n > 0 else numpy.linalg.inv(a)
    count = abs(n)
    powers = [numpy.eye(len(base), dtype=base.dtype)]
    for _ in range(count - 1):
        powers.append(powers[-1] @ base)
    total = powers[0].T @ gradient @ powers[count - 1].T
    for k in range(1, count):
        total = total + powers[k].T @ gradient @ powers[count - 1 - k].T
    return total if n > 0 else -(base.T @ total @ base.T)


# --- lists the function grows while it runs (normalize: ``out = []`` then
# ``out.append(v)`` in a loop srcdiff does not write out, or a comprehension over an
# array). Such a list is a value like an array: appending gives a new one (the backward
# sweep may still need the shorter one), and its adjoint is an array of shape
# ``(len(items),) + element shape`` (or a plain zero), the array NumPy makes of it.
class GrownList:
    """A list grown while the function runs, as a value. Its versions share one buffer,
    each seeing its first ``count`` elements: appending to the newest extends the buffer
    in place (amortised constant time, where a new list each time would make a loop of n
    appends cost n * n), appending to an older one copies its elements first. Read by
    ``len``, by position and by iterating, as a list is.

    >>> a = appended(empty_list(), 1.0); b = appended(a, 2.0); c = appended(a, 3.0)
    >>> len(a), list(b), list(c), b[-1], b.buffer is a.buffer, c.buffer is a.buffer
    (1, [1.0, 2.0], [1.0, 3.0], 2.0, True, False)
    """

    __slots__ = ("buffer", "count")

    def __init__(self, buffer, count):
        self.buffer = buffer
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        position = index.__index__()  # (an int, a NumPy integer or a bool, as for lists)
        if position < 0:
            position += self.count
        if not 0 <= position < self.count:
            raise IndexError("list index out of range")
        return self.buffer[position]

    def __iter__(self):
        return iter(self.buffer[:self.count])

    def elements(self):
        return self.buffer[:self.count]

    def __array__(self, dtype=None, copy=None):  # what NumPy makes of the list
        return numpy.array(self.elements(), dtype=dtype)


def empty_list():
    """``[]``, for a list the function grows while it runs."""
    return GrownList([], 0)


def appended(items, value):
    """``items.append(value)``, as a new list (``items`` may also be a list or an array
    of tangents)."""
    if type(items) is GrownList:
        buffer, count = items.buffer, items.count
        if len(buffer) == count:
            buffer.append(value)
            return GrownList(buffer, count + 1)
        return GrownList(buffer[:count] + [value], count + 1)
    return GrownList([*items, value], len(items) + 1)


def list_array(items):
    """``numpy.array(items)``: what NumPy functions make of a list given to them (of a
    GrownList: ``GrownList.__array__``)."""
    return numpy.array(items)


def list_stack(items, axis=0):
    """``numpy.stack(items, axis)``."""
    return numpy.stack(items, axis)


def _list_adjoint(gradient, count, element):
    """``gradient`` as the adjoint of a list of ``count`` elements like ``element``: an
    array of shape ``(count,) + numpy.shape(element)``."""
    shape = (count,) + numpy.shape(element)
    if numpy.shape(gradient) not in ((), shape):
        raise ValueError(f"srcdiff differentiates lists grown at run time whose elements "
                         f"all have one shape; this one's adjoint has shape "
                         f"{numpy.shape(gradient)}, its last element {numpy.shape(element)}")
    return numpy.broadcast_to(gradient, shape)


def appended_value(gradient, items, value):
    """The adjoint flowing to ``value`` through ``appended(items, value)``: the last
    entry of the longer list's adjoint."""
    return _list_adjoint(gradient, len(items) + 1, value)[-1]


def appended_items(gradient, items, value):
    """The adjoint flowing to ``items`` through ``appended(items, value)``: all but the
    last entry."""
    return _list_adjoint(gradient, len(items) + 1, value)[:-1]


def appended_tangent(tangent, items, value_tangent):
    """The tangent of ``appended(items, value)``: the tangent of ``items`` (a list, an
    array of its elements' tangents, or a plain zero standing for a zero of each of
    ``items``' elements) with ``value``'s appended."""
    if isinstance(tangent, (int, float)):
        tangent = [numpy.zeros(numpy.shape(item), numpy.result_type(item, 1.0)) for item in items]
    return appended(tangent, value_tangent)
