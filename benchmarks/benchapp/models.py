"""The benchmark's schema: 1,000 authors, 10,000 books, 50 tags, 3 tags a book.

Plain Django models with no vinyl import: the vinyl contenders attach their
``VinylManager`` when they start (``vinyl_bench.contenders``), so every other contender
runs without vinyl installed. The raw-driver contenders read the same tables with the
hand-written SQL in ``vinyl_bench.sql``; keep the two in step.
"""

from __future__ import annotations

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200)
    born = models.DateField()

    objects = models.Manager()


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    objects = models.Manager()


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    pages = models.IntegerField()
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField()
    tags = models.ManyToManyField(Tag, related_name="books")

    objects = models.Manager()
