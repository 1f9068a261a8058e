"""Random programs the way people write them (``tests/fuzz``), differentiated by srcdiff
and judged by independent oracles: forward-mode dual numbers, central differences, the
gradient with the optimizer off and with each optimisation switched off alone
(translation validation), and srcdiff's own forward mode (``jvp`` against ``<grad, v>``).

Deterministic: program ``seed`` of a generator is a pure function of the seed. Without
``CI``, seeds 0-149 of each generator (300 programs). With ``CI`` set, seeds 0-299 of
each (600 programs); ``FUZZ_SHARD=k/n`` runs the k-th of n interleaved parts of them
(``tests/sharding.py``), so that CI's three Pythons (``.ci/run``) share the 600 instead
of each running them all.
Each test runs a chunk of 50 seeds, so a failure names its seeds; replay one with
``python -m tests.fuzz.campaign --kind scalar --seed N --programs 1`` (it also shrinks the
program and saves it under ``fuzz-failures/``). ``FUZZ_JOBS=2`` runs each chunk's
programs in two processes.

Every verdict must be ``ok``, ``refused``, ``skipped`` or ``nonfinite`` (see
``fuzz.harness``). Refusals must stay a minority, or the generators would silently test
nothing; every construct the generators know must appear in the CI seeds.
"""

import atexit
import os
from collections import Counter

import pytest

from fuzz import arrays, scalar, summary
from fuzz.campaign import work
from sharding import CI, share

CI_PROGRAMS = 300                # per generator (CI's 20 minutes: 1500 took 21, 1000 19.5-21.6, 700 19.6, 600 20.2, 450 19.8-21.8 on 2026-12-04)
CONSTRUCT_SEEDS = 1000           # the seeds test_every_construct_is_generated counts in
PROGRAMS = CI_PROGRAMS if CI else 150
CHUNK = 50
# Every program: grad through the public API, the oracles, shapes, dtypes, memory, and
# the gradient with the optimizer off. Some programs also (CI's time is bounded; the
# campaign command runs these on more programs):
PASSES_EVERY = 40                # each optimisation off alone on every 40th program
VALUE_AND_GRAD_EVERY = 20        # value_and_grad generated and compared on every 20th
FORWARD_EVERY = 8                # forward mode (jvp) against <grad, v> on every 8th
SECOND_EVERY = 12                # grad(grad(f)) against differences of grad(f) on every 12th
STRUCTURED_EVERY = 4             # the program reading a structured argument, every 4th
CHECKPOINTS_EVERY = 6            # grad(f, checkpoints=2 and 3) against grad(f), every 6th
TUPLES_EVERY = 3                 # the program returning a tuple: vjp and jvp, every 3rd
JOBS = int(os.environ.get("FUZZ_JOBS", "1"))
GENERATORS = {"scalar": scalar, "arrays": arrays}


ALL_CHUNKS = [(kind, start) for kind in GENERATORS for start in range(0, PROGRAMS, CHUNK)]
CHUNKS = share(ALL_CHUNKS)
_pool = None


def run_chunk(tasks):
    global _pool
    if JOBS <= 1:
        return [work(task) for task in tasks]
    if _pool is None:
        import multiprocessing
        _pool = multiprocessing.get_context("fork").Pool(JOBS, maxtasksperchild=200)
        atexit.register(_pool.terminate)
    return _pool.map(work, tasks, chunksize=1)


@pytest.mark.parametrize("kind,start", CHUNKS, ids=[f"{k}-{s}-{s + CHUNK - 1}" for k, s in CHUNKS])
def test_fuzz_chunk(kind, start):
    tasks = [(kind, seed, seed % PASSES_EVERY == 0, seed % VALUE_AND_GRAD_EVERY == 0,
              seed % FORWARD_EVERY == 0, seed % SECOND_EVERY == 0,
              seed % STRUCTURED_EVERY == 0, seed % CHECKPOINTS_EVERY == 0,
              seed % TUPLES_EVERY == 0)
             for seed in range(start, start + CHUNK)]
    failures = []
    for item in run_chunk(tasks):
        summary.record(item)
        if item["verdict"] in ("wrong", "internal"):
            failures.append(f"{kind} seed {item['seed']}: {item['verdict']} [{item['category']}]: "
                            f"{' '.join(item['reason'].split())[:300]}")
    assert not failures, "\n".join(failures) + (
        f"\nreplay and shrink: python -m tests.fuzz.campaign --kind {kind} --seed N --programs 1")


@pytest.mark.parametrize("kind", GENERATORS)
def test_refusals_stay_a_minority(kind):
    """Run after the chunks (file order): fewer than a quarter of the programs refused."""
    expected = CHUNK * sum(1 for k, _ in CHUNKS if k == kind)
    if expected == 0 or len(summary.SEEDS.get(kind, ())) < expected:
        pytest.skip("needs every chunk of this generator in this run to have run "
                    "(pytest -k selected fewer)")
    counts = summary.VERDICTS[kind]
    total = sum(counts.values())
    assert counts["refused"] < 0.25 * total, (
        f"{counts['refused']} of {total} {kind} programs refused: "
        f"{summary.REFUSALS.most_common(3)}")


@pytest.mark.parametrize("kind", GENERATORS)
def test_every_construct_is_generated(kind):
    """Each construct the generator knows appears at least 3 times in the first 1000
    seeds (generating is cheap; this does not run srcdiff)."""
    generator = GENERATORS[kind]
    counts = Counter()
    for seed in range(CONSTRUCT_SEEDS):
        counts.update(set(generator.generate(seed).features))
    rare = {f: counts[f] for f in generator.FEATURES if counts[f] < 3}
    assert not rare, f"constructs (almost) never generated: {rare}"


def test_renaming_a_local_leaves_f_strings_alone():
    # campaign seed 772263: a local `f` renamed `tape` turned f"..." into tape"..."
    case = GENERATORS["scalar"].generate(772263)
    assert 'f"' in case.source
    compile(case.source, "<seed 772263>", "exec")


def test_programs_are_pure_functions_of_their_seed():
    for generator in GENERATORS.values():
        for seed in (0, 7, 123):
            first, second = generator.generate(seed), generator.generate(seed)
            assert first.source == second.source
            assert repr(first.point) == repr(second.point)
