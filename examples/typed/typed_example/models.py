"""A model with both flavors' managers, side by side."""

import vinyl_async
import vinyl_sync
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    objects = models.Manager()  # plain Django keeps working
    vinyl = vinyl_async.VinylManager(using="vinyl")  # await Author.vinyl.get(pk=1)
    sync_vinyl = vinyl_sync.VinylManager(using="vinyl")  # Author.sync_vinyl.get(pk=1)

    class Meta:
        app_label = "typed_example"


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, models.CASCADE, related_name="books")
    editor = models.ForeignKey(Author, models.SET_NULL, null=True, related_name="edited")

    vinyl = vinyl_async.VinylManager(using="vinyl")  # await book.author
    sync_vinyl = vinyl_sync.VinylManager(using="vinyl")  # book.author

    class Meta:
        app_label = "typed_example"
