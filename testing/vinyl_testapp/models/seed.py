"""The seed's headline use: ``objects = VinylManager()`` (one model per flavor).

``M.objects`` is vinyl's manager; Django's machinery finds a plain manager named
``objects`` in ``_meta`` (``M._default_manager``), which the tests seed rows with.
Tests are written against ``AsyncMemo``; ``tools/unasync.py`` renames it ``SyncMemo``.
"""

import vinyl_async
import vinyl_sync
from django.db import models


class AsyncMemo(models.Model):
    text = models.CharField(max_length=50)
    author = models.ForeignKey("vinyl_testapp.Author", models.CASCADE, related_name="+")

    objects = vinyl_async.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"


class SyncMemo(models.Model):
    text = models.CharField(max_length=50)
    author = models.ForeignKey("vinyl_testapp.Author", models.CASCADE, related_name="+")

    objects = vinyl_sync.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"
