from django.db import models


class QAuthor(models.Model):
    """vinyl-query's tests: compile and decode, transactions, pools."""

    name = models.CharField(max_length=100)
    age = models.IntegerField(default=0)
    rating = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    born = models.DateField(null=True)
    data = models.JSONField(null=True)

    class Meta:
        app_label = "vinyl_testapp"


class QBook(models.Model):
    """A book: the foreign key vinyl-query's select_related() tests follow."""

    title = models.CharField(max_length=100)
    author = models.ForeignKey(QAuthor, models.CASCADE, related_name="books")
    editor = models.ForeignKey(QAuthor, models.SET_NULL, null=True, related_name="edited")
    published = models.DateTimeField(null=True)
    available = models.BooleanField(default=True)

    class Meta:
        app_label = "vinyl_testapp"


class QShelf(models.Model):
    """A shelf keyed by its room and its position: a composite primary key (Django 5.2+)."""

    pk = models.CompositePrimaryKey("room", "position")
    room = models.IntegerField()
    position = models.IntegerField()
    label = models.CharField(max_length=20)

    class Meta:
        app_label = "vinyl_testapp"
