"""An author and their books: Django's ``objects``, and vinyl's managers beside it."""

import vinyl_async
import vinyl_sync
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    objects = models.Manager()  # plain Django keeps working
    vinyl = vinyl_sync.VinylManager(using="vinyl")
    avinyl = vinyl_async.VinylManager(using="vinyl")


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    objects = models.Manager()
    vinyl = vinyl_sync.VinylManager(using="vinyl")
    avinyl = vinyl_async.VinylManager(using="vinyl")
