"""The transaction state machine alone: which statement each block sends."""

from __future__ import annotations

import logging

import pytest
from django.db.transaction import TransactionManagementError
from vinyl.query.transaction import TransactionStack, TransactionState, call_now


def state_of(stack: TransactionStack) -> TransactionState:
    """Return the stack's state (read through a call, so each read is a fresh one for mypy)."""
    return stack.state


def test_blocks_nest_with_savepoints_and_commit_at_the_outermost() -> None:
    stack = TransactionStack()
    assert stack.begin() == "BEGIN"
    assert stack.begin() == "SAVEPOINT vinyl_s1"
    assert stack.begin(savepoint=False) is None
    assert stack.begin() == "SAVEPOINT vinyl_s2"
    assert stack.depth == 4
    assert stack.end(failed=True) == "ROLLBACK TO SAVEPOINT vinyl_s2"
    assert stack.end(failed=False) is None
    assert stack.end(failed=False) == "RELEASE SAVEPOINT vinyl_s1"
    assert stack.end(failed=False) == "COMMIT"
    assert stack.state is TransactionState.IDLE


def test_a_failed_block_without_savepoint_makes_the_enclosing_one_roll_back() -> None:
    stack = TransactionStack()
    stack.begin()
    stack.begin()
    stack.begin(savepoint=False)
    assert stack.end(failed=True) is None
    assert state_of(stack) is TransactionState.NEEDS_ROLLBACK
    with pytest.raises(TransactionManagementError, match="You can't execute queries"):
        stack.check_usable()
    # Even when the body swallowed the error, the block with a savepoint rolls back.
    assert stack.end(failed=False) == "ROLLBACK TO SAVEPOINT vinyl_s1"
    assert state_of(stack) is TransactionState.ACTIVE
    assert stack.end(failed=False) == "COMMIT"


def test_a_block_marked_for_rollback_rolls_back_even_when_it_ends_without_error() -> None:
    stack = TransactionStack()
    stack.begin()
    stack.begin()
    stack.mark_for_rollback()
    with pytest.raises(TransactionManagementError, match="You can't execute queries"):
        stack.check_usable()
    assert stack.end(failed=False) == "ROLLBACK TO SAVEPOINT vinyl_s1"
    assert state_of(stack) is TransactionState.ACTIVE
    stack.mark_for_rollback()
    assert stack.end(failed=False) == "ROLLBACK"
    # A broken connection stays broken: only discarding it ends the transaction.
    stack.begin()
    stack.broken()
    stack.mark_for_rollback()
    assert state_of(stack) is TransactionState.BROKEN


def test_durable_blocks_only_open_outermost() -> None:
    stack = TransactionStack()
    assert stack.begin(durable=True) == "BEGIN"
    with pytest.raises(RuntimeError, match="durable atomic block cannot be nested"):
        stack.begin(durable=True)
    assert stack.depth == 1


def test_callbacks_wait_for_the_outermost_commit_and_die_with_their_block() -> None:
    stack = TransactionStack()
    stack.begin()
    stack.add_callback(lambda: "kept")
    stack.begin()
    stack.add_callback(lambda: "dropped")
    stack.end(failed=True)
    stack.begin()
    stack.add_callback(lambda: "released")
    stack.end(failed=False)
    assert stack.end(failed=False) == "COMMIT"
    assert [func() for func, _ in stack.take_callbacks()] == ["kept", "released"]
    assert stack.take_callbacks() == []


def test_a_broken_connection_sends_nothing_more() -> None:
    stack = TransactionStack()
    stack.begin()
    stack.begin()
    stack.add_callback(print)
    stack.broken()
    assert stack.end(failed=True) is None
    assert stack.end(failed=False) is None
    assert stack.state is TransactionState.BROKEN
    assert stack.take_callbacks() == []


def test_a_callback_run_now_logs_its_error_when_robust(caplog: pytest.LogCaptureFixture) -> None:
    def fails() -> None:
        raise ValueError("nope")

    with caplog.at_level(logging.ERROR):
        call_now(fails, robust=True, alias="vinyl_pg")
    assert [r.getMessage() for r in caplog.records] == [
        "Error calling test_a_callback_run_now_logs_its_error_when_robust.<locals>.fails in "
        "on_commit() (nope)."
    ]
    with pytest.raises(ValueError, match="nope"):
        call_now(fails, robust=False, alias="vinyl_pg")


def test_a_callback_run_now_cannot_return_an_awaitable() -> None:
    async def later() -> None:
        pass

    with pytest.raises(TypeError, match=r"outside any transaction\(using='vinyl_pg'\) block"):
        call_now(lambda: later(), robust=True, alias="vinyl_pg")


def test_callbacks_belong_to_the_block_of_the_task_that_registered_them() -> None:
    stack = TransactionStack()
    stack.begin()
    stack.add_callback(lambda: "outer, first")
    # A task's savepoint is open; a sibling task, in the outermost block, registers.
    stack.begin()
    stack.add_callback(lambda: "savepoint")
    stack.add_callback(lambda: "sibling", level=0)
    assert stack.end(failed=True) == "ROLLBACK TO SAVEPOINT vinyl_s1"
    stack.begin()
    stack.add_callback(lambda: "released")
    stack.add_callback(lambda: "sibling, later", level=0)
    stack.end(failed=False)
    stack.add_callback(lambda: "outer, last")
    assert stack.end(failed=False) == "COMMIT"
    assert [func() for func, _ in stack.take_callbacks()] == [
        "outer, first",
        "sibling",
        "released",
        "sibling, later",
        "outer, last",
    ]
