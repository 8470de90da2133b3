"""Settings of the site: the test passes its one vinyl database as JSON (``VINYL_SITE_DATABASE``).

The alias is ``default``, so the site needs no router: Django never opens its own
connection to it, and every query goes through vinyl's pools.
"""

import json
import os

DATABASES = {"default": json.loads(os.environ["VINYL_SITE_DATABASE"])}
ROOT_URLCONF = "loopsite.urls"
SECRET_KEY = "loopsite"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
USE_TZ = True
# A view's error on stderr, which the test reads (Django mails it to ADMINS when DEBUG is off).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
