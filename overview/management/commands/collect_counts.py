"""`manage.py collect_counts`: count what the pages cannot count per request, take the activity sample.

A round (`overview.collector`): the activity sample of the current interval (at most one per
interval, whatever the number of collectors), the dashboard's costly counts into `adminCounts`,
and the samples past their retention deleted.

    manage.py collect_counts              # one round: what a cron job or a Kubernetes CronJob runs
    manage.py collect_counts --every 60   # a round at every minute mark until stopped (`make run`)

A line per task of the round (`-v 0`: only the tasks that failed, on stderr). With `--every`,
a task that fails is reported and tried again at the next round; Ctrl-C or SIGTERM stops it.

Exit status: 0 every task done, 1 a task failed (its line says why: the others still ran).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from foundation.core.commands import AdminCommand
from foundation.database import mongo
from foundation.web.console_tags import utc
from overview.collector import TaskOutcome, collect_every, collect_once

EXIT_STATUSES = "exit status: 0 every task done, 1 a task failed (its line says why; the others still ran)"


def positive_seconds(value: str) -> float:
    seconds = float(value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(value)
    return seconds


class Command(AdminCommand):
    help = (
        "One round of the collector: the activity sample of this interval (adminActivitySamples), the counts"
        " the dashboard cannot make per request (builder names, root-error groups: adminCounts), the samples"
        f" past their retention deleted. {EXIT_STATUSES}."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=positive_seconds,
            default=None,
            metavar="SECONDS",
            help="run a round at every multiple of SECONDS until stopped (default: one round, then exit);"
            " make run gives ADMIN_ACTIVITY_SAMPLE_SECONDS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        if options["every"] is None:
            outcomes = collect_once()
            self.report(outcomes, verbosity=verbosity)
            failed = [outcome.name for outcome in outcomes if outcome.failed]
            if failed:
                raise CommandError(f"{len(failed)} of {len(outcomes)} tasks failed: {', '.join(failed)}", returncode=1)
            return
        sample_seconds = settings.ADMIN.activity_sample_seconds
        if options["every"] > sample_seconds:
            self.stderr.write(
                f"rounds every {options['every']:g} s leave intervals of ADMIN_ACTIVITY_SAMPLE_SECONDS"
                f" ({sample_seconds} s) without an activity sample"
            )
        try:
            collect_every(
                options["every"],
                report=lambda outcomes: self.report(outcomes, verbosity=verbosity, timed=True),
                wait=_sleep,
            )
        except KeyboardInterrupt:  # Ctrl-C: the round in progress wrote whole documents or nothing
            return

    def report(self, outcomes: list[TaskOutcome], *, verbosity: int, timed: bool = False) -> None:
        prefix = f"{utc(mongo.utc_now())} " if timed else ""
        for outcome in outcomes:
            if outcome.failed:
                self.stderr.write(f"{prefix}{outcome}")
            elif verbosity >= 1:
                self.stdout.write(f"{prefix}{outcome}")
        self.stdout.flush()
        self.stderr.flush()


def _sleep(seconds: float) -> bool:
    """Waits; never asks to stop (the process is stopped by a signal)."""
    time.sleep(seconds)
    return False
