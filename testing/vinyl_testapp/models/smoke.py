from django.db import models


class Note(models.Model):
    """The smallest model: the foundation's smoke tests write and read it."""

    text = models.CharField(max_length=100)
    created = models.DateTimeField()

    class Meta:
        app_label = "vinyl_testapp"
