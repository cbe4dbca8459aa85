"""Settings of the Django flow: the library application alone, over psycopg 3."""

import os

SECRET_KEY = "library"
INSTALLED_APPS = ["library"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": os.environ["LIBRARY_PORT"],
    }
}
