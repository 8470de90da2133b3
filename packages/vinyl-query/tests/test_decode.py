"""Decoding: the garbage-collector pause (large results only, always undone); instances' dicts."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db.models.base import ModelState
from vinyl.query.decode import PAUSE_COLLECTOR_ROWS, _collector_paused, _written_loader


def test_the_collector_pauses_for_many_rows_and_resumes() -> None:
    running: list[bool] = []

    def decode_rows(rows: Sequence[Sequence[Any]]) -> list[Any]:
        running.append(gc.isenabled())
        return list(rows)

    paused = _collector_paused(decode_rows)
    assert gc.isenabled()
    assert paused([(1,)] * (PAUSE_COLLECTOR_ROWS - 1)) == [(1,)] * (PAUSE_COLLECTOR_ROWS - 1)
    assert paused([(2,)] * PAUSE_COLLECTOR_ROWS) == [(2,)] * PAUSE_COLLECTOR_ROWS
    assert running == [True, False]
    assert gc.isenabled()


def test_the_collector_resumes_after_an_error() -> None:
    def fail(rows: object) -> list[object]:
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        _collector_paused(fail)([(0,)] * PAUSE_COLLECTOR_ROWS)
    assert gc.isenabled()


def test_a_collector_the_program_stopped_stays_stopped() -> None:
    gc.disable()
    try:
        _collector_paused(list)([(0,)] * PAUSE_COLLECTOR_ROWS)
        assert not gc.isenabled()
    finally:
        gc.enable()


_FIELDS = ("id", "title", "author_id", "pages", "price", "published")


def _book_class() -> type:
    """Return a new class whose ``__init__`` fills an instance as Django's does."""

    class Book:
        def __init__(self, *values: object) -> None:
            state = ModelState()
            state.adding = False
            state.db = "db"
            self._state = state
            for name, value in zip(_FIELDS, values, strict=True):
                if name == "author_id":
                    # As Django's ForeignKeyDeferredAttribute stores it.
                    self.__dict__[name] = value
                else:
                    setattr(self, name, value)

    return Book


def _bytes_each(build: Callable[[], list[object]]) -> float:
    """Return the memory each object *build* returns holds, as tracemalloc counts it."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        objects = build()
        return (tracemalloc.get_traced_memory()[0] - start) / len(objects)
    finally:
        tracemalloc.stop()


def test_instances_take_no_more_memory_than_djangos() -> None:
    # The values of each row are shared (small ints), so what is counted is the instances.
    rows = [(1, "title", 2, 300, 4, 5)] * 1000
    untouched = _book_class()
    by_init = _bytes_each(lambda: [untouched(*row) for row in rows])
    book = _book_class()
    # Which instances of a class are built first decides whether Python's table of keys
    # shared by their dicts holds: vinyl's first, then Django's.
    _, load_rows = _written_loader(book, _FIELDS, (), None)
    loaded = _bytes_each(lambda: load_rows("db", rows))
    after = _bytes_each(lambda: [book(*row) for row in rows])

    stored = vars(load_rows("db", rows[:1])[0])
    assert list(stored) == ["_state", *_FIELDS]
    assert [stored[name] for name in _FIELDS] == list(rows[0])
    assert loaded <= by_init + 8
    assert after <= by_init + 8
