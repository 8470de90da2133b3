"""pytest on vinyl's fixtures, through Django's ``objects`` and vinyl.

Each test asserts exactly the rows it wrote: whichever runs second sees none of the first's.
"""

import pytest
from django.contrib.contenttypes.models import ContentType

from books.models import Author, Book


def test_sync_writes_through_objects_and_vinyl(vinyl_db: None) -> None:
    ada = Author.objects.create(name="Ada")
    Author.vinyl.create(name="Bob")
    Book.vinyl.create(title="Notes", author=ada)
    assert sorted(Author.objects.values_list("name", flat=True)) == ["Ada", "Bob"]
    assert sorted(a.name for a in Author.vinyl.all()) == ["Ada", "Bob"]
    assert list(Book.objects.values_list("title", flat=True)) == ["Notes"]
    assert ContentType.objects.filter(app_label="books").count() == 2


@pytest.mark.asyncio
async def test_async_writes_through_objects_and_vinyl(avinyl_db: None) -> None:
    ada = await Author.objects.acreate(name="Cy")
    await Author.avinyl.create(name="Dee")
    await Book.avinyl.create(title="Poems", author=ada)
    assert sorted([a.name async for a in Author.objects.all()]) == ["Cy", "Dee"]
    assert sorted(a.name for a in await Author.avinyl.all()) == ["Cy", "Dee"]
    assert [b.title async for b in Book.objects.all()] == ["Poems"]
    assert await ContentType.objects.filter(app_label="books").acount() == 2
