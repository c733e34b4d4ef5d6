"""`manage.py backfill_dataset DATASET... [--priority P] [--dry-run]`

The same operation as POST /admin/dataset-backfill, for one or many datasets: ask the Hub for
the current revision, compute the backfill plan, delete the waiting jobs it names and create the
jobs it lists. `--dry-run` prints the plan (as GET /admin/dataset-backfill-plan) and changes
nothing. Every name is checked before anything is done. Prints a progress bar (stderr, on a
terminal), one line per dataset and a summary. Recorded in the audit log as `command:<OS user>`
(dry runs are not recorded). When the database becomes unavailable the run stops: the datasets
not reached yet are left alone ("not attempted").

Exit status: 0 every dataset was backfilled (or planned); 1 a dataset failed, or a name or
option was refused (nothing done); 2 none failed but some are not supported (nothing queued).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasetops.backfill import BackfillPlan
from datasetops.parameters import DatasetsCommandParameters
from datasetops.selectors import dataset_backfill_plan
from datasetops.services import backfill_dataset
from foundation.core.commands import (
    AdminCommand,
    DatasetOutcome,
    Summary,
    command_actor,
    run_per_dataset,
)
from foundation.core.errors import AdminError
from foundation.core.words import plural
from foundation.hub.dataset_support import NotSupportedError
from foundation.web.parameters import validated
from jobs.constants import Priority

EXIT_STATUSES = (
    "exit status: 0 every dataset was backfilled (or planned); 1 a dataset failed or the arguments were refused;"
    " 2 none failed but some are not supported (nothing queued)"
)


def _describe_plan(plan: BackfillPlan) -> str:
    return (
        f"would create {plural(len(plan.jobs_to_create), 'job', 'jobs')}, would delete"
        f" {plural(len(plan.waiting_jobs_to_delete), 'waiting job', 'waiting jobs')} (revision {plan.revision})"
    )


class Command(AdminCommand):
    help = f"Apply the backfill plan of datasets: create missing jobs, delete useless waiting ones. {EXIT_STATUSES}."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("datasets", nargs="+", metavar="DATASET", help="dataset names (namespace/name)")
        parser.add_argument(
            "--priority", default=None, help="priority of the jobs created: low (default), normal, high"
        )
        parser.add_argument("--dry-run", action="store_true", help="print each plan; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            parameters = validated(DatasetsCommandParameters, options)
        except AdminError as error:
            raise CommandError(error.message) from None
        datasets, priority = parameters["datasets"], parameters["priority"]
        dry_run: bool = options["dry_run"]
        summary = self._run(datasets=datasets, priority=priority, dry_run=dry_run)
        if summary.failed:
            not_attempted = f"; {len(summary.not_attempted)} not attempted" if summary.not_attempted else ""
            raise CommandError(
                f"{len(summary.failed)} dataset(s) failed: {', '.join(summary.failed)}{not_attempted}", returncode=1
            )
        if summary.not_supported:
            raise CommandError(
                f"{len(summary.not_supported)} dataset(s) not supported: {', '.join(summary.not_supported)}",
                returncode=2,
            )

    def _backfill_one(self, *, dataset: str, priority: Priority, dry_run: bool) -> DatasetOutcome:
        try:
            if dry_run:
                return True, _describe_plan(dataset_backfill_plan(dataset=dataset, priority=priority))
            outcome = backfill_dataset(dataset=dataset, priority=priority, actor=command_actor())
        except NotSupportedError as refusal:
            return False, f"not supported ({refusal.error_code}): nothing queued"
        return True, (
            f"created {plural(outcome.changes.created, 'job', 'jobs')}, deleted"
            f" {plural(outcome.changes.deleted, 'waiting job', 'waiting jobs')} (revision {outcome.plan.revision})"
        )

    def _run(self, *, datasets: list[str], priority: Priority, dry_run: bool) -> Summary:
        return run_per_dataset(
            self,
            datasets,
            lambda dataset: self._backfill_one(dataset=dataset, priority=priority, dry_run=dry_run),
            dry_run=dry_run,
        )
