from django.urls import path

from . import django_views, views

urlpatterns = [
    path("", views.book_list_page, name="book-list-page"),
    path("api/books/", views.books, name="books"),
    path("api/books/<int:pk>/", views.book, name="book"),
    path("api/books/<int:pk>/tags/", views.book_tags, name="book-tags"),
    # The same list and detail on Django's a-methods.
    path("api/django/books/", django_views.books, name="django-books"),
    path("api/django/books/<int:pk>/", django_views.book, name="django-book"),
]
