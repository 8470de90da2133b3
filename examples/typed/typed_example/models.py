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
