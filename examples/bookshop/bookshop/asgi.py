"""The ASGI application uvicorn serves: Django's, wrapped to answer the lifespan protocol.

``ASGILifespanHandler`` opens vinyl's pool at startup (a database that cannot be reached
stops the server from starting) and closes every pool when the server stops.
"""

import os

from django.core.asgi import get_asgi_application
from vinyl_async import ASGILifespanHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookshop.settings")

application = ASGILifespanHandler(get_asgi_application(), open_pools=True)
