"""An application's life through SQLAlchemy 2's ORM and Alembic, over
psycopg 3: create_all of models with identity and serial keys, a foreign key,
unique and ordinary indexes and a jsonb column; ORM inserts that return their
ids; queries on json keys; updates and deletes (one by one and in bulk, with
RETURNING); a nested transaction rolled back; upserts; then an Alembic
autogenerate that must find exactly the added column and index, and its
upgrade.

Prints what the application observes as JSON, one step per line, so the test
can compare Enishi's observations with PostgreSQL's. A step that fails prints
its SQLSTATE instead of stopping the script.

Usage: python3 orm_flow_check.py PORT
"""

import json
import sys

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql import JSONB, insert as pg_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

PORT = int(sys.argv[1])


def models(with_pages):
    """The application's models; the second version adds a column and an index."""

    class Base(DeclarativeBase):
        pass

    class Author(Base):
        __tablename__ = "authors"
        id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50), unique=True)
        books = relationship("Book", back_populates="author", order_by="Book.id")

    class Book(Base):
        __tablename__ = "books"
        id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
        title: Mapped[str] = mapped_column(sa.Text, index=True)
        author_id = mapped_column(sa.ForeignKey("authors.id"))
        meta = mapped_column(JSONB)
        author = relationship(Author, back_populates="books")
        if with_pages:
            pages = mapped_column(sa.Integer)
            __table_args__ = (sa.Index("ix_books_author_id", "author_id"),)

    return Base, Author, Book


def ours(name, type_, parent_names):
    """Alembic compares the application's tables only (the database may hold others)."""
    return type_ != "table" or name in ("authors", "books")


def sqlstate(error):
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) or type(orig).__name__


def step(name, run):
    try:
        print(json.dumps({"step": name, "observed": run()}, sort_keys=True, default=str))
    except Exception as error:  # noqa: BLE001 - the observation is the error
        print(json.dumps({"step": name, "error": sqlstate(error)}, sort_keys=True))
        print(f"{name}: {error}", file=sys.stderr)


def shape(engine):
    """What the inspector reflects of the two tables."""
    inspector = sa.inspect(engine)
    out = {}
    for table in ["authors", "books"]:
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("autoincrement"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": [
                (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in inspector.get_foreign_keys(table)
            ],
            "indexes": sorted(
                (i["name"], i["column_names"], bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
        }
    return out


def main():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS books")
        conn.exec_driver_sql("DROP TABLE IF EXISTS authors")
    Base, Author, Book = models(False)

    step("create_all", lambda: Base.metadata.create_all(engine) or shape(engine))

    def insert():
        with Session(engine) as session:
            ann = Author(name="ann")
            bob = Author(name="bob")
            session.add_all([ann, bob])
            session.flush()
            ids = [ann.id, bob.id]
            books = [
                Book(title="dune", author=ann, meta={"genre": "scifi", "tags": ["x", "y"]}),
                Book(title="emma", author=bob, meta={"genre": "novel", "year": 1815}),
                Book(title="notes", author=ann, meta=None),
            ]
            session.add_all(books)
            session.commit()
            return {"authors": ids, "books": [b.id for b in books]}

    step("insert returning ids", insert)

    def query():
        with Session(engine) as session:
            rows = session.execute(
                sa.select(Book.title, Author.name).join(Book.author).order_by(Book.id)
            ).all()
            scifi = session.scalars(
                sa.select(Book.title).where(Book.meta["genre"].astext == "scifi")
            ).all()
            tagged = session.scalars(
                sa.select(Book.title).where(Book.meta.contains({"tags": ["y"]})).order_by(Book.id)
            ).all()
            dated = session.scalars(
                sa.select(Book.title).where(Book.meta.has_key("year")).order_by(Book.id)
            ).all()
            year = session.scalar(sa.select(Book.meta["year"]).where(Book.title == "emma"))
            ann = session.scalars(sa.select(Author).where(Author.name == "ann")).one()
            return {
                "rows": [list(r) for r in rows],
                "scifi": scifi,
                "tagged": tagged,
                "dated": dated,
                "year": year,
                "ann's books": [b.title for b in ann.books],
            }

    step("query with json keys", query)

    def update_and_delete():
        with Session(engine) as session:
            book = session.scalars(sa.select(Book).where(Book.title == "notes")).one()
            book.title = "notebook"
            book.meta = {"genre": "diary"}
            session.commit()
            changed = session.execute(
                sa.update(Book)
                .where(Book.author_id == book.author_id)
                .values(title=Book.title + "!")
                .returning(Book.id, Book.title)
            ).all()
            session.commit()
            emma = session.scalars(sa.select(Book).where(Book.title == "emma")).one()
            session.delete(emma)
            session.commit()
            gone = session.execute(
                sa.delete(Book).where(Book.title == "dune!").returning(Book.id)
            ).all()
            session.commit()
            left = session.execute(sa.select(Book.id, Book.title, Book.meta).order_by(Book.id)).all()
            return {
                "changed": sorted(list(r) for r in changed),
                "deleted": [list(r) for r in gone],
                "left": [list(r) for r in left],
            }

    step("update and delete", update_and_delete)

    def nested():
        with Session(engine) as session:
            session.add(Author(name="cyd"))
            try:
                with session.begin_nested():
                    session.add(Author(name="ann"))
                    session.flush()
            except sa.exc.IntegrityError as error:
                repeated = sqlstate(error)
            session.commit()
            names = session.scalars(sa.select(Author.name).order_by(Author.name)).all()
            return {"repeated": repeated, "names": names}

    step("nested transaction", nested)

    def upserts():
        with engine.begin() as conn:
            ignored = conn.execute(
                pg_insert(Author).values(name="ann").on_conflict_do_nothing(index_elements=["name"])
            ).rowcount
            upserted = conn.execute(
                pg_insert(Author)
                .values([{"name": "bob"}, {"name": "dee"}])
                .on_conflict_do_update(
                    index_elements=["name"], set_={"name": pg_insert(Author).excluded.name + "+"}
                )
                .returning(Author.name)
            ).scalars().all()
            names = conn.execute(sa.select(Author.name).order_by(Author.name)).scalars().all()
            return {"ignored": ignored, "upserted": sorted(upserted), "names": names}

    step("upserts", upserts)

    _, _, NewBook = models(True)

    def migrate():
        with engine.begin() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": ours})
            script = produce_migrations(context, NewBook.metadata)
            found = []
            operations = Operations(context)
            for op in script.upgrade_ops.ops:
                for inner in getattr(op, "ops", [op]):
                    found.append(type(inner).__name__)
                    operations.invoke(inner)
            return found

    step("alembic autogenerate and upgrade", migrate)
    step("after the upgrade", lambda: shape(engine)["books"])

    def again():
        with engine.begin() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": ours})
            script = produce_migrations(context, NewBook.metadata)
            return [type(op).__name__ for op in script.upgrade_ops.ops]

    step("autogenerate finds nothing more", again)


if __name__ == "__main__":
    main()
