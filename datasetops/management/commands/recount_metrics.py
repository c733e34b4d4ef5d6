"""`manage.py recount_metrics [--dry-run]`

Recompute `cacheTotalMetric`, `jobTotalMetric` and `workerTypeJobCounts` from the cache entries
and jobs, as the other services' metric collectors do, and set every row that is off to its
recount (`datasets.metric_recount`). Prints one line per row that differs from the recount
(its fields, its value, the recount's, how far off) and a summary. `--dry-run` prints the same
and changes nothing. Recorded in the audit log as `command:<OS user>` (dry runs are not).

The repair after a fault: a write whose answer the database never sent (a cut) may have moved
a row or not, and only a recount can tell.

Exit status: 0 the rows equal the recount (nothing was off, or every row off was set to it);
1 the command failed (the database unavailable, arguments refused), nothing or part done;
2 rows are off: with --dry-run, the drift printed (nothing changed); without, rows that moved
while they were counted (a live writer) were left as they are: run it again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasetops.metric_recount import MetricRecount, recount_metrics
from foundation.core.commands import AdminCommand, command_actor
from foundation.core.words import plural
from foundation.database.metric_rows import RowDrift

EXIT_STATUSES = (
    "exit status: 0 the rows equal the recount (nothing off, or set to it); 1 the command failed;"
    " 2 rows are off (--dry-run: nothing changed) or moved while counted and were left (run again)"
)


def _value(value: int | None, *, absent: str) -> str:
    return absent if value is None else f"{value:,}"


def _key(drift: RowDrift) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return drift.collection, tuple(drift.row.items())


def _fields(drift: RowDrift) -> str:
    return ", ".join(f"{name}={value}" for name, value in drift.row.items())


def _line(drift: RowDrift, *, dry_run: bool, left: bool) -> str:
    """`cacheTotalMetric kind=k, http_status=200, error_code=None: row 40, recount 0 (+40): set to 0`."""
    stored = _value(drift.stored, absent="no row")
    recounted = _value(drift.recounted, absent="nothing (obsolete row)")
    line = f"{drift.collection} {_fields(drift)}: row {stored}, recount {recounted} ({drift.drift:+,d})"
    if drift.moved or left:
        return f"{line}: moved while counted, left as it is"
    if dry_run:
        return line
    return f"{line}: row removed" if drift.recounted is None else f"{line}: set to {drift.recounted:,}"


def _summary(outcome: MetricRecount) -> str:
    off = len(outcome.off)
    if not off:
        return "every metric row equals the recount" + (" (dry run, nothing changed)" if outcome.dry_run else "")
    rows = plural(off, "row", "rows")
    if outcome.dry_run:
        return f"{rows} off the recount (drift {outcome.total_drift:,} in all); dry run, nothing changed"
    left = len([drift for drift in outcome.recount.left if drift.drift or drift.moved])
    if left:
        return f"{rows} off the recount; set to it except {plural(left, 'row', 'rows')} that moved while counted"
    return f"{rows} off the recount (drift {outcome.total_drift:,} in all): set to the recount"


class Command(AdminCommand):
    help = f"Recount the metric rows from the cache entries and jobs, and set them to the recount. {EXIT_STATUSES}."
    unavailable_outcome = "the rows counted before were set to their recount, the others are as they were."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print how far off each row is; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        outcome = recount_metrics(dry_run=dry_run, actor=command_actor())
        left = {_key(drift) for drift in outcome.recount.left} if not dry_run else set()
        for drift in outcome.recount.found:
            self.stdout.write(_line(drift, dry_run=dry_run, left=_key(drift) in left))
        self.stdout.write(_summary(outcome))
        if not outcome.settled:
            raise CommandError(_summary(outcome), returncode=2)
