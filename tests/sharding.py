"""How CI's Pythons share the long collections, so that together they run each program
once where each alone would run them all.

``.ci/run`` runs the test command on three Pythons at once, with ``FUZZ_SHARD=k/3`` for
the k-th. The collections that grow with ``CI`` set (the fuzz programs of
``tests/test_fuzz.py``, the typed-form seeds of ``tests/test_compiled.py``, the random
control-flow programs of ``tests/test_random_control_flow.py``) take the k-th of n
interleaved parts of themselves (``share``); everything else runs on every Python.
Without ``FUZZ_SHARD`` (plain ``python -m pytest``) the one part is the whole.
"""

import os

CI = bool(os.environ.get("CI"))


def shard():
    """(k, n) from FUZZ_SHARD=k/n (1 <= k <= n); (1, 1) when unset."""
    text = os.environ.get("FUZZ_SHARD", "1/1")
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"FUZZ_SHARD={text!r}: expected k/n, e.g. 2/3") from None
    if not 1 <= k <= n:
        raise ValueError(f"FUZZ_SHARD={text!r}: k must be between 1 and n")
    return k, n


SHARD = shard()


def share(items):
    """This shard's part of ``items``: every n-th, from the (k-1)-th."""
    k, n = SHARD
    return [item for i, item in enumerate(items) if i % n == k - 1]


def shared_examples(count):
    """For a Hypothesis test: ``count`` examples in all, this shard drawing its part
    (``count / n``, rounded up) from a seed of its own, where the derandomized profiles
    would draw the same examples on every Python. Placed above ``@given``."""
    from hypothesis import seed, settings
    k, n = SHARD

    def decorate(test):
        test = settings(max_examples=-(-count // n))(test)
        return seed(k)(test) if n > 1 else test
    return decorate
