"""A fuzzing campaign: generate programs, judge each, shrink and save the failures.

From the repository root::

    python -m tests.fuzz.campaign --programs 2000 --kind all --jobs 2
    python tests/fuzz/campaign.py --kind arrays --seed 5000 --programs 500
    python -m tests.fuzz.campaign --replay fuzz-failures/scalar-8.py

Program i of a generator uses seed S + i (``--seed S``); ``--programs`` counts per
generator. It prints the verdicts per generator, the refusals grouped by message, the
failure classes with one saved example each, and every ``wrong``/``internal`` program
with its seed and reason. Each failing program is saved to ``--save`` as a
self-contained ``.py`` file (the point and the reason in its header, runnable as a
script); the first ``--shrink-per-class`` of each failure class (in seed order) are
shrunk first (``-1``: all of them, ``0``: none).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from collections import Counter, defaultdict

if __package__ in (None, ""):  # run as a script: python tests/fuzz/campaign.py
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.path.dirname(here))
    __package__ = "fuzz"
    import fuzz  # noqa: F401  (sets up the path to the shared oracles)

from . import arrays, scalar  # noqa: E402
from .case import Case, format_point  # noqa: E402
from .harness import VERDICTS, Result, run_case  # noqa: E402
from .shrink import key, shrink  # noqa: E402

GENERATORS = {"scalar": scalar, "arrays": arrays}


def refusal_group(refusal: str) -> str:
    """A refusal message without the user's names in it (`ref`, `x_1`...)."""
    def name(match):
        word = match.group(1)
        keep = {"while", "for", "if", "try", "with", "global", "nonlocal", "del", "lambda",
                "yield", "async", "await", "class", "import", "return", "break", "continue"}
        return match.group(0) if word in keep or "." in word or "(" in word else "`…`"
    return re.sub(r"`([^`]*)`", name, refusal)


def make_case(kind: str, seed: int) -> Case:
    return GENERATORS[kind].generate(seed)


def work(task):
    """One program (in a worker process): its verdict, as plain data. ``task`` is
    (kind, seed, passes[, value_and_grad[, forward[, second[, structured[, checkpoints[,
    tuples]]]]]]): which checks
    run besides the oracles and the optimizer off (by default, all)."""
    kind, seed, passes, *rest = task
    case = make_case(kind, seed)
    value_and_grad, forward, second, structured, checkpoints, tuples = \
        (list(rest) + [True] * 6)[:6]
    result = run_case(case, passes=passes, value_and_grad=value_and_grad, forward=forward,
                      second=second, structured=structured, checkpoints=checkpoints,
                      tuples=tuples)
    return summary(case, result)


def summary(case: Case, result: Result) -> dict:
    return {"kind": case.kind, "seed": case.seed, "verdict": result.verdict,
            "category": result.category, "key": key(result) if result.category else "",
            "reason": result.reason, "refusal": result.refusal, "located": result.located,
            "seconds": result.seconds, "notes": list(result.notes),
            "features": dict(case.features)}


def shrink_task(task):
    kind, seed, passes, seconds, do_shrink = task
    case = make_case(kind, seed)
    result = run_case(case, passes=passes)
    original_lines = len(case.source.splitlines())
    if do_shrink and result.verdict in ("wrong", "internal"):
        case, result = shrink(case, result, seconds=seconds)
    return {"kind": kind, "seed": seed, "text": saved_text(case, result, original_lines),
            "verdict": result.verdict, "key": key(result), "reason": result.reason,
            "lines": len(case.source.splitlines()), "original_lines": original_lines}


def saved_text(case: Case, result: Result, original_lines: int) -> str:
    lines = len(case.source.splitlines())
    header = [f"# srcdiff fuzz failure: {case.kind} seed {case.seed}"
              + (f" (shrunk from {original_lines} to {lines} lines)" if lines < original_lines else ""),
              f"# verdict: {result.verdict} [{key(result)}]",
              f"# reason: {' '.join(result.reason.split())}",
              f"# point: {format_point(case.point)}",
              f"# wrt: {case.wrt_names}",
              *(["# float32: True (also run with the arrays in float32)"] if case.float32 else []),
              "# replay: python -m tests.fuzz.campaign --replay <this file>",
              ""]
    body = case.source.rstrip() + "\n"
    tail = ["", "", f"POINT = {format_point(case.point)}", f"WRT = {tuple(case.wrt)!r}", "",
            'if __name__ == "__main__":',
            "    import srcdiff",
            "    copy = lambda: [p.copy() if hasattr(p, 'copy') else p for p in POINT]",
            "    print('primal:', program(*copy()))",
            "    print('gradient:', srcdiff.grad(program, wrt=WRT)(*copy()))", ""]
    return "\n".join(header) + body + "\n".join(tail)


def load_saved(path: str) -> Case:
    """A saved failure as a case (the whole file is the module)."""
    text = open(path).read()
    match = re.search(r"^# srcdiff fuzz failure: (\w+) seed (-?\d+)", text, re.M)
    kind, seed = (match.group(1), int(match.group(2))) if match else ("scalar", -1)
    namespace = {"__name__": "replay"}
    exec(compile(text, path, "exec"), namespace)
    point = tuple(namespace["POINT"])
    wrt = tuple(namespace.get("WRT", range(len(point))))
    tree = ast.parse(text)
    program = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "program")
    names = tuple(a.arg for a in program.args.args)
    ranks = {n: p.ndim for n, p in zip(names, point) if hasattr(p, "ndim") and p.ndim}
    kind = "arrays" if ranks or "import numpy" in text else kind
    float32 = re.search(r"^# float32: True", text, re.M) is not None
    return Case(kind, seed, text, point, wrt, names, ranks=ranks, float32=float32)


def replay(path: str) -> int:
    case = load_saved(path)
    result = run_case(case)
    print(f"{path}: {result.verdict} [{result.category}] in {result.seconds:.2f} s")
    if result.reason:
        print(f"  {result.reason}")
    if result.details and result.verdict in ("internal", "refused"):
        print("  " + result.details.strip().splitlines()[-1])
    for note in result.notes:
        print(f"  note: {note}")
    return 0 if result.verdict in ("ok", "refused", "skipped", "nonfinite") else 1


def run_all(tasks, jobs, function, progress=True):
    results = []
    start = time.monotonic()
    if jobs <= 1:
        iterator = map(function, tasks)
        pool = None
    else:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=200)
        iterator = pool.imap_unordered(function, tasks, chunksize=1)
    try:
        for k, item in enumerate(iterator, 1):
            results.append(item)
            if progress and (k % 100 == 0 or k == len(tasks)):
                print(f"  {k}/{len(tasks)} done, {time.monotonic() - start:.0f} s",
                      file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.campaign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=1000, help="programs per generator")
    parser.add_argument("--seed", type=int, default=0, help="program i uses seed SEED + i")
    parser.add_argument("--kind", choices=("scalar", "arrays", "all"), default="all")
    parser.add_argument("--save", default="fuzz-failures", help="directory for failing programs")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--passes-every", type=int, default=5,
                        help="switch each optimisation off alone on every K-th program "
                             "(the optimizer off: on every program)")
    parser.add_argument("--value-and-grad-every", type=int, default=1,
                        help="generate value_and_grad and compare it with grad on every "
                             "K-th program")
    parser.add_argument("--forward-every", type=int, default=1,
                        help="compare srcdiff.jvp with <grad, v> on every K-th program")
    parser.add_argument("--second-every", type=int, default=1,
                        help="compare grad(grad(f)) with differences of grad(f) on every "
                             "K-th program")
    parser.add_argument("--structured-every", type=int, default=1,
                        help="differentiate the program reading some parameters from a "
                             "structured argument (fuzz.structured) on every K-th program")
    parser.add_argument("--checkpoints-every", type=int, default=1,
                        help="compare grad(f, checkpoints=K) with grad(f) on every K-th "
                             "program")
    parser.add_argument("--tuples-every", type=int, default=1,
                        help="differentiate the program returning a tuple (vjp, jvp; "
                             "fuzz.tuples) on every K-th program")
    parser.add_argument("--shrink-per-class", type=int, default=3,
                        help="shrink the first N failures of each class (-1: all, 0: none)")
    parser.add_argument("--shrink-seconds", type=float, default=90.0)
    parser.add_argument("--replay", metavar="FILE", help="run one saved program and exit")
    args = parser.parse_args(argv)

    if args.replay:
        return replay(args.replay)

    kinds = ["scalar", "arrays"] if args.kind == "all" else [args.kind]
    every = max(1, args.passes_every)
    both = max(1, args.value_and_grad_every)
    forward = max(1, args.forward_every)
    second = max(1, args.second_every)
    structured = max(1, args.structured_every)
    checkpoints = max(1, args.checkpoints_every)
    tuples = max(1, args.tuples_every)
    tasks = [(kind, seed, seed % every == 0, seed % both == 0, seed % forward == 0,
              seed % second == 0, seed % structured == 0, seed % checkpoints == 0,
              seed % tuples == 0)
             for kind in kinds for seed in range(args.seed, args.seed + args.programs)]
    start = time.monotonic()
    print(f"running {len(tasks)} programs ({', '.join(kinds)}), seeds {args.seed}.."
          f"{args.seed + args.programs - 1}, {args.jobs} job(s); each pass off alone every "
          f"{every}, value_and_grad every {both}, jvp every {forward}, grad(grad(f)) every "
          f"{second}, structured every {structured}, checkpoints every {checkpoints}, "
          f"tuples every {tuples}",
          file=sys.stderr)
    results = run_all(tasks, args.jobs, work)
    elapsed = time.monotonic() - start
    results.sort(key=lambda r: (kinds.index(r["kind"]), r["seed"]))

    # verdicts per generator
    print(f"\n== verdicts ({elapsed:.0f} s wall, {args.jobs} job(s))")
    for kind in kinds:
        mine = [r for r in results if r["kind"] == kind]
        counts = Counter(r["verdict"] for r in mine)
        cpu = sum(r["seconds"] for r in mine)
        print(f"  {kind:7s} {len(mine):5d} programs  "
              + "  ".join(f"{v} {counts[v]}" for v in VERDICTS)
              + f"   {cpu / max(1, len(mine)):.2f} s/program (cpu)")

    # refusals
    refusals = Counter()
    located = Counter()
    for r in results:
        if r["verdict"] == "refused":
            group = refusal_group(r["refusal"])
            refusals[group] += 1
            located[group] += bool(r["located"])
    if refusals:
        print("\n== top refusals")
        for message, count in refusals.most_common(15):
            print(f"  {count:5d}  {message[:150]}  [located {located[message]}/{count}]")

    skipped = Counter(r["category"] for r in results if r["verdict"] == "skipped")
    if skipped:
        print("\n== skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.most_common()))
    nonfinite = Counter(r["category"] for r in results if r["verdict"] == "nonfinite")
    if nonfinite:
        print("== nonfinite (a singular derivative at the point): "
              + ", ".join(f"{k} {v}" for k, v in nonfinite.most_common()))
    notes = Counter(n.split(":")[0] for r in results for n in r["notes"])
    if notes:
        print("== oracle notes: " + ", ".join(f"{k} {v}" for k, v in notes.most_common(6)))

    failures = [r for r in results if r["verdict"] in ("wrong", "internal")]
    if not failures:
        print("\nno wrong or internal verdicts")
        return 0

    # save (and shrink) the failures
    os.makedirs(args.save, exist_ok=True)
    classes = defaultdict(list)
    for r in failures:
        classes[(r["kind"], r["key"])].append(r)
    shrink_tasks = []
    for (kind, _), members in classes.items():
        for rank, r in enumerate(members):
            do = args.shrink_per_class < 0 or rank < args.shrink_per_class
            shrink_tasks.append((kind, r["seed"], True, args.shrink_seconds, do))
    print(f"\nsaving {len(shrink_tasks)} failing programs to {args.save}/ "
          f"(shrinking {sum(t[4] for t in shrink_tasks)})", file=sys.stderr)
    saved = {}
    for item in run_all(shrink_tasks, args.jobs, shrink_task):
        path = os.path.join(args.save, f"{item['kind']}-{item['seed']}.py")
        with open(path, "w") as handle:
            handle.write(item["text"])
        saved[(item["kind"], item["seed"])] = (path, item)

    print("\n== failure classes (most frequent first)")
    for (kind, name), members in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        example = min((saved[(kind, m["seed"])] for m in members),
                      key=lambda pi: (pi[1]["lines"], pi[1]["seed"]))
        path, item = example
        print(f"  {len(members):5d}  {kind:6s} {name}")
        print(f"         e.g. {path} ({item['lines']} lines): {' '.join(item['reason'].split())[:200]}")

    print("\n== wrong and internal programs")
    for r in failures:
        print(f"  {r['kind']} seed {r['seed']}: {r['verdict']}: {' '.join(r['reason'].split())[:220]}")
    print(f"\n{time.monotonic() - start:.0f} s in all", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
