"""The reasons a test may pass with Django and fail through vinyl, and how each is recognised.

Each reason is one of vinyl's documented differences (README, "Differences from Django",
numbered) or a named open item that points at an open issue. There is no "unknown": a
failure no rule recognises stops ``run.py --write-expectations``, which prints it so that a
rule (or a fix in vinyl) can be added. Stdlib only: ``run.py`` imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["REASONS", "Failure", "classify"]


@dataclass(frozen=True)
class Failure:
    """A test that passed in mode 1 and failed in the mode compared with it."""

    test: str
    message: str
    #: Whether it failed in the control run too (vinyl's ENGINE, Django's managers, the
    #: same isolation as mode 3); ``None`` when the control did not run.
    fails_in_control: bool | None = None

    @property
    def app(self) -> str:
        return self.test.split(".", 1)[0]


#: key -> what it means. Keys are what expectations.toml lists against each test.
REASONS: dict[str, str] = {
    "difference-1": "README difference 1: no lazy attributes (obj.rel always queries, obj['rel'] "
    "reads what was loaded, a deferred field is never fetched behind your back, a prefetched "
    "relation is a list)",
    "difference-3": "README difference 3: no chunked fetching (.iterator() raises "
    "NotSupportedError)",
    "isolation": "issue 14, isolation: fails in the control run too (vinyl's ENGINE, Django's "
    "managers, no per-test transaction, which vinyl's own connections need)",
    "query-counting": "issue 14, assertNumQueries / CaptureQueriesContext do not count vinyl's "
    "statements",
    "custom-managers": "issue 14, custom managers and querysets (VinylManager.from_queryset)",
    "manager-methods": "issue 14, a Django manager or related-manager method vinyl's managers "
    "lack (extra(), reverse(), manager(...) on a related manager...)",
    "fetch-modes": "issue 14, Django 6.1 fetch modes (fetch_mode(), FETCH_PEERS, RAISE)",
    "known-related-objects": "issue 14, objects read through a relation do not know the "
    "instance they came from (known_related_objects)",
    "django-a-methods": "issue 14, Django's thread-based a* methods (acreate()...) on a "
    "vinyl_sync manager: vinyl refuses them and names its own API",
    "writes": "issue 15, writes: the runner's fallback runs them through Django on Django's "
    "connection, outside what vinyl reads (their data or their transaction)",
    "engine-sql": "issue 14, vinyl's ENGINE changes Django's own SQL (Django's managers on "
    "vinyl.postgresql_backend / vinyl.mysql_backend)",
}

Rule = Callable[[Failure], bool]


def _message(*patterns: str) -> Rule:
    compiled = [re.compile(pattern) for pattern in patterns]
    return lambda failure: any(pattern.search(failure.message) for pattern in compiled)


#: Django's QuerySet methods: a missing one on a vinyl manager is a vinyl gap, any other
#: missing name a custom manager's or queryset's method.
DJANGO_QUERYSET_METHODS = frozenset(
    "aggregate alias all annotate bulk_create bulk_update complex_filter contains count create "
    "dates datetimes defer delete difference distinct earliest exclude exists explain extra "
    "fetch_mode filter first get get_or_create in_bulk intersection iterator last latest none "
    "only order_by prefetch_related raw reverse select_for_update select_related union update "
    "update_or_create using values values_list".split()
)
_MISSING = re.compile(
    r"'(?:VinylManager|RelatedManager|\w+Manager)' object has no attribute '(\w+)'"
)


def _missing_method(failure: Failure) -> str | None:
    found = _MISSING.search(failure.message)
    return found.group(1) if found else None


#: (key, rule), first match wins; the order puts the most specific first.
RULES: list[tuple[str, Rule]] = [
    ("isolation", lambda failure: bool(failure.fails_in_control)),
    ("fetch-modes", _message(r"fetch_mode|FETCH_PEERS|fetch mode")),
    ("difference-3", _message(r"iterator\(\) is not supported")),
    (
        "difference-1",
        _message(
            r"was not loaded: add select_related",
            r"was not fetched \(only\(\)/defer\(\) left it out\)",
            r"'list' object has no attribute",
        ),
    ),
    (
        "query-counting",
        _message(
            r"queries executed, \d+ expected",
            r"\d+ != \d+ : \d+ queries",
            # CaptureQueriesContext's SQL, which a test searches for a value.
            r"AssertionError: .* not found in '(SELECT|UPDATE|DELETE|INSERT)",
        ),
    ),
    ("django-a-methods", _message(r"is Django's thread-based async API")),
    ("writes", _message(r"is not available through vinyl yet")),
    (
        "manager-methods",
        lambda failure: (
            (_missing_method(failure) or "") in DJANGO_QUERYSET_METHODS
            or "'RelatedManager' object is not callable" in failure.message
        ),
    ),
    (
        "custom-managers",
        lambda failure: (
            _missing_method(failure) is not None
            or "object layout differs from 'VinylQuerySet'" in failure.message
        ),
    ),
    (
        "known-related-objects",
        lambda failure: (
            failure.app == "known_related_objects"
            and re.search(r"AssertionError: <\w+: .*> is not <", failure.message) is not None
        ),
    ),
]


def classify(failure: Failure) -> str | None:
    """Return the key of *failure*'s reason, or ``None`` when no rule recognises it."""
    for key, rule in RULES:
        if rule(failure):
            return key
    return None
