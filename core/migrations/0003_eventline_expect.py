"""PostgreSQL: the function behind core.db.Expectation. It lets a statement batch that ends in
COMMIT fail (and so roll back) when a condition checked inside the transaction does not hold,
which saves the round trip of reading the condition first. SQLite checks it in process."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION eventline_expect(ok boolean, reason text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING MESSAGE = reason;
    END IF;
    RETURN true;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS eventline_expect(boolean, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles")]
    operations = [migrations.RunPython(create, drop)]
