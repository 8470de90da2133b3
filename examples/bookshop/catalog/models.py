"""Authors, their books, the books' tags and readers' reviews.

Each model keeps Django's manager as ``objects`` (the a-method views, the admin's kind of
code, ``migrate``) and has vinyl's beside it: ``avinyl`` for async code (the API's views),
``vinyl`` for sync code (the ``import_books`` command).
"""

import vinyl_async
import vinyl_sync
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100, unique=True)

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    published = models.PositiveSmallIntegerField(
        help_text="The year of first publication.", validators=[MaxValueValidator(2100)]
    )
    pages = models.PositiveIntegerField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, related_name="books", blank=True, through="BookTag")

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        indexes = [models.Index(fields=["title"])]

    def __str__(self) -> str:
        return self.title


class BookTag(models.Model):
    """A book's tag: the many-to-many table, named so that ``import_books`` can fill it with
    ``bulk_create()``. ``book.tags.add()``/``remove()``/``set()`` work on it as on Django's own."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    objects = models.Manager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["book", "tag"], name="unique_book_tag")]


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.CharField(max_length=100)
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    text = models.TextField(blank=True)

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.book_id}: {self.rating}/5"
