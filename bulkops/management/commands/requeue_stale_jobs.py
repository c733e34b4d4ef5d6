"""`manage.py requeue_stale_jobs [--type T] [--priority P] [--dataset D] [--namespace N]
[--worker-size S] [--limit N] [--dry-run]`

The same operation as POST /admin/requeue-stale-jobs, run batch after batch until the filter is
exhausted: every stale job (started, quiet for longer than ADMIN_STALE_JOB_SECONDS, or terminated
that long ago) is deleted if it is still stale, and one waiting job is queued for its artifact at
the same revision, priority and difficulty (none when one is waiting already). One line per job
says what happened; a summary ends the run. One audit entry per batch, as `command:<OS user>`.
With --dry-run, the count and the first batch are shown; nothing is written.

Exit status: 0 done (a job that sent a heartbeat meanwhile, or finished, is left alone: that is
not a failure), 1 it failed (bad parameter, database unavailable...), 2 some jobs could not be
requeued because their lock stayed held (run the command again).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from bulkops import stale_jobs
from bulkops.parameters import RequeueStaleJobsParameters
from foundation.core.commands import AdminCommand, command_actor
from foundation.core.words import plural
from foundation.web.parameters import validated
from jobs import selectors as job_selectors
from jobs.filters import stale_job_filters
from jobs.requeue import LeftAlone

EXIT_STATUSES = "exit status: 0 done, 1 failed, 2 some jobs were locked by another process (run it again)"


class Command(AdminCommand):
    help = f"Requeue every stale job that matches a filter, batch by batch. {EXIT_STATUSES}."
    unavailable_outcome = "the batches already done stay done; run the command again to go on."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", default=None, help="only jobs of this type (processing step)")
        parser.add_argument("--priority", default=None, help="only jobs of this priority: high, normal or low")
        parser.add_argument("--dataset", default=None, help="only jobs of this dataset")
        parser.add_argument("--namespace", default=None, help="only jobs of the datasets of this namespace")
        parser.add_argument("--worker-size", default=None, help="only jobs of this worker size: light, medium, heavy")
        parser.add_argument("--limit", default=None, help="jobs per batch, 1..1000 (default 100)")
        parser.add_argument("--dry-run", action="store_true", help="count and list the first batch; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        given = {name: options[name] for name in ("type", "priority", "dataset", "namespace", "worker_size", "limit")}
        parameters = validated(RequeueStaleJobsParameters, given)
        filters = stale_job_filters(parameters, stale_before=job_selectors.stale_before())
        limit = parameters["limit"]
        actor = command_actor()
        if options["dry_run"]:
            outcome = stale_jobs.requeue_stale_jobs(filters=filters, cursor="", limit=limit, dry_run=True, actor=actor)
            for job in outcome.jobs:
                artifact = ",".join(str(job[part]) for part in ("dataset", "config", "split") if job.get(part))
                self.stdout.write(f"{job.get('type')} {artifact}: would be requeued")
            more = outcome.matched - outcome.processed
            self.stdout.write(
                f"dry run, nothing changed. {plural(outcome.matched, 'stale job matches', 'stale jobs match')}"
                + (f" ({more} more not listed)" if more > 0 else "")
            )
            return
        cursor, requeued, created, left_alone, locked = "", 0, 0, 0, 0
        while True:
            outcome = stale_jobs.requeue_stale_jobs(
                filters=filters, cursor=cursor, limit=limit, dry_run=False, actor=actor
            )
            for result in outcome.results:
                self.stdout.write(stale_jobs.result_words(result))
                if isinstance(result, LeftAlone):
                    left_alone += 1
                    locked += result.why == "locked"
            requeued += len(outcome.requeued)
            created += outcome.created_jobs
            cursor = outcome.next_cursor
            if not cursor:
                break
        self.stdout.write(
            f"{plural(requeued, 'stale job', 'stale jobs')} requeued ({plural(created, 'waiting job', 'waiting jobs')}"
            f" queued, {requeued - created} already waiting), {left_alone} left alone"
        )
        if locked:
            raise CommandError(f"{plural(locked, 'job was', 'jobs were')} locked by another process", returncode=2)
