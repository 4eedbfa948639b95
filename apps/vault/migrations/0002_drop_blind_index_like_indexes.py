"""Drop the ``varchar_pattern_ops`` (``_like``) indexes Django made for blind index columns on PostgreSQL.

BlindIndexField no longer asks for them (see its ``db_type``); databases migrated before that still have
them. Only equality lookups ever use a blind index, so the plain btree index stays and serves them.
"""

from django.db import migrations


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from apps.vault.fields import BlindIndexField

    with schema_editor.connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.local_fields:
                if not isinstance(field, BlindIndexField):
                    continue
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                    [model._meta.db_table, f"%({field.column} varchar_pattern_ops)%"],
                )
                for (name,) in cursor.fetchall():
                    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("vault", "0001_initial")]

    operations = [migrations.RunPython(drop_like_indexes, migrations.RunPython.noop)]
