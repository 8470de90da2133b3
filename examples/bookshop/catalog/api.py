"""What makes a view a JSON endpoint: errors as JSON, no CSRF token (a JSON API's clients
send none)."""

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

type AsyncView = Callable[..., Coroutine[Any, Any, HttpResponse]]


def json_view(view: AsyncView) -> AsyncView:
    """Answer ``Http404`` with a 404 and Django's ``ValidationError`` with a 400, as JSON.

    The 400's body is ``{"errors": {field: [message, ...]}}``, as ``full_clean()`` raised
    it (``"__all__"`` for errors of no one field, as in Django's forms).
    """

    @wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return await view(request, *args, **kwargs)
        except Http404 as exc:
            return JsonResponse({"error": str(exc)}, status=404)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            return JsonResponse({"errors": errors}, status=400)

    return csrf_exempt(wrapper)
