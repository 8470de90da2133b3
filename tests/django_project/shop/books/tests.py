"""``manage.py test books.tests``: vinyl's ``TestCase``, and Django's for vinyl_sync.

Each test asserts exactly the rows it wrote: whichever runs second sees none of the first's.
"""

from functools import partial

from django import test as django_test
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from vinyl_async.testing import TestCase
from vinyl_sync import on_commit
from vinyl_sync import transaction as vinyl_transaction

from books.models import Author, Book


class BooksTests(TestCase):
    ada: Author

    @classmethod
    def setUpTestData(cls) -> None:
        cls.ada = Author.objects.create(name="Ada")

    def test_sync_writes_through_objects_and_vinyl(self) -> None:
        Author.vinyl.create(name="Bob")
        Book.objects.create(title="Notes", author=self.ada)
        Book.vinyl.create(title="Sketches", author=self.ada)
        self.assertEqual(sorted(Author.objects.values_list("name", flat=True)), ["Ada", "Bob"])
        self.assertEqual(sorted(a.name for a in Author.vinyl.all()), ["Ada", "Bob"])
        self.assertEqual(sorted(Book.vinyl.values_list("title", flat=True)), ["Notes", "Sketches"])
        self.assertEqual(Book.objects.count(), 2)
        # The migrations' rows came back after the previous test emptied the tables.
        self.assertEqual(ContentType.objects.filter(app_label="books").count(), 2)
        with self.assertNumQueries(1, using="vinyl"):
            Author.vinyl.count()

    async def test_async_writes_through_objects_and_vinyl(self) -> None:
        await Author.avinyl.create(name="Cy")
        await Book.objects.acreate(title="Poems", author=self.ada)
        await Book.avinyl.create(title="Letters", author=self.ada)
        self.assertEqual(sorted([a.name async for a in Author.objects.all()]), ["Ada", "Cy"])
        self.assertEqual(sorted(a.name for a in await Author.avinyl.all()), ["Ada", "Cy"])
        titles = await Book.avinyl.values_list("title", flat=True)
        self.assertEqual(sorted(titles), ["Letters", "Poems"])
        self.assertEqual(await Book.objects.acount(), 2)
        self.assertEqual(await ContentType.objects.filter(app_label="books").acount(), 2)


class DjangoTestCaseTests(django_test.TestCase):
    """Django's own ``TestCase``: vinyl_sync joins its per-test transaction on ``default``.

    The vinyl alias is ``default``'s test mirror, so vinyl_sync sees the rows the test
    wrote through Django, and what it writes rolls back with the test.
    """

    databases = {"default", "vinyl"}
    ada: Author

    @classmethod
    def setUpTestData(cls) -> None:
        cls.ada = Author.objects.create(name="Ada")

    def test_vinyl_sync_sees_the_tests_rows_and_rolls_back_with_them(self) -> None:
        self._write_and_check("Eve")

    def test_the_same_again_sees_none_of_the_other_tests_rows(self) -> None:
        self._write_and_check("Fay")

    def test_the_tests_own_atomic_on_the_vinyl_alias_is_joined_as_django_runs_there(
        self,
    ) -> None:
        # Opened by the test on the vinyl alias itself: vinyl_sync joins that block, on the
        # alias's own connection, which sees none of the test's rows on default, as Django's
        # statements through the alias.
        with transaction.atomic(using="vinyl"):
            for name in ("Mirror", "Again"):
                self.assertEqual(
                    [a.name for a in Author.vinyl.order_by("name")],
                    list(
                        Author.objects.using("vinyl")
                        .order_by("name")
                        .values_list("name", flat=True)
                    ),
                )
                Author.vinyl.create(name=name)
            self.assertEqual(
                sorted(Author.objects.using("vinyl").values_list("name", flat=True)),
                ["Again", "Mirror"],
            )
        self.assertEqual(list(Author.objects.values_list("name", flat=True)), ["Ada"])

    def test_on_commit_on_the_vinyl_alias_is_captured_there_as_djangos(self) -> None:
        # Django's on_commit(using="vinyl") registers on the mirror's own connection, so
        # captureOnCommitCallbacks(using="vinyl") captures it, not using="default"; vinyl_sync's
        # callbacks go there too, kept or dropped with vinyl's transaction() as with Django's
        # atomic() on the alias.
        for name in ("Gil", "Hal"):
            expected = [partial(print, name, kind) for kind in ("vinyl", "django", "kept")]
            dropped = partial(print, name, "dropped")
            with (
                self.captureOnCommitCallbacks(using="vinyl") as on_vinyl,
                self.captureOnCommitCallbacks(using="default") as on_default,
            ):
                Author.vinyl.create(name=name)
                on_commit(expected[0], using="vinyl")
                transaction.on_commit(expected[1], using="vinyl")
                with self.assertRaises(RuntimeError), vinyl_transaction(using="vinyl"):
                    Author.vinyl.create(name=f"{name} rolled back")
                    on_commit(dropped, using="vinyl")
                    raise RuntimeError("roll back")
                with vinyl_transaction(using="vinyl"):
                    on_commit(expected[2], using="vinyl")
            self.assertEqual(on_vinyl, expected)
            self.assertEqual(on_default, [])
            # Its savepoint is in the alias's query log too, as Django's atomic()'s there.
            with self.assertNumQueries(3, using="vinyl"), transaction.atomic(using="vinyl"):
                Author.objects.using("vinyl").count()
            with self.assertNumQueries(3, using="vinyl"), vinyl_transaction(using="vinyl"):
                self.assertEqual(Author.vinyl.filter(name=name).count(), 1)
        self.assertEqual(sorted(a.name for a in Author.vinyl.all()), ["Ada", "Gil", "Hal"])

    def _write_and_check(self, name: str) -> None:
        self.assertEqual([a.name for a in Author.vinyl.all()], ["Ada"])
        Author.vinyl.create(name=name)
        Book.vinyl.create(title=f"{name}'s notes", author=self.ada)
        self.assertEqual(sorted(Author.objects.values_list("name", flat=True)), ["Ada", name])
        self.assertEqual(Book.objects.get().title, f"{name}'s notes")
        with self.assertNumQueries(1, using="vinyl"):
            self.assertEqual(Author.vinyl.count(), 2)
