"""``ParityRunner``: Django's ``DiscoverRunner`` that records every test's outcome as JSON.

Every mode isolates tests as Django does: a ``TestCase`` runs in a transaction per test,
rolled back after it. In mode 3, vinyl_sync joins that transaction (vinyl-query README,
"Django's own ``atomic()``"): its statements run on Django's connection through vinyl's
sync driver, so they see what ``setUpTestData`` wrote, as in a user's own test suite. A
``TransactionTestCase`` has no such transaction: vinyl runs on its own pools, which are
closed after every test (before Django's flush) and before the test databases are
dropped, and each worker points vinyl at its own clone of the test database.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import unittest
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections
from django.db.models import signals as model_signals
from django.test import runner as django_runner

MODE = os.environ.get("VINYL_PARITY_MODE", "django")


def close_vinyl() -> None:
    """Close vinyl_sync's pools (a no-op before the first vinyl read)."""
    if MODE == "django":
        return
    import vinyl_sync

    vinyl_sync.close_pools()


def point_vinyl_at_test_databases() -> None:
    """Make vinyl build its backends again from ``DATABASES`` (the worker's clone)."""
    if MODE == "django":
        return
    close_vinyl()
    for alias in connections:
        # Django's setup_worker_connection() updates the connection's settings_dict in
        # place; it is settings.DATABASES[alias] itself, but say so rather than rely on it.
        settings.DATABASES[alias]["NAME"] = connections[alias].settings_dict["NAME"]
    # vinyl forgets its backends when DATABASES changes (override_settings sends this);
    # enter=False: Django's warning about overriding DATABASES is for tests, not for this.
    setting_changed.send(
        sender=type(settings._wrapped), setting="DATABASES", value=settings.DATABASES, enter=False
    )


def reset_evidence() -> None:
    """Forget the previous test's evidence (mode 3; see ``vinylize.evidence``)."""
    if MODE == "vinyl":
        from vinyl_parity import vinylize

        vinylize.reset_evidence()


def with_evidence(text: str) -> str:
    """Return a failure's *text* with what the runner observed during the test appended."""
    if MODE != "vinyl":
        return text
    from vinyl_parity import vinylize

    return text + vinylize.evidence_line()


#: Django's signals a test may connect a receiver to and, failing before it disconnects it,
#: leave connected for every later test of the process. In mode 3 vinyl sends no signal, so
#: such a test fails half-way (delete's test_do_nothing) and its receiver would then run on
#: a later test's Django delete (proxy_models' admin, deleting a session): a failure of one
#: test must not become another's, as it cannot in mode 1, where the test passes.
KEPT_SIGNALS = (
    model_signals.pre_init,
    model_signals.post_init,
    model_signals.pre_save,
    model_signals.post_save,
    model_signals.pre_delete,
    model_signals.post_delete,
    model_signals.m2m_changed,
)
_receivers: dict[Any, list[Any]] = {}


def remember_receivers() -> None:
    """Note each signal's receivers as a test starts."""
    for signal in KEPT_SIGNALS:
        _receivers[signal] = list(signal.receivers)


def restore_receivers() -> None:
    """Give each signal back the receivers it had when the test started."""
    for signal in KEPT_SIGNALS:
        if signal in _receivers and signal.receivers != _receivers[signal]:
            with signal.lock:
                signal.receivers = list(_receivers[signal])
                signal.sender_receivers_cache.clear()


def _init_worker(*args: Any, **kwargs: Any) -> None:
    django_runner._init_worker(*args, **kwargs)
    point_vinyl_at_test_databases()


class RemoteError(Exception):
    """A worker's failure, as the text of its traceback (any exception pickles this way)."""


class PortableSubTest:
    """A failed subtest as the main process needs it: its id and description.

    unittest's ``_SubTest`` holds its test case, which the worker pickles only when the
    results are sent, after the test ran: by then the case may hold what does not pickle
    (a many-to-many's auto-created through model, once the test has read it through vinyl).
    """

    def __init__(self, subtest: Any) -> None:
        self._id = subtest.id()
        self._description = str(subtest)
        self._short = subtest.shortDescription()
        self.failureException = subtest.failureException

    def id(self) -> str:
        return self._id

    def shortDescription(self) -> str | None:  # noqa: N802
        return self._short

    def __str__(self) -> str:
        return self._description


class IsolatingResult(unittest.TestResult):
    """The base of both results: each test starts with no evidence and the signals'
    receivers noted, and ends with them given back and vinyl's pools closed (before
    Django's flush).

    In a parallel run the workers' results record the evidence; the main process's
    records it in a run in this process (--parallel=1) and stays empty otherwise.
    """

    def startTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        reset_evidence()
        remember_receivers()
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        close_vinyl()
        restore_receivers()
        super().stopTest(test)


class PoolClosingResult(IsolatingResult, django_runner.RemoteTestResult):
    """A worker's result.

    Errors travel to the main process as their formatted traceback: an exception that does
    not pickle (vinyl's or a test's) would otherwise stop Django's whole parallel run.
    """

    def _portable(self, test: Any, err: Any) -> Any:
        if err is None:
            return None
        text = unittest.TestResult._exc_info_to_string(self, err, test)
        return (RemoteError, RemoteError(with_evidence(text)), None)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, self._portable(test, err))

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addFailure(test, self._portable(test, err))

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        if err is not None:
            subtest = PortableSubTest(subtest)
        super().addSubTest(test, subtest, self._portable(test, err))

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addExpectedFailure(test, self._portable(test, err))


class PoolClosingRunner(django_runner.RemoteTestRunner):
    resultclass = PoolClosingResult


class ParallelSuite(django_runner.ParallelTestSuite):
    init_worker = _init_worker
    runner_class = PoolClosingRunner


class RecordingResult(IsolatingResult, unittest.TextTestResult):
    """The main process's result: every test's outcome, kept for the JSON file."""

    outcomes: dict[str, dict[str, str]] = {}

    def _record(self, test: Any, outcome: str, err: Any = None) -> None:
        entry = self.outcomes.setdefault(test.id(), {"outcome": outcome})
        if outcome == "fail" or entry["outcome"] != "fail":
            entry["outcome"] = outcome
        if err is not None and "message" not in entry:
            entry["message"] = _describe(err, self, test)

    def addSuccess(self, test: Any) -> None:  # noqa: N802
        super().addSuccess(test)
        self._record(test, "pass")

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        # Django marks a few tests as expected failures per backend: behaving as expected.
        super().addExpectedFailure(test, err)
        self._record(test, "pass")

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        super().addUnexpectedSuccess(test)
        self._record(test, "fail", "unexpected success")

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        super().addSkip(test, reason)
        self._record(test, "skip", f"skipped: {reason}")

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addFailure(test, err)
        self._record(test, "fail", err)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, err)
        self._record(test, "fail", err)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(test, "fail", err)


#: A failure's message is kept to its first and last characters: the error's first line
#: (assertNumQueries' "5 != 2 : ...") comes before a long list of queries, the evidence last.
MESSAGE_HEAD = 3000
MESSAGE_TAIL = 3000


def _shorten(text: str) -> str:
    if len(text) <= MESSAGE_HEAD + MESSAGE_TAIL:
        return text
    return text[:MESSAGE_HEAD] + "\n[...]\n" + text[-MESSAGE_TAIL:]


def _describe(err: Any, result: Any, test: Any) -> str:
    if isinstance(err, str):
        return err
    if isinstance(err[1], RemoteError):
        return _shorten(str(err[1]))
    try:
        text: str = result._exc_info_to_string(err, test)
    except Exception:  # a traceback that cannot be formatted still says what it was
        text = "".join(traceback.format_exception_only(err[0], err[1]))
    return _shorten(with_evidence(text))


class ParityRunner(django_runner.DiscoverRunner):
    """Django's runner, recording outcomes (and, in mode 3, installing vinyl's managers)."""

    parallel_test_suite = ParallelSuite

    def get_resultclass(self) -> Any:
        return RecordingResult

    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        suite = super().build_suite(*args, **kwargs)
        self._test_ids = [test.id() for test in django_runner.iter_test_cases(suite)]
        if MODE == "vinyl":
            from vinyl_parity import vinylize

            vinylize.install()
        return suite

    def setup_databases(self, **kwargs: Any) -> Any:
        config = super().setup_databases(**kwargs)
        point_vinyl_at_test_databases()
        return config

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        close_vinyl()
        super().teardown_databases(old_config, **kwargs)

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = super().run_suite(suite, **kwargs)
        self._write(time.monotonic() - started)
        return result

    def _write(self, seconds: float) -> None:
        path = os.environ.get("VINYL_PARITY_RESULTS")
        if not path:
            return
        data = {
            "mode": MODE,
            "vendor": connections["default"].vendor,
            "engine": settings.DATABASES["default"]["ENGINE"],
            "seconds": round(seconds, 1),
            "tests": self._test_ids,
            "outcomes": RecordingResult.outcomes,
        }
        with open(path, "w") as file:
            json.dump(data, file, indent=0, sort_keys=True)
        print(f"parity: {len(RecordingResult.outcomes)} outcomes -> {path}", file=sys.stderr)
