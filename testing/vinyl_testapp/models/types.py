"""Every Django field type usable on both PostgreSQL and MySQL/MariaDB, for type parity.

``TypesOwner`` has a ``BigAutoField`` key and ``AllTypes`` an ``AutoField``, so both key
types are covered; the foreign key between them gives the to_sql corpus its joins.
"""

from django.db import models


class TypesOwner(models.Model):
    """The "one" side of the corpus's joins."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100)
    rank = models.IntegerField(default=0)

    class Meta:
        app_label = "vinyl_testapp"


class AllTypes(models.Model):
    """One nullable column of each portable field type (SQL NULL is a value to test too)."""

    id = models.AutoField(primary_key=True)
    owner = models.ForeignKey(
        TypesOwner, models.CASCADE, null=True, blank=True, related_name="items"
    )
    char = models.CharField(max_length=100, default="")
    text = models.TextField(null=True)
    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    positive_small = models.PositiveSmallIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    float = models.FloatField(null=True)
    boolean = models.BooleanField(null=True)
    date = models.DateField(null=True)
    datetime = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    json = models.JSONField(null=True)
    binary = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)

    class Meta:
        app_label = "vinyl_testapp"
