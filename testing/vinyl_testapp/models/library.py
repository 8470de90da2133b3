"""The model layer's test models: a small library with every kind of relation.

Each model has Django's ``objects`` (the oracle and the seed) and both vinyl flavors:
``avinyl`` (vinyl_async) and ``vinyl`` (vinyl_sync). Tests are written against
``avinyl``; ``tools/unasync.py`` renames it ``vinyl`` in the generated sync tests.
Both use the alias ``default`` unless a test picks one with ``.using(db.vinyl)``.
"""

import vinyl_async
import vinyl_sync
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models

from vinyl_testapp.models.base import AppModel


class Publisher(AppModel):
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)

    def __str__(self) -> str:
        return self.name


class Author(models.Model):
    # Declared before objects on purpose: Django's default manager must stay objects.
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    name = models.CharField(max_length=100)
    age = models.IntegerField()
    publisher = models.ForeignKey(
        Publisher, models.SET_NULL, null=True, blank=True, related_name="authors"
    )
    data = models.JSONField(null=True)
    joined = models.DateTimeField()

    objects = models.Manager()

    class Meta:
        app_label = "vinyl_testapp"

    def __str__(self) -> str:
        return self.name


class AuthorProfile(AppModel):
    author = models.OneToOneField(Author, models.CASCADE, related_name="profile")
    bio = models.TextField()
    website = models.URLField(blank=True)


class Tag(AppModel):
    name = models.CharField(max_length=50)


class TaggedItem(AppModel):
    label = models.CharField(max_length=50)
    # No database constraint: a test points a generic key at a content type that does not
    # exist, to check the error vinyl raises for it.
    content_type = models.ForeignKey(ContentType, models.CASCADE, db_constraint=False)
    object_id = models.PositiveIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")


class Book(AppModel):
    title = models.CharField(max_length=200, unique=True)
    author = models.ForeignKey(Author, models.CASCADE, related_name="books")
    coauthor = models.ForeignKey(
        Author, models.SET_NULL, null=True, blank=True, related_name="cowritten"
    )
    tags = models.ManyToManyField(Tag, related_name="books", blank=True)
    published = models.DateField()
    created = models.DateTimeField()
    price = models.DecimalField(max_digits=8, decimal_places=2)
    pages = models.IntegerField()
    rating = models.FloatField(null=True)
    items = GenericRelation(TaggedItem)

    class Meta(AppModel.Meta):
        get_latest_by = "published"

    def __str__(self) -> str:
        return self.title


class Review(AppModel):
    """A reverse foreign key without related_name (``book.review_set``)."""

    book = models.ForeignKey(Book, models.CASCADE)
    stars = models.SmallIntegerField()


class CheapBook(Book):
    """A proxy model."""

    class Meta:
        proxy = True
        app_label = "vinyl_testapp"


class Place(AppModel):
    name = models.CharField(max_length=50)
    address = models.CharField(max_length=80)


class Restaurant(Place):
    """Multi-table inheritance: a child of Place."""

    serves_pizza = models.BooleanField(default=False)
    seats = models.IntegerField()

    class Meta:
        app_label = "vinyl_testapp"
