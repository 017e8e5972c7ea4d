"""`manage.py apikey create --service NAME --scope SCOPE [--scope ...]` and friends.

`create` prints the new key on its last line as `<key id>.<secret>`; it is never shown again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.auth import Principal
from core.errors import EventlineError
from core.selectors import api_key_list
from core.services import (
    DEFAULT_ROTATION_GRACE_S,
    SYSTEM_ACTOR,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
)

# The audit shows keys made and revoked here as the system, by this command.
COMMAND_ACTOR = Principal(scopes=SYSTEM_ACTOR.scopes, username="manage.py apikey")


class Command(BaseCommand):
    help = "Create, list and revoke API keys of services."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key (creates the service if needed).")
        create.add_argument("--service", required=True)
        create.add_argument(
            "--scope",
            action="append",
            required=True,
            help="admin, registry:write, produce:<topic|prefix*>, consume:<topic|prefix*>, describe:<topic|prefix*>, "
            "group:<group|prefix*>",
        )
        create.add_argument("--label", default="")
        create.add_argument("--expires-in-days", type=int, default=None, help="the key stops working after this")
        listing = sub.add_parser("list", help="List keys (never their secrets).")
        listing.add_argument("--service")
        revoke = sub.add_parser("revoke", help="Revoke a key by its key id.")
        revoke.add_argument("key_id")
        rotate = sub.add_parser("rotate", help="Replace a key; the old one keeps working for the grace period.")
        rotate.add_argument("key_id")
        rotate.add_argument("--grace-seconds", type=int, default=DEFAULT_ROTATION_GRACE_S)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                days = options["expires_in_days"]
                key, plaintext = api_key_create(
                    service_name=options["service"],
                    scopes=options["scope"],
                    label=options["label"],
                    expires_at=None if days is None else timezone.now() + timedelta(days=days),
                    actor=COMMAND_ACTOR,
                )
                self.stdout.write(f"Created key {key.key_id} for service {key.service.name} with scopes {key.scopes}.")
                self.stdout.write("Store it now; it is not shown again:")
                self.stdout.write(plaintext)
            elif options["action"] == "list":
                for key in api_key_list(service_name=options.get("service")):
                    expires = key.expires_at.isoformat() if key.expires_at else "-"
                    used = key.last_used_at.isoformat() if key.last_used_at else "never"
                    self.stdout.write(
                        f"{key.key_id}\t{key.service.name}\t{','.join(key.scopes)}\t{key.state}\t"
                        f"expires {expires}\tlast used {used}"
                    )
            elif options["action"] == "rotate":
                key, plaintext = api_key_rotate(
                    key_id=options["key_id"], grace_seconds=options["grace_seconds"], actor=COMMAND_ACTOR
                )
                self.stdout.write(
                    f"Created key {key.key_id} to replace {options['key_id']}, which works for "
                    f"{options['grace_seconds']} s more. Store it now; it is not shown again:"
                )
                self.stdout.write(plaintext)
            elif options["action"] == "revoke":
                api_key_revoke(key_id=options["key_id"], actor=COMMAND_ACTOR)
                self.stdout.write(f"Revoked {options['key_id']}.")
        except EventlineError as exc:
            raise CommandError(exc.message) from exc
