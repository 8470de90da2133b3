"""vinyl's reads with the types mypy --strict infers for them, in both flavors.

The quality gates of ``.ci/run`` type-check this module, then ``check_missing_await.py``
removes the ``await`` of each line marked ``# missing-await check``, one at a time, and
expects mypy to reject that line: a forgotten ``await`` is a type error, not a coroutine
that silently never runs.
"""

from typing import Any, assert_type

from typed_example.models import Author


async def read_async(pk: int) -> tuple[Author, int, Author | None, list[Author], list[Any]]:
    """Read through ``vinyl_async``: every read is awaited."""
    author = assert_type(await Author.vinyl.get(pk=pk), Author)  # missing-await check
    count = assert_type(await Author.vinyl.count(), int)  # missing-await check
    first = assert_type(await Author.vinyl.first(), Author | None)  # missing-await check
    some = Author.vinyl.filter(name__startswith="A")
    authors = assert_type(await some, list[Author])  # missing-await check
    names: list[Any] = await Author.vinyl.values_list("name", flat=True)  # missing-await check
    async for each in Author.vinyl.filter(pk__gt=pk).order_by("name"):
        assert_type(each, Author)
    return author, count, first, authors, names


def read_sync(pk: int) -> tuple[Author, int, Author | None, list[Author], list[Any]]:
    """Read the same through ``vinyl_sync``: the same calls without ``await``."""
    author = assert_type(Author.sync_vinyl.get(pk=pk), Author)
    count = assert_type(Author.sync_vinyl.count(), int)
    first = assert_type(Author.sync_vinyl.first(), Author | None)
    authors = assert_type([a for a in Author.sync_vinyl.filter(name__startswith="A")], list[Author])
    names: list[Any] = list(Author.sync_vinyl.values_list("name", flat=True))
    for each in Author.sync_vinyl.filter(pk__gt=pk).order_by("name"):
        assert_type(each, Author)
    return author, count, first, authors, names
