"""`manage.py bulk_refresh --kind K [--error-code E] [--cause-exception X] [--http-status N]
[--runner-version-below N] [--dataset-prefix P] [--updated-before T] [--root-errors-only]
[--priority P] [--limit N] [--dry-run]`

The same operation as POST /admin/bulk-refresh, run batch after batch until the filter is
exhausted: a waiting job for every matching cache entry of a dataset the Hub supports. A
terminal shows a progress bar (entries done of those matched); each skipped entry gets a line
with its reason, and a summary ends the run. One audit entry per batch, as `command:<OS user>`.
With --dry-run, only the count and the first batch are shown; nothing is written.

Exit status: 0 every entry was refreshed, 1 it failed (bad parameter, database unavailable...),
2 some entries were skipped (the Hub refused or could not answer for their dataset).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from django.core.management.base import CommandError, CommandParser

from bulkops import services as bulk_refresh
from bulkops.parameters import BulkRefreshParameters
from cachereports.filters import CacheEntryFilter, cache_entry_filter
from foundation.core.commands import AdminCommand, ProgressBar, command_actor
from foundation.core.words import plural
from foundation.web.parameters import validated
from jobs.constants import Priority

EXIT_STATUSES = "exit status: 0 all refreshed, 1 failed, 2 some entries skipped (their dataset refused or unreachable)"


class Command(AdminCommand):
    help = f"Force-refresh every cache entry that matches a filter, batch by batch. {EXIT_STATUSES}."
    unavailable_outcome = "the batches already done stay done; run the command again to go on."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, help="the cache kind (processing step), e.g. config-parquet")
        parser.add_argument("--error-code", default=None, help="only entries with this error code")
        parser.add_argument("--cause-exception", default=None, help="only entries whose details.cause_exception is X")
        parser.add_argument("--http-status", default=None, help="only entries with this HTTP status")
        parser.add_argument(
            "--runner-version-below", default=None, help="only entries of a job runner older than N (or unknown)"
        )
        parser.add_argument("--dataset-prefix", default=None, help="only datasets whose name starts with P")
        parser.add_argument("--updated-before", default=None, help="only entries updated before T (ISO 8601, UTC)")
        parser.add_argument(
            "--root-errors-only", action="store_true", help="only errors that copy no other entry (their roots)"
        )
        parser.add_argument("--priority", default=None, help="of the jobs: low (default), normal or high")
        parser.add_argument("--limit", default=None, help="entries per batch, 1..1000 (default 100)")
        parser.add_argument("--dry-run", action="store_true", help="count and list the first batch; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        parameters = validated(
            BulkRefreshParameters, {**options, "job_runner_version_below": options["runner_version_below"]}
        )
        entry_filter, limit, priority = cache_entry_filter(parameters), parameters["limit"], parameters["priority"]
        if options["dry_run"]:
            self._preview(entry_filter=entry_filter, limit=limit, priority=priority)
            return
        actor = command_actor()
        after: ObjectId | None = None
        done, created, waiting, skipped = 0, 0, 0, 0
        progress: ProgressBar | None = None
        while True:
            outcome = bulk_refresh.bulk_refresh(
                entry_filter=entry_filter, after=after, limit=limit, priority=priority, dry_run=False, actor=actor
            )
            if progress is None:
                progress = ProgressBar(out=self.stdout, bar_stream=self.raw_stderr, total=outcome.matched)
            done, created, waiting = (
                done + outcome.processed,
                created + outcome.created_jobs,
                waiting + outcome.already_waiting,
            )
            for entry in outcome.skipped:
                skipped += 1
                target = ",".join(part for part in (entry.dataset, entry.config, entry.split) if part is not None)
                progress.write_line(f"{target}: skipped: {entry.reason}")
            progress.show(done=done, total=max(outcome.matched, done), label="entries")
            if not outcome.next_cursor:
                break
            after = ObjectId(outcome.next_cursor)
        progress.clear()
        self.stdout.write(
            f"{plural(done, 'entry', 'entries')} processed: {plural(created, 'job', 'jobs')} created,"
            f" {waiting} already waiting, {skipped} skipped"
        )
        if skipped:
            raise CommandError(f"{plural(skipped, 'entry was', 'entries were')} skipped", returncode=2)

    def _preview(self, *, entry_filter: CacheEntryFilter, limit: int, priority: Priority) -> None:
        outcome = bulk_refresh.bulk_refresh(
            entry_filter=entry_filter,
            after=None,
            limit=limit,
            priority=priority,
            dry_run=True,
            actor=command_actor(),
        )
        for entry in outcome.entries:
            target = ",".join(part for part in (entry.dataset, entry.config, entry.split) if part is not None)
            self.stdout.write(f"{target}: would be refreshed ({entry.error_code or entry.http_status})")
        more = outcome.matched - outcome.processed
        self.stdout.write(
            f"dry run, nothing changed. {plural(outcome.matched, 'entry matches', 'entries match')}"
            + (f" ({more} more not listed)" if more > 0 else "")
        )
