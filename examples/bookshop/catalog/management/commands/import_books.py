"""``manage.py import_books books.csv``: import books with vinyl_sync's ``bulk_create()``.

A progress bar (tqdm, on stderr) counts the rows as each batch commits.
"""

import csv
import sys
import time
from itertools import batched
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm
from vinyl_sync import transaction

from catalog.models import Author, Book, BookTag, Tag


class Command(BaseCommand):
    help = (
        "Import books from a CSV file with the columns title, author, published, pages and "
        "tags (separated by ';'), in batches: each batch is one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, csv_file: str, batch_size: int, **options: Any) -> None:
        started = time.perf_counter()
        imported = 0
        with open(csv_file, newline="", encoding="utf-8") as rows:
            total = sum(1 for _ in csv.DictReader(rows))
            rows.seek(0)
            # On the real stderr: Django's wrapper would end each of tqdm's redraws with a
            # newline. --verbosity 0 (scripts, cron) draws no bar.
            with tqdm(
                total=total,
                unit="rows",
                disable=options["verbosity"] == 0,
                file=sys.stderr,
                mininterval=0,  # a redraw per batch: batches are few and large
            ) as bar:
                for batch in batched(csv.DictReader(rows), batch_size):
                    with transaction():
                        import_batch(batch, first_line=imported + 2)
                    imported += len(batch)
                    bar.update(len(batch))
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Imported {imported} books in {elapsed:.2f} s ({imported / elapsed:,.0f} rows/s)."
        )


def import_batch(rows: tuple[dict[str, str], ...], first_line: int) -> None:
    """Create the rows' authors and tags that do not exist yet, then the books and their tags."""
    authors = by_name(Author, {row["author"] for row in rows})
    tags = by_name(Tag, {name for row in rows for name in tag_names(row)})
    books = []
    for line, row in enumerate(rows, start=first_line):
        book = Book.vinyl.new(
            title=row["title"],
            author=authors[row["author"]],
            published=row["published"],
            pages=row["pages"] or None,
        )
        try:
            book.full_clean(exclude=["author"])
        except ValidationError as exc:
            raise CommandError(f"Line {line}: {exc.message_dict}") from None
        books.append(book)
    Book.vinyl.bulk_create(books)
    BookTag.vinyl.bulk_create(
        BookTag.vinyl.new(book=book, tag=tags[name])
        for book, row in zip(books, rows, strict=True)
        for name in tag_names(row)
    )


def by_name[M: (Author, Tag)](model: type[M], names: set[str]) -> dict[str, M]:
    """Return the *model* objects named *names*, creating the missing ones in one INSERT."""
    found = {obj.name: obj for obj in model.vinyl.filter(name__in=names)}
    created = model.vinyl.bulk_create(
        model.vinyl.new(name=name) for name in sorted(names - found.keys())
    )
    return found | {obj.name: obj for obj in created}


def tag_names(row: dict[str, str]) -> list[str]:
    return [name for name in row["tags"].split(";") if name]
