"""Bind each group member to the key that joined it. Members that joined before are bound to no
one, so they are let go: their groups become Empty on a new generation, and their consumers get
`unknown_member` on their next call and join again (the Python client does this by itself)."""

import time

from django.db import migrations, models
from django.db.models import F


def forget_unbound_members(apps, schema_editor):
    ConsumerGroup = apps.get_model("broker", "ConsumerGroup")
    GroupMember = apps.get_model("broker", "GroupMember")
    groups = set(GroupMember.objects.values_list("group_id", flat=True))
    if not groups:
        return
    GroupMember.objects.all().delete()
    ConsumerGroup.objects.filter(pk__in=groups).update(
        generation=F("generation") + 1, state="Empty", state_changed_ms=int(time.time() * 1000)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("broker", "0005_member_synced_generation"),
    ]

    operations = [
        migrations.AddField(
            model_name="groupmember",
            name="joined_by",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(forget_unbound_members, migrations.RunPython.noop),
    ]
