"""A two-model Django application: authors and their books, with a foreign
key, a unique column, an indexed column and a JSON field."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        app_label = "library"


class Book(models.Model):
    title = models.CharField(max_length=200, db_index=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    meta = models.JSONField(null=True)
    pages = models.IntegerField(default=0)

    class Meta:
        app_label = "library"
