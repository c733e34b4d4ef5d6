"""`manage.py ensure_indexes`: create the indexes of REFERENCE.md in both databases (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from adminsite.indexes import ensure_all_indexes


class Command(BaseCommand):
    help = "Create the indexes of the cache and queue databases; existing ones are left untouched."

    def handle(self, *args: Any, **options: Any) -> None:
        for outcome in ensure_all_indexes():
            style = self.style.SUCCESS if outcome.endswith(": ok") else self.style.WARNING
            self.stdout.write(style(outcome))
