"""PostgreSQL-only field types (``django.contrib.postgres``), for type parity.

The router (``vinyl_testing.routers``) creates and uses models of ``pg_*`` modules only
on PostgreSQL aliases.
"""

from django.contrib.postgres.fields import (
    ArrayField,
    BigIntegerRangeField,
    DateRangeField,
    DateTimeRangeField,
    DecimalRangeField,
    HStoreField,
    IntegerRangeField,
)
from django.db import models


class PgTypes(models.Model):
    """One nullable column of each PostgreSQL-only type Django offers."""

    ints = ArrayField(models.IntegerField(), null=True)
    texts = ArrayField(models.CharField(max_length=20), null=True)
    grid = ArrayField(ArrayField(models.IntegerField()), null=True)
    ips = ArrayField(models.GenericIPAddressField(), null=True)
    int_range = IntegerRangeField(null=True)
    big_range = BigIntegerRangeField(null=True)
    decimal_range = DecimalRangeField(null=True)
    date_range = DateRangeField(null=True)
    datetime_range = DateTimeRangeField(null=True)
    hstore = HStoreField(null=True)
    inet = models.GenericIPAddressField(null=True)

    class Meta:
        app_label = "vinyl_testapp"
