"""A Django application's life over psycopg 3: `migrate` of a two-model app
(a foreign key, a unique column, an indexed column, a JSON field; a second
migration adds a column with a default and widens a column's type), the ORM's
create, filters on JSON keys, updates, deletes that cascade, a savepoint
rolled back, bulk upserts, and migrating back to zero and forward again.

Prints what the application observes as JSON, one step per line, so the test
can compare Enishi's observations with PostgreSQL's. A step that fails prints
its SQLSTATE instead of stopping the script.

Usage: python3 django_flow_check.py PORT
"""

import io
import json
import os
import sys

os.environ["LIBRARY_PORT"] = sys.argv[1]
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_flow"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from library.models import Author, Book  # noqa: E402


def sqlstate(error):
    cause = error
    while cause is not None and not getattr(cause, "sqlstate", None):
        cause = cause.__cause__
    return getattr(cause, "sqlstate", None) or type(error).__name__


def step(name, run):
    try:
        print(json.dumps({"step": name, "observed": run()}, sort_keys=True, default=str))
    except Exception as error:  # noqa: BLE001 - the observation is the error
        print(json.dumps({"step": name, "error": sqlstate(error)}, sort_keys=True))
        print(f"{name}: {error!r}", file=sys.stderr)


def shape():
    """What Django's introspection (used by its migrations) finds."""
    with connection.cursor() as cursor:
        tables = sorted(
            t.name for t in connection.introspection.get_table_list(cursor)
            if t.name.startswith(("library_", "django_"))
        )
        out = {"tables": tables}
        for table in tables:
            if not table.startswith("library_"):
                continue
            columns = connection.introspection.get_table_description(cursor, table)
            constraints = connection.introspection.get_constraints(cursor, table)
            out[table] = {
                "columns": [
                    (c.name, connection.introspection.get_field_type(c.type_code, c), c.display_size,
                     c.null_ok, c.default, c.is_autofield)
                    for c in columns
                ],
                "constraints": sorted(
                    (name, c["columns"], c["primary_key"], c["unique"], c["foreign_key"],
                     c["index"], c["check"], c.get("type"))
                    for name, c in constraints.items()
                ),
                "relations": connection.introspection.get_relations(cursor, table),
                "sequences": connection.introspection.get_sequences(cursor, table),
            }
    return out


def migrate(*target):
    log = io.StringIO()
    call_command("migrate", "library", *target, verbosity=1, stdout=log, no_color=True)
    return [line for line in log.getvalue().splitlines() if line.strip()]


def showmigrations():
    log = io.StringIO()
    call_command("showmigrations", "library", stdout=log, no_color=True)
    return log.getvalue().splitlines()


def main():
    with connection.cursor() as cursor:
        for table in ["library_book", "library_author", "django_migrations"]:
            cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")

    step("migrate", lambda: {"log": migrate(), "shape": shape()})
    step("migrate again", lambda: {"log": migrate(), "shown": showmigrations()})

    def create():
        ann = Author.objects.create(name="ann")
        bob = Author.objects.create(name="bob")
        books = [
            Book.objects.create(title="dune", author=ann, meta={"genre": "scifi", "tags": ["x", "y"]}),
            Book.objects.create(title="emma", author=bob, meta={"genre": "novel", "year": 1815}),
            Book.objects.create(title="notes", author=ann, pages=12),
        ]
        return {"authors": [ann.pk, bob.pk], "books": [(b.pk, b.pages) for b in books]}

    step("create", create)

    def query():
        def titles(qs):
            return list(qs.order_by("pk").values_list("title", flat=True))

        return {
            "genre": titles(Book.objects.filter(meta__genre="scifi")),
            "contains": titles(Book.objects.filter(meta__tags__contains=["y"])),
            "has_key": titles(Book.objects.filter(meta__has_key="year")),
            "year": titles(Book.objects.filter(meta__year__gte=1800)),
            "is_null": titles(Book.objects.filter(meta__isnull=True)),
            "joined": list(
                Book.objects.select_related("author").order_by("pk")
                .values_list("title", "author__name", "meta")
            ),
            "ann's": titles(Author.objects.get(name="ann").books.all()),
            "like": titles(Book.objects.filter(title__startswith="no")),
            "icontains": titles(Book.objects.filter(author__name__icontains="O")),
        }

    step("filter", query)

    def update_and_delete():
        changed = Book.objects.filter(author__name="ann").update(pages=F("pages") + 100)
        book = Book.objects.get(title="emma")
        book.meta = {"genre": "novel", "year": 1816}
        book.save()
        deleted = Author.objects.get(name="ann").delete()
        return {
            "changed": changed,
            "deleted": deleted,
            "left": list(Book.objects.order_by("pk").values_list("title", "pages", "meta")),
        }

    step("update and delete", update_and_delete)

    def savepoint():
        with transaction.atomic():
            Author.objects.create(name="cyd")
            try:
                with transaction.atomic():
                    Author.objects.create(name="bob")
            except IntegrityError as error:
                repeated = sqlstate(error)
        return {"repeated": repeated,
                "names": list(Author.objects.order_by("name").values_list("name", flat=True))}

    step("savepoint", savepoint)

    def upserts():
        Author.objects.bulk_create(
            [Author(name="bob"), Author(name="dee")], ignore_conflicts=True
        )
        Author.objects.bulk_create(
            [Author(name="cyd"), Author(name="eve")],
            update_conflicts=True, unique_fields=["name"], update_fields=["name"],
        )
        return list(Author.objects.order_by("name").values_list("name", flat=True))

    step("bulk upserts", upserts)
    step("migrate back to zero", lambda: {"log": migrate("zero"), "shape": shape()})
    step("migrate forward again", lambda: {"log": migrate(), "shape": shape()})


if __name__ == "__main__":
    main()
