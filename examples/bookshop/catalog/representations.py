"""The JSON shapes of the API, shared by the vinyl views and the a-method views.

The related objects are passed in, as each flavor reads them differently: vinyl's
``book["author"]`` (what ``select_related()`` loaded, never a query) and Django's
``book.author``.
"""

from collections.abc import Iterable
from typing import Any

from .models import Author, Book, Review, Tag

PAGE_SIZE = 20


def author_json(author: Author) -> dict[str, Any]:
    return {"id": author.pk, "name": author.name}


def book_json(book: Book, author: Author) -> dict[str, Any]:
    """Return a book as the list shows it: its fields and its author."""
    return {
        "id": book.pk,
        "title": book.title,
        "published": book.published,
        "pages": book.pages,
        "author": author_json(author),
    }


def book_detail_json(
    book: Book, author: Author, tags: Iterable[Tag], reviews: Iterable[Review]
) -> dict[str, Any]:
    """Return a book with its author, its tags (by name) and its reviews (newest first)."""
    return {
        **book_json(book, author),
        "tags": sorted(tag.name for tag in tags),
        "reviews": [
            {"id": r.pk, "reviewer": r.reviewer, "rating": r.rating, "text": r.text}
            for r in sorted(reviews, key=lambda review: review.pk, reverse=True)
        ],
    }


def page_json(page: int, count: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": count, "page": page, "pages": pages(count), "results": results}


def pages(count: int) -> int:
    """Return how many pages *count* books make (one, empty, when there are none)."""
    return max(1, -(-count // PAGE_SIZE))
