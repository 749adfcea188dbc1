"""Bulk writes that keep hot paths set-based: COPY on PostgreSQL, batched INSERTs elsewhere."""
import csv
import io
from collections.abc import Iterable, Sequence

from django.db import connection


def copy_rows(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows (tuples in the order of `fields`, column names) into the model's table; returns the count.

    PostgreSQL gets one COPY, an order of magnitude faster than INSERTs for hundreds of thousands of
    rows; other databases get Django's batched INSERTs, which also adapt the values.
    """
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        count = 0
        for row in rows:
            writer.writerow(["\\N" if value is None else value for value in row])
            count += 1
        buffer.seek(0)
        columns = ", ".join(connection.ops.quote_name(f) for f in fields)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
        return count
    # Column names of foreign keys ("lot_id") are also their attribute names, so they name the fields.
    created = model.objects.bulk_create((model(**dict(zip(fields, row))) for row in rows), batch_size=2000)
    return len(created)


def copy_objects(objects: Sequence) -> int:
    """Insert unsaved instances of one model (every column but the automatic primary key): one COPY on
    PostgreSQL, where the instances get no primary key back, and bulk_create elsewhere."""
    if not objects:
        return 0
    model = type(objects[0])
    if connection.vendor != "postgresql":
        return len(model.objects.bulk_create(objects, batch_size=2000))
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return copy_rows(model, [f.column for f in fields], ([getattr(o, f.attname) for f in fields] for o in objects))


def update_rows(objects: Sequence, fields: Sequence[str], batch_size: int = 2000) -> int:
    """Write the named fields (attribute names) of saved model instances of one model, by primary key,
    in one UPDATE … FROM (VALUES …) per batch: what bulk_update does, without its CASE WHEN per row,
    whose composing in Python costs far more than the statement (SQLite 3.33+ and PostgreSQL).
    Returns the rows changed."""
    if not objects:
        return 0
    meta = type(objects[0])._meta
    targets = [meta.pk] + [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    # A VALUES list's columns are column1, column2, … on both databases. PostgreSQL types them from
    # their literals (a column of NULLs is text): cast to each field's column type.
    cast = (lambda f: f"::{f.cast_db_type(connection)}") if connection.vendor == "postgresql" else (lambda f: "")
    value = [f"v.column{i}{cast(f)}" for i, f in enumerate(targets, start=1)]
    assignments = ", ".join(f"{quote(f.column)} = {v}" for f, v in zip(targets[1:], value[1:]))
    table = quote(meta.db_table)
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start:start + batch_size]
            row = "(" + ", ".join(["%s"] * len(targets)) + ")"
            sql = (
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(batch))}) AS v "
                f"WHERE {table}.{quote(meta.pk.column)} = {value[0]}"
            )
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in batch for field in targets
            ]
            cursor.execute(sql, params)
            changed += cursor.rowcount
    return changed


def fetch_array(values_list_queryset, dtype="int64"):
    """Run a values_list() queryset of numbers and return its rows as one 2-D numpy array.

    Skips building a Python object per row through the ORM: for hundreds of thousands of rows that
    conversion costs more than the query. Columns come in SQL order: fields first, then annotations,
    so name annotations last in values_list().
    """
    import numpy as np

    sql, params = values_list_queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    query = values_list_queryset.query
    width = len(query.values_select) + len(query.annotation_select)
    return np.array(rows, dtype=dtype).reshape(-1, width)


def insert_from_select(model, fields: Sequence[str], values_list_queryset, *, skip_conflicts: bool = True) -> int:
    """INSERT INTO the model's table (`fields`, column names) the rows of a values_list() queryset, in
    the database (one INSERT … SELECT, no row passes through Python); with `skip_conflicts`, rows that
    would break a unique constraint are skipped (ON CONFLICT DO NOTHING: a caller that holds a lock
    making conflicts impossible saves its per-row cost), else they fail the statement. Returns the rows
    inserted. Columns come in SQL order, as in fetch_array.
    """
    sql, params = values_list_queryset.query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(f) for f in fields)
    # SQLite needs the SELECT to have a WHERE for the upsert clause to parse; every caller filters.
    on_conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({columns}) {sql}{on_conflict}", params)
        return cursor.rowcount


def refresh_statistics(*models) -> None:
    """ANALYZE the models' tables on PostgreSQL after a bulk load of a large share of their rows.

    The planner's row estimates come from these statistics; right after a bulk load (before
    autovacuum, which may be off, catches up) they can be off by orders of magnitude, and a plan
    built for a few rows (nested loops over an index) then runs for minutes.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
