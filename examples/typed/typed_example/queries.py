"""vinyl's reads and writes with the types mypy --strict infers for them, in both flavors.

With vinyl's mypy plugin (the root pyproject.toml enables it), what vinyl reads is a vinyl
instance, ``vinyl_async.Instance[Author]``: the subclass of ``Author`` with vinyl's
``save()``, relations and ``obj[name]`` that it is at run time.

The quality gates of ``.ci/run`` type-check this module, then ``check_missing_await.py``
removes the ``await`` of each line marked ``# missing-await check``, one at a time, and
expects mypy to reject that line: a forgotten ``await`` is a type error, not a coroutine
that silently never runs.
"""

from typing import Any, assert_type

import vinyl_async
import vinyl_sync
from vinyl.model._async.related_managers import ReverseForeignKeyManager
from vinyl.model._sync import related_managers as sync_related_managers

from typed_example.models import Author, Book

type AsyncAuthor = vinyl_async.Instance[Author]
type SyncAuthor = vinyl_sync.Instance[Author]


async def read_async(
    pk: int,
) -> tuple[AsyncAuthor, int, AsyncAuthor | None, list[AsyncAuthor], list[Any]]:
    """Read through ``vinyl_async``: every read is awaited."""
    author = assert_type(await Author.vinyl.get(pk=pk), AsyncAuthor)  # missing-await check
    count = assert_type(await Author.vinyl.count(), int)  # missing-await check
    first = assert_type(await Author.vinyl.first(), AsyncAuthor | None)  # missing-await check
    some = Author.vinyl.filter(name__startswith="A")
    authors = assert_type(await some, list[AsyncAuthor])  # missing-await check
    names: list[Any] = await Author.vinyl.values_list("name", flat=True)  # missing-await check
    async for each in Author.vinyl.filter(pk__gt=pk).order_by("name"):
        assert_type(each, AsyncAuthor)
    return author, count, first, authors, names


def read_sync(pk: int) -> tuple[SyncAuthor, int, SyncAuthor | None, list[SyncAuthor], list[Any]]:
    """Read the same through ``vinyl_sync``: the same calls without ``await``."""
    author = assert_type(Author.sync_vinyl.get(pk=pk), SyncAuthor)
    count = assert_type(Author.sync_vinyl.count(), int)
    first = assert_type(Author.sync_vinyl.first(), SyncAuthor | None)
    authors = assert_type(
        [a for a in Author.sync_vinyl.filter(name__startswith="A")], list[SyncAuthor]
    )
    names: list[Any] = list(Author.sync_vinyl.values_list("name", flat=True))
    for each in Author.sync_vinyl.filter(pk__gt=pk).order_by("name"):
        assert_type(each, SyncAuthor)
    return author, count, first, authors, names


async def write_async(author: AsyncAuthor) -> vinyl_async.Instance[Book]:
    """Write through ``vinyl_async``: an instance's writes are vinyl's, and awaited."""
    author.name = "Ada"
    assert_type(await author.save(update_fields=["name"]), None)  # missing-await check
    await author.refresh_from_db(fields=["name"])  # missing-await check
    book = assert_type(Book.vinyl.new(title="Notes", author=author), vinyl_async.Instance[Book])
    await book.save()  # missing-await check
    created = await Book.vinyl.create(title="Sketches", author=author)
    assert_type(created, vinyl_async.Instance[Book])
    assert_type(await created.delete(), tuple[int, dict[str, int]])  # missing-await check
    # bulk_create() takes Django's instances too, and returns what it was given.
    drafts = [Book(title="Drafts", author=author)]
    assert_type(await Book.vinyl.bulk_create(drafts), list[Book])  # missing-await check
    return book


async def relations_async(book: vinyl_async.Instance[Book]) -> None:
    """A relation always queries: an awaitable of the related vinyl instance, or a manager."""
    author = assert_type(await book.author, AsyncAuthor)  # missing-await check
    assert_type(await book.editor, AsyncAuthor | None)  # missing-await check
    books = assert_type(author.books, ReverseForeignKeyManager[vinyl_async.Instance[Book]])
    assert_type(await books.count(), int)  # missing-await check
    assert_type(await books.filter(title__startswith="N"), list[vinyl_async.Instance[Book]])
    assert_type(await books.create(title="Notes"), vinyl_async.Instance[Book])
    # What select_related()/prefetch_related() loaded, read without a query.
    loaded = await Book.vinyl.select_related("author", "editor").get(pk=book.pk)
    assert_type(loaded["author"], AsyncAuthor)
    assert_type(loaded["editor"], AsyncAuthor | None)
    with_books = await Author.vinyl.prefetch_related("books").get(pk=author.pk)
    assert_type(with_books["books"], list[vinyl_async.Instance[Book]])


def relations_sync(book: vinyl_sync.Instance[Book]) -> None:
    """The same in ``vinyl_sync``: a relation returns the related vinyl instance."""
    author = assert_type(book.author, SyncAuthor)
    assert_type(book.editor, SyncAuthor | None)
    assert_type(
        author.books, sync_related_managers.ReverseForeignKeyManager[vinyl_sync.Instance[Book]]
    )
    assert_type(
        author.edited,
        sync_related_managers.NullableReverseForeignKeyManager[vinyl_sync.Instance[Book]],
    )
    assert_type(author.books.get(pk=book.pk), vinyl_sync.Instance[Book])
    author.name = "Ada"
    assert_type(author.save(), None)
    assert_type(author.delete(), tuple[int, dict[str, int]])
    assert_type(Book.sync_vinyl.new(title="Notes", author=author), vinyl_sync.Instance[Book])
