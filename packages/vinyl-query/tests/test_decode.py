"""Decoding's garbage-collector pause: on for large results only, always undone."""

from __future__ import annotations

import gc

import pytest
from vinyl.query.decode import PAUSE_COLLECTOR_ROWS, _collector_paused


def test_the_collector_pauses_for_many_rows_and_resumes() -> None:
    running: list[bool] = []
    paused = _collector_paused(lambda rows: running.append(gc.isenabled()) or list(rows))
    assert gc.isenabled()
    assert paused([1] * (PAUSE_COLLECTOR_ROWS - 1)) == [1] * (PAUSE_COLLECTOR_ROWS - 1)
    assert paused([2] * PAUSE_COLLECTOR_ROWS) == [2] * PAUSE_COLLECTOR_ROWS
    assert running == [True, False]
    assert gc.isenabled()


def test_the_collector_resumes_after_an_error() -> None:
    def fail(rows: object) -> list[object]:
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        _collector_paused(fail)([0] * PAUSE_COLLECTOR_ROWS)
    assert gc.isenabled()


def test_a_collector_the_program_stopped_stays_stopped() -> None:
    gc.disable()
    try:
        _collector_paused(list)([0] * PAUSE_COLLECTOR_ROWS)
        assert not gc.isenabled()
    finally:
        gc.enable()
