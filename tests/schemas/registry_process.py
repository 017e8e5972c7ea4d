"""Run as a separate process by test_validation: registers or deletes through the registry services,
against the test database named in EVENTLINE_TEST_DB_NAME.

    registry_process.py register <subject> <schema json>
    registry_process.py delete <subject> [permanent]
"""

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from schemas.services import schema_version_register, subject_delete

    action, subject = sys.argv[1], sys.argv[2]
    if action == "register":
        registered = schema_version_register(subject=subject, schema=sys.argv[3], schema_type="JSON")
        print(json.dumps({"id": registered.schema_id, "version": registered.version}))
    else:
        subject_delete(subject=subject)
        if len(sys.argv) > 3:
            subject_delete(subject=subject, permanent=True)


if __name__ == "__main__":
    main()
