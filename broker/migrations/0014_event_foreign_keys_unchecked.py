"""The event table's foreign keys are no longer checked by PostgreSQL.

Each row's checks of its topic and its producer are a row trigger each on PostgreSQL: 18 of the 33
µs the indexer spent a row there (and as much on every produce). The ORM still deletes a topic's
events and clears a deleted service from its events (on_delete); only the database's own check
goes. SQLite keeps its checks, which cost it about 1 µs a row: dropping them means rebuilding the
table, which is not worth it for a large one. Both databases' state says db_constraint=False."""

from django.db import migrations, models


def drop_checks(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.conrelid = 'broker_event'::regclass AND c.contype = 'f' "
            "AND a.attname IN ('topic_id', 'producer_id')"
        )
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'ALTER TABLE broker_event DROP CONSTRAINT "{name}"')


def restore_checks(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, table in (("topic_id", "broker_topic"), ("producer_id", "core_service")):
        schema_editor.execute(
            f'ALTER TABLE broker_event ADD CONSTRAINT "broker_event_{column}_fk" FOREIGN KEY ("{column}") '
            f'REFERENCES "{table}" ("id") DEFERRABLE INITIALLY DEFERRED'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("broker", "0013_commit_log"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="topic",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="broker.topic",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="producer",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="+",
                        to="core.service",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_checks, restore_checks)],
        ),
    ]
