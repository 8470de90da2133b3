import vinyl_async
import vinyl_sync
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    objects = models.Manager()  # plain Django keeps working
    avinyl = vinyl_async.VinylManager(using="vinyl")  # async vinyl, on the vinyl alias
    vinyl = vinyl_sync.VinylManager(using="vinyl")  # sync vinyl, same alias

    class Meta:
        app_label = "shop"


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager(using="vinyl")
    vinyl = vinyl_sync.VinylManager(using="vinyl")

    class Meta:
        app_label = "shop"
