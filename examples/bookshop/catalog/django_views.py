"""The list and detail endpoints again, on Django's own async methods, for comparison.

Each a-method (``acount()``, ``aget()``, ``async for``) runs Django's sync ORM in a thread
(``sync_to_async(thread_sensitive=True)``). Under ASGI each request gets a thread of its own
for that, and the thread opens a database connection of its own, closed as the request ends
(``CONN_MAX_AGE = 0``): as many connections as requests in flight, a new one per request.
The vinyl views share a pool of ``pool_max_size`` connections. ``load.py`` compares them.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import aget_object_or_404
from django.views.decorators.http import require_GET

from .api import json_view
from .models import Book
from .params import book_filters, check_page, page_number
from .representations import PAGE_SIZE, book_detail_json, book_json, page_json


@require_GET
@json_view
async def books(request: HttpRequest) -> HttpResponse:
    """A page of books, filtered as the vinyl view's (``?q=``, ``?author=``, ``?tag=``)."""
    filters = book_filters(request.GET)
    number = page_number(request.GET)
    matching = Book.objects.filter(**filters)
    count = await matching.acount()
    check_page(number, count)
    start = (number - 1) * PAGE_SIZE
    rows = matching.select_related("author").order_by("title", "pk")[start : start + PAGE_SIZE]
    results = [book_json(book, book.author) async for book in rows]
    return JsonResponse(page_json(number, count, results))


@require_GET
@json_view
async def book(request: HttpRequest, pk: int) -> HttpResponse:
    """The book with its author, tags and reviews."""
    instance = await aget_object_or_404(
        Book.objects.select_related("author").prefetch_related("tags", "reviews"), pk=pk
    )
    return JsonResponse(
        book_detail_json(instance, instance.author, instance.tags.all(), instance.reviews.all())
    )
