"""One async view, served by Django's WSGI ``runserver``: an event loop per request."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from vinyl.query._async import fetch_sql


async def one(request: HttpRequest) -> HttpResponse:
    """Return the result of ``SELECT 1``, read through vinyl's pool of the request's loop."""
    rows = await fetch_sql("default", "SELECT 1", [])
    return HttpResponse(str(rows[0][0]))


urlpatterns = [path("one", one)]
