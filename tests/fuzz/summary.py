"""What the fuzz tests saw, printed at the end of the pytest session.

``tests/test_fuzz.py`` records each program's verdict here; ``tests/conftest.py``'s
``pytest_terminal_summary`` calls :func:`report` when this module was loaded.
"""

from __future__ import annotations

from collections import Counter, defaultdict

VERDICTS: dict[str, Counter] = defaultdict(Counter)      # kind -> verdict -> count
REFUSALS: Counter = Counter()                             # grouped message -> count
FAILURES: list[str] = []                                  # "kind seed N: verdict: reason"
SECONDS: Counter = Counter()                              # kind -> seconds spent
SEEDS: dict[str, set] = defaultdict(set)                  # kind -> seeds run


def record(item: dict):
    """One program's summary (``campaign.summary``)."""
    from .campaign import refusal_group
    kind, seed, verdict = item["kind"], item["seed"], item["verdict"]
    VERDICTS[kind][verdict] += 1
    SECONDS[kind] += item["seconds"]
    SEEDS[kind].add(seed)
    if verdict == "refused":
        REFUSALS[refusal_group(item["refusal"])] += 1
    elif verdict in ("wrong", "internal"):
        FAILURES.append(f"{kind} seed {seed}: {verdict}: {' '.join(item['reason'].split())[:160]}")


def report(terminalreporter):
    if not VERDICTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("srcdiff fuzzing")
    order = ("ok", "refused", "skipped", "nonfinite", "wrong", "internal")
    for kind, counts in sorted(VERDICTS.items()):
        total = sum(counts.values())
        write(f"{kind:7s} {total:5d} programs: " + ", ".join(f"{v} {counts[v]}" for v in order)
              + f"  ({SECONDS[kind] / max(total, 1):.2f} s/program)")
    for message, count in REFUSALS.most_common(5):
        write(f"  refused {count:4d}: {message[:140]}")
    if FAILURES:
        write(f"{len(FAILURES)} wrong/internal (replay one: python -m tests.fuzz.campaign "
              "--kind KIND --seed N --programs 1):")
        for line in FAILURES[:20]:
            write("  " + line)
        if len(FAILURES) > 20:
            write(f"  ... and {len(FAILURES) - 20} more")
