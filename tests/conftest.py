import os
import sys

from hypothesis import HealthCheck, settings

from srcdiff.dataflow import NameCache

# The optimiser keeps the names of every statement across its passes and rounds, valid
# while no pass changes a node in place: under test, every answer it gives from memory is
# checked against the node as it is (InternalError where a pass broke that).
NameCache.CHECK = True

# user scripts that tests/test_typing.py hands to mypy (one calls gradients wrongly on
# purpose): type-checked, never imported as tests
collect_ignore = ["typing"]

# Every profile but "explore" is derandomized: `python -m pytest` gives the same result on
# every run and machine. CI runs more examples; HYPOTHESIS_PROFILE=explore draws new ones
# (and keeps failures in .hypothesis/ to replay them).
settings.register_profile("ci", derandomize=True, max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True,
                          database=None)
settings.register_profile("dev", derandomize=True, max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], database=None)
settings.register_profile("explore", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_terminal_summary(terminalreporter):
    fuzz_summary = sys.modules.get("fuzz.summary")  # loaded by tests/test_fuzz.py
    if fuzz_summary is not None:
        fuzz_summary.report(terminalreporter)
