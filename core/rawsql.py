"""Plain SQL for the few hot paths where composing an ORM query costs more CPU than running it.

An order submission runs a dozen statements; through the ORM each one spends a few hundred
microseconds of Python composing SQL and building model instances, which on a busy API server is most
of the request. These helpers keep such SQL short and portable (PostgreSQL and SQLite) and give back
values of the types the ORM would (SQLite returns naive datetimes, and floats for decimals).

On PostgreSQL a statement of fixed text can also be prepared once per connection (`prepare=True`):
planning the small joins of the hot path cost the server more than running them. This needs a direct
connection to PostgreSQL (not a transaction-pooling pgbouncer, which loses prepared statements).
"""
import hashlib
from functools import lru_cache

from django.db import connection


def fields_of(model, *names: str) -> tuple:
    """The model's fields by attribute name ("user_id" names the foreign key `user`)."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(by_attname[name] for name in names)


def concrete_fields(model) -> tuple:
    return tuple(model._meta.concrete_fields)


@lru_cache(maxsize=None)
def columns(fields, alias: str = "") -> str:
    """The fields' quoted columns for a SELECT or INSERT list, qualified by a table alias if given.

    Cached: a process talks to one kind of database, and hot statements ask for the same lists."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + connection.ops.quote_name(f.column) for f in fields)


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def any_of(column: str, values: list) -> tuple[str, list]:
    """`column` is one of `values`: one array parameter on PostgreSQL (so the text stays fixed and can
    be prepared), a list of parameters elsewhere. Returns the SQL and its parameters."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({placeholders(len(values))})", list(values)


def fetch(sql: str, params=(), *, prepare: bool = False) -> list[tuple]:
    with connection.cursor() as cursor:
        _execute(cursor, sql, params, prepare)
        return cursor.fetchall()


def execute(sql: str, params=(), *, prepare: bool = False) -> int:
    """Run a write; returns the number of rows it changed."""
    with connection.cursor() as cursor:
        _execute(cursor, sql, params, prepare)
        return cursor.rowcount


def _execute(cursor, sql: str, params, prepare: bool) -> None:
    if not (prepare and connection.vendor == "postgresql"):
        cursor.execute(sql, params)
        return
    name, numbered = _prepared_form(sql)
    prepared = _prepared_on_this_connection()
    if name not in prepared:
        # Prepared statements belong to the session and survive a rollback, so one PREPARE per connection.
        cursor.execute(f"PREPARE {name} AS {numbered}")
        prepared.add(name)
    cursor.execute(f"EXECUTE {name}({placeholders(len(params))})" if params else f"EXECUTE {name}", params)


@lru_cache(maxsize=256)
def _prepared_form(sql: str) -> tuple[str, str]:
    """A name for the statement (from its text) and its text with PostgreSQL's numbered parameters."""
    parts = sql.split("%s")
    numbered = "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, start=1))
    return "rawsql_" + hashlib.sha1(sql.encode()).hexdigest()[:16], numbered


def _prepared_on_this_connection() -> set[str]:
    """Names prepared on the current database session; a new session (Django reconnected) starts empty."""
    session = connection.connection
    known = getattr(connection, "_rawsql_prepared", None)
    if known is None or known[0] is not session:
        known = connection._rawsql_prepared = (session, set())
    return known[1]


def converted(fields, values) -> list:
    """One row's raw values for the fields, converted as the ORM would convert them."""
    return _convert(_converters(connection.vendor, fields), values)


def instance(model, fields, values):
    """A model instance from one row of `fields` (the others deferred), as QuerySet.raw() would build it."""
    return instances(model, fields, [values])[0]


def instances(model, fields, rows) -> list:
    """Model instances from rows of `fields`; the per-database lookups are done once for all rows."""
    alias, converters, names = connection.alias, _converters(connection.vendor, fields), [f.attname for f in fields]
    return [model.from_db(alias, names, _convert(converters, values)) for values in rows]


def _convert(converters, values) -> list:
    if not any(converters):
        return list(values)
    out = []
    for column_converters, value in zip(converters, values):
        for converter, expression in column_converters:
            value = converter(value, expression, connection)
        out.append(value)
    return out


@lru_cache(maxsize=None)
def _converters(vendor: str, fields: tuple) -> list[list]:
    out = []
    for field in fields:
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
        out.append([(converter, expression) for converter in found])
    return out
