"""`manage.py force_refresh STEP --dataset D [--config C] [--split S] [--priority P] [--difficulty N]`

The same operation as POST /admin/force-refresh/{STEP}: queue one job for the artifact at the
Hub's current revision, unless one is already waiting (then its priority is raised if needed).
Prints the outcome and a summary. Recorded in the audit log as `command:<OS user>`.

Exit status: 0 a job stands (created, already waiting or priority raised), 1 it failed
(bad parameter, Hub or database unavailable...), 2 the dataset is not supported (nothing queued).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasetops.parameters import force_refresh_request
from datasetops.services import force_refresh
from foundation.core.commands import AdminCommand, Summary, command_actor
from foundation.core.errors import AdminError
from foundation.hub.dataset_support import NotSupportedError

EXIT_STATUSES = (
    "exit status: 0 a job stands (created, already waiting or priority raised), 1 failed (nothing queued),"
    " 2 the dataset is not supported (nothing queued)"
)


class Command(AdminCommand):
    help = f"Re-run one processing step for one dataset, config or split. {EXIT_STATUSES}."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("step", metavar="STEP", help="the processing step (job type), e.g. config-parquet")
        parser.add_argument("--dataset", required=True, help="the dataset (namespace/name)")
        parser.add_argument("--config", default=None, help="the config (config and split steps)")
        parser.add_argument("--split", default=None, help="the split (split steps)")
        parser.add_argument("--priority", default=None, help="low (default), normal or high")
        parser.add_argument(
            "--difficulty", default=None, help="0..100 (default: the step's), plus the big-dataset bonus"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            request = force_refresh_request(
                {
                    "job_type": options["step"],
                    **{name: options[name] for name in ("dataset", "config", "split", "priority", "difficulty")},
                }
            )
        except AdminError as error:
            raise CommandError(f"{error.error_code}: {error.message}") from None
        summary = Summary()
        target = ",".join(part for part in (request.dataset, request.config, request.split) if part is not None)
        try:
            outcome = force_refresh(request=request, actor=command_actor())
        except NotSupportedError as refusal:
            summary.not_supported.append(target)
            self.stdout.write(f"{target}: not supported ({refusal.error_code}): {refusal.message}")
        except AdminError as error:
            summary.failed.append(target)
            self.stdout.write(f"{target}: failed ({error.error_code}): {error.message}")
        else:
            summary.done.append(target)
            job = outcome.waiting_job
            changed = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in job.changes.items())
            self.stdout.write(
                f"{target}: {job.action.replace('_', ' ')}{f' ({changed})' if changed else ''}:"
                f" {request.step.name} job {job.job_id}"
                f" (revision {outcome.revision}, priority {job.job.priority}, difficulty {job.job.difficulty})"
            )
        self.stdout.write(summary.line())
        if summary.failed:
            raise CommandError(f"force-refresh of {target} failed", returncode=1)
        if summary.not_supported:
            raise CommandError(f"{target} is not supported: nothing queued", returncode=2)
