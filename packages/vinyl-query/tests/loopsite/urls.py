"""The site's views: one async (an event loop per request under WSGI), one sync."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from vinyl.query import _sync
from vinyl.query._async import fetch_sql


async def one(request: HttpRequest) -> HttpResponse:
    """Return the result of ``SELECT 1``, read through vinyl's pool of the request's loop."""
    rows = await fetch_sql("default", "SELECT 1", [])
    return HttpResponse(str(rows[0][0]))


def one_sync(request: HttpRequest) -> HttpResponse:
    """Return the result of ``SELECT 1``, read through vinyl_sync's pool."""
    rows = _sync.fetch_sql("default", "SELECT 1", [])
    return HttpResponse(str(rows[0][0]))


urlpatterns = [path("one", one), path("one-sync", one_sync)]
