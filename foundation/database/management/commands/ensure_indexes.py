"""`manage.py ensure_indexes`: create the indexes of REFERENCE.md in both databases, and ours (idempotent).

One line per index as soon as it is done: `created`, `exists` or `exists with other options,
left as it is`. Exit status: 0 done, 1 a database is unavailable (the indexes listed before the
error were ensured; run it again).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from foundation.core.commands import AdminCommand
from foundation.database.indexes import ensure_each_index

EXIT_STATUSES = "exit status: 0 done, 1 a database is unavailable (run it again: it is idempotent)"


class Command(AdminCommand):
    help = f"Create the indexes of the cache and queue databases; existing ones are left untouched. {EXIT_STATUSES}."
    unavailable_outcome = "the indexes listed above (if any) were ensured; run it again when it answers."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def handle(self, *args: Any, **options: Any) -> None:
        for outcome in ensure_each_index():
            style = self.style.SUCCESS if outcome.endswith((": created", ": exists")) else self.style.WARNING
            self.stdout.write(style(outcome))
