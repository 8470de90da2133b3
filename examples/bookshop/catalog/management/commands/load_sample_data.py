"""``manage.py load_sample_data``: 70 classics and a few reviews, only into an empty shop."""

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog.models import Book, Review

SAMPLE = Path(__file__).resolve().parents[2] / "sample_books.csv"
REVIEWS = [
    ("Ada", 5, "Could not put it down."),
    ("Grace", 4, "Slow start, wonderful ending."),
    ("Linus", 3, "Good, but long."),
]


class Command(BaseCommand):
    help = "Load the sample books and reviews when the database has no books; else do nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        if Book.vinyl.exists():
            count = Book.vinyl.count()
            self.stdout.write(f"The shop has {count} books already: no sample data loaded.")
            return
        # Seventy rows, imported in a blink: no progress bar.
        call_command("import_books", str(SAMPLE), stdout=self.stdout, verbosity=0)
        # Every third book gets one, two or three reviews.
        books = Book.vinyl.order_by("pk")  # the order of the CSV file
        Review.vinyl.bulk_create(
            Review.vinyl.new(book=book, reviewer=reviewer, rating=rating, text=text)
            for index, book in enumerate(books)
            if index % 3 == 0
            for reviewer, rating, text in REVIEWS[: 1 + index % 9 // 3]
        )
        self.stdout.write(f"Added {Review.vinyl.count()} sample reviews.")
