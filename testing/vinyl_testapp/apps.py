from django.apps import AppConfig


class VinylTestappConfig(AppConfig):
    name = "vinyl_testapp"
    default_auto_field = "django.db.models.BigAutoField"
