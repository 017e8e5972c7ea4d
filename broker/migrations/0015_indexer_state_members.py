"""One IndexerState row per indexer member (process), grouped by the Kafka group they share: two
`run_indexer` processes used to overwrite each other's row. A row from before names its group."""

from django.db import migrations, models
from django.db.models import F


def name_their_group(apps, schema_editor):
    apps.get_model("broker", "IndexerState").objects.update(group=F("name"))


class Migration(migrations.Migration):
    dependencies = [("broker", "0014_event_foreign_keys_unchecked")]

    operations = [
        migrations.AddField(
            model_name="indexerstate",
            name="group",
            field=models.CharField(default="", help_text="The indexer's Kafka group.", max_length=255),
        ),
        migrations.AlterField(
            model_name="indexerstate",
            name="name",
            field=models.CharField(help_text="The member: group@host:pid/instance.", max_length=255, unique=True),
        ),
        migrations.RunPython(name_their_group, migrations.RunPython.noop),
    ]
