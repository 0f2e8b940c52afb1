"""``mutmut run`` as tools/mutate.py runs it: the tests collected once, not once per mutant.

    python tools/mutate_run.py run --max-children 1     (in the scratch copy, as ``mutmut run``)

mutmut (3.8) tests each mutant in a child forked from its main process, and each child starts a
whole pytest session: options, plugins, conftests, and the collection of every test of the
module's test files before it keeps the few it runs. For the optimizer modules that collection
(two thousand parametrized tests of test_optim.py and test_torch_matrix.py) cost about a second
per mutant, more than most mutants' tests: a mutant is mostly killed by its first test.

This script is mutmut's own command line with one change. Just before the mutants run, the main
process opens one pytest session with the options a mutant's run has (mutmut's ``-x -q -p
no:randomly ...`` and ``[tool.mutmut] pytest_add_cli_args``) and collects the module's test files
once; each child then runs, in that session, exactly the tests mutmut names for its mutant, in
the order tools/mutate_select.py gives (the latest killers first, then mutmut's order), and stops
at the first failure. The tests run for a mutant, and their fixtures (set up in the child, after
the mutant is switched on), are the same as in a session of its own, so are the verdicts; what
a child no longer does is parse options and build two thousand test items. A mutant whose tests
are not all among the collected ones (none is expected) runs the old way, in a session of its own.

Run by tools/mutate.py in place of the ``mutmut`` command; ``GDBOOK_MUTATE_COLLECT_ONCE=0`` runs
plain mutmut (to compare).
"""

from __future__ import annotations

import os
import sys

import mutate_select

#: the session collected once in the main process (config, session, node id -> item), or None
_COLLECTED: tuple | None = None


def _args(runner) -> list[str]:
    """The command line mutmut gives pytest for a mutant (PytestRunner.execute_pytest and
    _pytest_args_regular_run), with the module's test files in place of the mutant's node ids."""
    return (["--rootdir=.", "--tb=native", "-x", "-q", "-p", "no:randomly", "-p", "no:random-order"]
            + list(runner._pytest_add_cli_args_test_selection) + list(runner._pytest_add_cli_args))


def collect(args: list[str]) -> tuple:
    """Open a pytest session with ``args`` and collect its tests (in the current directory).

    Returns (config, session, {node id: item}). The session stays open: its tests are run
    later by :func:`run_collected`, in forked children. Global output capturing is left
    suspended, as pytest leaves it between tests."""
    from _pytest.config import _prepareconfig
    from _pytest.main import Session

    cfg = _prepareconfig(list(args))
    session = Session.from_config(cfg)
    session.exitstatus = 0
    cfg._do_configure()
    cfg.hook.pytest_sessionstart(session=session)
    cfg.hook.pytest_collection(session=session)
    if session.testsfailed:
        raise RuntimeError(f"collection errors in {args}")
    return cfg, session, {item.nodeid: item for item in session.items}


def run_collected(collected: tuple, tests: list[str], quiet: bool = True) -> int:
    """Run ``tests`` (node ids) in a session opened by :func:`collect`, as ``pytest -x <ids>``
    would: stop at the first failure; exit code 1 if a test failed (or errored), 0 if all
    passed, 5 if none was named, 2 if interrupted. Meant for a forked child: it changes the
    session for good (mutate_select orders the tests and records the test that failed)."""
    cfg, session, by_id = collected
    ids = list(dict.fromkeys(tests))
    session.items = [by_id[i] for i in mutate_select.order(ids)]
    session.testscollected = len(session.items)
    session.testsfailed = 0
    mutate_select.start(ids)
    # fresh capture files for this process (the ones collection opened are shared with the
    # parent and its other children); stopping them gives back the parent's output, which the
    # child's report must not reach (quiet: mutmut sends a child's output to /dev/null too)
    capman = cfg.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()
    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    if capman is not None:
        capman.start_global_capturing()
        capman.suspend_global_capture()
    try:
        cfg.hook.pytest_runtestloop(session=session)
    except session.Failed:
        return 1
    except session.Interrupted:
        return 1 if session.testsfailed else 2
    except BaseException:
        return 3  # what pytest.main returns for an error outside the tests (mutmut: killed)
    if session.testsfailed:
        return 1
    return 0 if session.items else 5


def main() -> int:
    """mutmut's command line (mutmut reads its configuration as it is imported: here, in the
    scratch copy), its runner patched to collect once."""
    from mutmut.__main__ import cli
    from mutmut.runners.harness import PytestRunner
    from mutmut.workers.isolation import ForkRunner

    run_tests, startup = PytestRunner.run_tests, ForkRunner.startup

    def patched_startup(self: ForkRunner) -> None:
        global _COLLECTED
        if os.environ.get("GDBOOK_MUTATE_COLLECT_ONCE", "1") != "0" and isinstance(self.test_runner, PytestRunner):
            cwd = os.getcwd()
            os.chdir("mutants")
            try:
                _COLLECTED = collect(_args(self.test_runner))
            finally:
                os.chdir(cwd)
        startup(self)

    def patched_run_tests(self: PytestRunner, *, mutant_name: str | None, tests) -> int:
        tests = list(tests)
        if _COLLECTED is None or mutant_name is None or not tests or any(t not in _COLLECTED[2] for t in tests):
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        # in a child (ForkRunner forked it and switched its mutant on)
        os.chdir("mutants")
        try:
            return run_collected(_COLLECTED, tests)
        except BaseException:
            # a fault of this script, not of the mutant: reported as "suspicious", never as
            # killed (and the child must not return into mutmut's loop)
            return 35

    PytestRunner.run_tests = patched_run_tests
    ForkRunner.startup = patched_startup
    sys.argv[0] = "mutmut"
    return cli()


if __name__ == "__main__":
    sys.exit(main())
