"""Query-string parameters and request bodies, checked the same way by both kinds of view."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, QueryDict

from .representations import pages


def book_filters(params: QueryDict) -> dict[str, Any]:
    """Return the ``filter()`` arguments of ``?q=`` (in the title), ``?author=`` (an id),
    ``?tag=`` (a tag's name)."""
    filters: dict[str, Any] = {}
    if q := params.get("q", "").strip():
        filters["title__icontains"] = q
    if author := params.get("author"):
        if not author.isdigit():
            raise ValidationError({"author": ["Enter a whole number."]}, code="invalid")
        filters["author"] = int(author)
    if tag := params.get("tag"):
        filters["tags__name"] = tag
    return filters


def page_number(params: QueryDict) -> int:
    """Return ``?page=`` (1 by default), with the messages of Django's ``Paginator``."""
    page = params.get("page", "1")
    try:
        number = int(page)
    except ValueError:
        raise ValidationError({"page": ["That page number is not an integer"]}) from None
    if number < 1:
        raise ValidationError({"page": ["That page number is less than 1"]})
    return number


def check_page(number: int, count: int) -> None:
    """Raise ``Http404`` when page *number* of *count* books is past the last page."""
    if number > pages(count):
        raise Http404(f"Invalid page ({number}): That page contains no results")


def read_json(request: HttpRequest) -> dict[str, Any]:
    """Return the request's body, a JSON object."""
    try:
        data = json.loads(request.body)
    except ValueError as exc:
        raise ValidationError(f"The body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    return data
