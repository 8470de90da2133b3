"""The bookshop's views on vinyl_async: every query runs on the event loop, on vinyl's pool.

Writes run inside ``transaction()``: a ``ValidationError`` raised in the block (or any other
error) rolls back what the block wrote, and ``json_view`` answers it with a 400.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from vinyl_async import Instance, VinylQuerySet, transaction

from .api import json_view
from .models import Author, Book, Tag
from .params import book_filters, check_page, page_number, read_json
from .representations import PAGE_SIZE, book_detail_json, book_json, page_json, pages

BOOK_FIELDS = ("title", "published", "pages")


async def get_or_404[M: Any](queryset: VinylQuerySet[M], **lookup: Any) -> M:
    """Return the one object of *queryset* that matches *lookup*; raise ``Http404`` if none."""
    try:
        return await queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.object_name} matches the given query.") from None


async def book_with_relations(pk: int) -> dict[str, Any]:
    """Return book *pk* as JSON: the author by a join, tags and reviews by two more queries."""
    book = await get_or_404(
        Book.avinyl.select_related("author").prefetch_related("tags", "reviews"), pk=pk
    )
    return book_detail_json(book, book["author"], book["tags"], book["reviews"])


async def author_of(value: Any) -> Author:
    """Return the author whose id is *value*; raise Django's message for a foreign key if none."""
    if isinstance(value, int) and not isinstance(value, bool):
        author = await Author.avinyl.filter(pk=value).first()
        if author is not None:
            return author
    field = Book._meta.get_field("author")
    error = ValidationError(
        field.error_messages["invalid"],
        code="invalid",
        params={"model": "author", "pk": value, "field": "id", "value": value},
    )
    raise ValidationError({"author": error})


async def tags_named(names: Any) -> list[Instance[Tag]]:
    """Return the tags named *names*, creating those that do not exist yet, one by one."""
    if not isinstance(names, list):
        raise ValidationError({"tags": ["Enter a list of tag names."]})
    tags = []
    for name in names:
        tag = Tag.avinyl.new(name=name)
        try:
            # The unique name is get_or_create()'s to check.
            tag.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise ValidationError({"tags": [f"{name!r}: {m}" for m in exc.messages]}) from None
        tag, _ = await Tag.avinyl.get_or_create(name=tag.name)
        tags.append(tag)
    return tags


@require_GET
async def book_list_page(request: HttpRequest) -> HttpResponse:
    """Render the books whose title contains ``?q=``, a page at a time."""
    q = request.GET.get("q", "").strip()
    try:
        number = page_number(request.GET)
    except ValidationError as exc:
        raise Http404(exc.messages[0]) from None
    books = Book.avinyl.filter(title__icontains=q) if q else Book.avinyl.all()
    count = await books.count()
    check_page(number, count)
    start = (number - 1) * PAGE_SIZE
    rows = await books.select_related("author").order_by("title", "pk")[start : start + PAGE_SIZE]
    context = {
        "books": [book_json(book, book["author"]) for book in rows],
        "q": q,
        "count": count,
        "page": number,
        "pages": pages(count),
    }
    return render(request, "catalog/book_list.html", context)


@require_http_methods(["GET", "POST"])
@json_view
async def books(request: HttpRequest) -> HttpResponse:
    """GET: a page of books, filtered (``?q=``, ``?author=``, ``?tag=``, ``?page=``).

    POST: create a book (``title``, ``author`` id, ``published``, ``pages``, ``tags``).
    """
    if request.method == "POST":
        return await create_book(request)
    filters = book_filters(request.GET)
    number = page_number(request.GET)
    matching = Book.avinyl.filter(**filters)
    count = await matching.count()
    check_page(number, count)
    start = (number - 1) * PAGE_SIZE
    rows = await matching.select_related("author").order_by("title", "pk")[
        start : start + PAGE_SIZE
    ]
    return JsonResponse(page_json(number, count, [book_json(b, b["author"]) for b in rows]))


async def create_book(request: HttpRequest) -> HttpResponse:
    data = read_json(request)
    async with transaction():
        book = Book.avinyl.new(**{field: data.get(field) for field in BOOK_FIELDS})
        book.author_id = (await author_of(data.get("author"))).pk
        book.full_clean(exclude=["author"])  # author_of() checked it, on the event loop
        await book.save()
        await book.tags.add(*await tags_named(data.get("tags", [])))
    return JsonResponse(await book_with_relations(book.pk), status=201)


@require_http_methods(["GET", "PATCH", "DELETE"])
@json_view
async def book(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the book with its author, tags and reviews. PATCH: change the fields given
    (``tags`` replaces the book's tags). DELETE: delete it, with its reviews."""
    if request.method == "GET":
        return JsonResponse(await book_with_relations(pk))
    if request.method == "DELETE":
        async with transaction():
            await (await get_or_404(Book.avinyl.all(), pk=pk)).delete()
        return HttpResponse(status=204)
    data = read_json(request)
    async with transaction():
        instance = await get_or_404(Book.avinyl.all(), pk=pk)
        changed = [field for field in BOOK_FIELDS if field in data]
        for field in changed:
            setattr(instance, field, data[field])
        if "author" in data:
            instance.author_id = (await author_of(data["author"])).pk
            changed.append("author")
        instance.full_clean(exclude=["author"])
        await instance.save(update_fields=changed)
        if "tags" in data:
            await instance.tags.set(await tags_named(data["tags"]))
    return JsonResponse(await book_with_relations(pk))


@require_POST
@json_view
async def book_tags(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the tags named in ``add`` (created if new) and remove those named in ``remove``."""
    data = read_json(request)
    async with transaction():
        instance = await get_or_404(Book.avinyl.all(), pk=pk)
        await instance.tags.add(*await tags_named(data.get("add", [])))
        removed = await Tag.avinyl.filter(name__in=data.get("remove", []))
        await instance.tags.remove(*removed)
    return JsonResponse(await book_with_relations(pk))
