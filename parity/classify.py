"""The reasons a test may pass with Django and fail through vinyl, and how each is recognised.

Each reason is one of vinyl's documented differences (README, "Differences from Django",
numbered) or a named open item that points at an open issue. There is no "unknown": a
failure no rule recognises stops ``run.py --write-expectations``, which prints it so that a
rule (or a fix in vinyl) can be added. Stdlib only: ``run.py`` imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["REASONS", "Failure", "classify"]


@dataclass(frozen=True)
class Failure:
    """A test that passed in mode 1 and failed in the mode compared with it."""

    test: str
    message: str

    @property
    def app(self) -> str:
        return self.test.split(".", 1)[0]

    @property
    def evidence(self) -> dict[str, int]:
        """What the runner observed during the test (``vinyl_parity.vinylize.evidence``)."""
        found = EVIDENCE.search(self.message)
        return json.loads(found.group(1)) if found else {}

    @property
    def error(self) -> str:
        """The failure's last exception line (``AssertionError: ...``)."""
        message = EVIDENCE.sub("", self.message)
        lines = [line for line in message.strip().splitlines() if line and line[0] != " "]
        found = [line for line in lines if ERROR_LINE.match(line)]
        return found[-1] if found else (lines[-1] if lines else "")

    def observed(self, prefix: str) -> int:
        """Return how many events whose key starts with *prefix* the runner observed."""
        return sum(n for key, n in self.evidence.items() if key.startswith(prefix))


#: key -> what it means. Keys are what expectations.toml lists against each test.
REASONS: dict[str, str] = {
    "difference-1": "README difference 1: no lazy attributes (obj.rel always queries, obj['rel'] "
    "reads what was loaded, a deferred field is never fetched behind your back, a prefetched "
    "relation is a list)",
    "difference-3": "README difference 3: no chunked fetching (.iterator() raises "
    "NotSupportedError)",
    "difference-5": "README difference 5: vinyl keeps the compiled SQL of each query shape and "
    "compiles on a connection wrapper of its own, so Django's private Query of a vinyl queryset "
    "is not built or compiled as Django's would be (a test that inspects qs.query or mocks "
    "Query's methods), vinyl's writes do not go through Django's private QuerySet methods (a "
    "test that patches _update()), patching Django's connection object (connection.features, "
    "connection.ops) changes nothing for vinyl, and the SQL logged is vinyl's (on PostgreSQL a "
    "bare value is cast to its type, (2)::integer, as asyncpg's parameters need)",
    "instance-class": "README 'Types': vinyl's instances are of a subclass of the model that "
    "carries its eager descriptors, so type(obj) is not the model class",
    "manager-introspection": "README 'Types' (deliberate, issue 13): a vinyl manager's "
    "methods are written out, typed, with vinyl's docstrings (inspect.signature() shows their "
    "annotations), where Django copies its untyped QuerySet method's signature and docstring "
    "onto the manager",
    "django-a-methods": "README difference 9: Django's thread-based a* methods (acreate()...) "
    "on a vinyl_sync manager or queryset are refused, naming vinyl's own method",
    "difference-2": "README difference 2: no signals (the test connected a receiver to a "
    "model signal and a vinyl write sent none)",
    "difference-6": "README difference 6: a model's own save()/delete() is not run (vinyl "
    "wrote natively and skipped the override, with an OverriddenMethodWarning)",
    "engine-sql": "issue 14, vinyl's ENGINE changes Django's own SQL (Django's managers on "
    "vinyl.postgresql_backend / vinyl.mysql_backend)",
}

Rule = Callable[[Failure], bool]

#: An exception's line in a traceback: "AssertionError: ...", "app.models.M.DoesNotExist: ...".
ERROR_LINE = re.compile(r"[\w.]+(Error|Exception|DoesNotExist)\b")

#: The line the test runner appends to a failing test's message in mode 3.
EVIDENCE = re.compile(r"^parity-evidence: (\{.*\})$", re.MULTILINE)
#: assertNumQueries' message: "5 != 2 : 5 queries executed, 2 expected".
NUM_QUERIES = re.compile(r"(\d+) != (\d+) : \d+ queries executed, \d+ expected")


def _message(*patterns: str) -> Rule:
    compiled = [re.compile(pattern) for pattern in patterns]
    return lambda failure: any(pattern.search(failure.message) for pattern in compiled)


#: Tests no pattern recognises, each read and given its reason by hand (test id suffix ->
#: key), with why. Keep it short: a new entry needs the failure read, not guessed.
CURATED: dict[str, str] = {
    # Django copies QuerySet.get's docstring and bulk_create's (untyped) signature onto the
    # manager; vinyl's manager methods are written out, typed, with vinyl's docstrings.
    "basic.tests.ManagerTest.test_manager_method_attributes": "manager-introspection",
    "basic.tests.ManagerTest.test_manager_method_signature": "manager-introspection",
    # [206, 204, 205, 203] != [206, 205, 204, 203]: the test patches bulk_batch_size() on
    # Django's connection to read in batches of 2; vinyl's wrapper reads all in one.
    "lookup.tests.LookupTests.test_in_bulk_preserve_ordering_with_batch_size": "difference-5",
    # '2 > 1' not found in '... WHERE (2)::integer > (1)::integer': vinyl's SQL casts a
    # bare value on PostgreSQL (asyncpg needs its type), where Django's writes it bare.
    "lookup.tests.LookupTests.test_lookup_direct_value_rhs_unwrapped": "difference-5",
    # 'House' object has no attribute 'rooms_lst': traverse_qs() reads the flattened
    # Prefetch("houses__rooms", to_attr="rooms_lst") through person.houses.all(), which
    # Django answers from the prefetch (houses carrying rooms_lst) and vinyl's related
    # manager queries again (the prefetched houses are person["houses"], with rooms_lst).
    # Read vinyl's way (obj["rel"]), every other assertion passes (the nested Prefetch
    # to_attr ones, the counts) but those of the same difference (house.owner, room.house
    # queried where Django reads its cache).
    "prefetch_related.tests.CustomPrefetchTests.test_custom_qs": "difference-1",
    # A pre_delete receiver repoints the DO_NOTHING key before the delete; vinyl sends no
    # pre_delete, so the server refuses the delete (IntegrityError), as the test's comment
    # says Django would without the receiver.
    "delete.tests.OnDeleteTests.test_do_nothing": "difference-2",
    # A post_delete receiver makes Django's Collector give up its fast delete of the users
    # (a SELECT, then the DELETE); vinyl sends no signal, so it deletes them fast: 1 query
    # less than the test counts (2 less on MariaDB, which cannot defer the checks).
    "delete.tests.DeletionTests.test_can_defer_constraint_checks": "difference-2",
    "delete.tests.DeletionTests.test_cannot_defer_constraint_checks": "difference-2",
    # The test patches Django's private QuerySet._update() (through _base_manager) to
    # report no matched row; vinyl's save() writes natively, without calling it.
    "basic.tests.SelectOnSaveTests.test_select_on_save_lying_update": "difference-5",
    # Django's NestedObjects (its Collector) reads obj.baseuser_ptr, the parent link, which
    # Django builds from the child's loaded fields; vinyl's obj.rel queries (1 query more).
    "proxy_models.tests.ProxyModelAdminTests.test_cascade_delete_proxy_model_admin_warning": (
        "difference-1"
    ),
    # mock.patch.object(connection.features, "supports_foreign_keys", False): Django then
    # keeps the JOIN in count()/exists(); vinyl's features are its own wrapper's.
    "many_to_many.tests.ManyToManyQueryTests.test_count_join_optimization_disabled": (
        "difference-5"
    ),
    "many_to_many.tests.ManyToManyQueryTests.test_exists_join_optimization_disabled": (
        "difference-5"
    ),
    # The prefetched publications: Django's count()/exists() answer from the prefetch (0
    # queries); vinyl's related manager queries (a prefetched relation is obj["rel"]).
    "many_to_many.tests.ManyToManyQueryTests."
    "test_prefetch_related_no_queries_optimization_disabled": "difference-1",
    # mock.patch.object(connections[qs.db].features, "can_use_chunked_reads", False) around
    # qs.query.get_compiler(...).execute_sql(): the compiler of a vinyl queryset's query
    # reads its own wrapper's features (MariaDB; a generator, not a list).
    "queries.test_iterator.QuerySetIteratorTests.test_no_chunked_reads": "difference-5",
    # type(Place.objects.get(...)) is Place.
    "model_inheritance.tests.ModelInheritanceDataTests."
    "test_filter_on_parent_returns_object_of_parent_type": "instance-class",
    # Mocked Query.add_q is called differently; len(qs.query.alias_map) is 0 after a read.
    "prefetch_related.tests.CustomPrefetchTests.test_filter_deferred": "difference-5",
    "prefetch_related.tests.PrefetchRelatedTests.test_filter_deferred": "difference-5",
    "queries.tests.Queries1Tests.test_tickets_2076_7256": "difference-5",
    # Django's related-object cache: `parent.bestchild` (None) then is_cached() is True, and
    # a multi-table parent reuses the child's cached `place`; vinyl's obj.rel never fills
    # Django's cache (it queries every time).
    "many_to_one.tests.ManyToOneTests.test_assign_fk_id_none": "difference-1",
    "many_to_one.tests.ManyToOneTests.test_assign_fk_id_value": "difference-1",
    "one_to_one.tests.OneToOneTests.test_assign_o2o_id_none": "difference-1",
    "one_to_one.tests.OneToOneTests.test_assign_o2o_id_value": "difference-1",
    "model_inheritance.tests.ModelInheritanceDataTests.test_parent_cache_reuse": "difference-1",
    # fetched.old, which select_related() loaded, is queried again: the model's from_db() of
    # the old signature warns then, outside the test's assertWarnsMessage().
    "basic.tests.ModelFromDbTests.test_old_signature_select_related": "difference-1",
}


def _curated(failure: Failure) -> str | None:
    return CURATED.get(failure.test)


def _excess_queries(failure: Failure) -> int:
    """Return how many more queries than expected assertNumQueries saw (0 if not that)."""
    found = NUM_QUERIES.search(failure.message)
    return int(found.group(1)) - int(found.group(2)) if found else 0


def _asserted(failure: Failure) -> bool:
    """The test's own assertion failed (not an error raised by the code under test)."""
    error = failure.error
    return error.startswith("AssertionError") or error.endswith(" not raised")


def _requeried(failure: Failure) -> bool:
    """The test read a relation Django reads from its cache, and vinyl queried it.

    The runner observed it (``difference-1`` evidence); the failure is what that changes:
    more queries than Django's, or an assertion about the objects read (a new object where
    Django returns the cached one, a row read again after a change Django does not see).
    """
    if not failure.observed("difference-1"):
        return False
    error = failure.error
    return (
        _excess_queries(failure) > 0
        or error.startswith("AssertionError")
        # Django's cache held the object (or None); vinyl's query found none / no row.
        or "matching query does not exist" in error
        or error.startswith("AttributeError: 'NoneType' object has no attribute")
        # Django's cache held the object; FETCH_RAISE blocks vinyl's query of it.
        or error.startswith("django.core.exceptions.FieldFetchBlocked")
    )


#: (key, rule), first match wins; the order puts the most specific first.
RULES: list[tuple[str, Rule]] = [
    # Read by hand; before the patterns, which would give some of them a weaker reason.
    ("curated", lambda failure: _curated(failure) is not None),
    # The test listened to a model signal and a vinyl write sent none; or a model's own
    # save()/delete() did work (a field set, a row written) that vinyl skipped.
    (
        "difference-2",
        lambda failure: (
            failure.observed("difference-2") > 0
            and _asserted(failure)
            and not NUM_QUERIES.search(failure.message)
        ),
    ),
    ("difference-6", lambda failure: failure.observed("difference-6") > 0),
    ("difference-3", _message(r"iterator\(\) is not supported")),
    (
        "difference-1",
        _message(
            r"was not loaded: add select_related",
            r"was not fetched \(only\(\)/defer\(\) left it out\)",
            r"was not fetched \(the query that loaded this \w+ left it out",
            r"'list' object has no attribute",
        ),
    ),
    ("difference-1", _requeried),
    ("django-a-methods", _message(r"is Django's thread-based async API")),
]


def classify(failure: Failure) -> str | None:
    """Return the key of *failure*'s reason, or ``None`` when no rule recognises it."""
    for key, rule in RULES:
        if rule(failure):
            return _curated(failure) if key == "curated" else key
    return None
