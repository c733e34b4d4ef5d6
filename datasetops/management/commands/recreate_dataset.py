"""`manage.py recreate_dataset DATASET... [--from-file F] [--priority P] [--dry-run]`

The same operation as POST /admin/recreate-dataset, for one or many datasets: ask the Hub,
delete the waiting jobs, cache entries and asset folders, queue a `dataset-init` job. Every
name is checked before anything is done. Prints a progress bar (stderr, on a terminal), one
line per dataset and a summary. Recorded in the audit log as `command:<OS user>` (dry runs
change nothing and are not recorded). When the database becomes unavailable the run stops:
the datasets not reached yet are left alone ("not attempted").

Exit status: 0 every dataset was recreated or, not being supported, removed (what a recreate
of an unsupported dataset is for); 1 a dataset failed, or a name or option was refused
(nothing done).
"""

from __future__ import annotations

import os
import stat
from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasetops.parameters import DatasetsCommandParameters
from datasetops.services import RecreateOutcome, recreate_dataset
from foundation.core.commands import (
    AdminCommand,
    DatasetOutcome,
    Summary,
    command_actor,
    run_per_dataset,
)
from foundation.core.errors import AdminError
from foundation.core.words import plural
from foundation.web.parameters import validated
from jobs.constants import Priority

MAX_DATASET_FILE_BYTES = 16 * 1024 * 1024
"""16 MiB: some 170,000 names of the longest kind; more is a mistake (`/dev/zero`), refused."""


def _read_dataset_file(path: str) -> list[str]:
    """One dataset name a line; blank lines and lines starting with '#' are skipped.

    At most MAX_DATASET_FILE_BYTES are read, and the text must be UTF-8: else a one-line error.
    A pipe is read as it is written (`--from-file <(grep ...)`), but a named pipe that no
    program writes to is an error, not a wait forever: opening it for reading would block
    until a writer comes, so it is opened without waiting, and a pipe with no writer reads as
    empty at once.
    """
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as names:
            is_pipe = stat.S_ISFIFO(os.fstat(names.fileno()).st_mode)
            os.set_blocking(names.fileno(), True)  # a writer there: wait for its lines, as `cat` would
            data = names.read(MAX_DATASET_FILE_BYTES + 1)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    if is_pipe and not data:
        raise CommandError(f"{path} is a pipe that no program writes to: nothing to read")
    if len(data) > MAX_DATASET_FILE_BYTES:
        raise CommandError(f"{path} is larger than {MAX_DATASET_FILE_BYTES} bytes: split it into smaller files")
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise CommandError(f"{path} is not UTF-8 text (at byte {error.start})") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _describe(outcome: RecreateOutcome) -> str:
    verb = "would delete" if outcome.dry_run else "deleted"
    counts = (
        f"{verb} {plural(outcome.deleted_jobs, 'waiting job', 'waiting jobs')},"
        f" {plural(outcome.deleted_cached_responses, 'cache entry', 'cache entries')},"
        f" {plural(outcome.deleted_asset_folders, 'asset folder', 'asset folders')}"
    )
    if outcome.not_supported is not None:
        return f"not supported ({outcome.not_supported.error_code}): {counts}, no job"
    create = "would create" if outcome.dry_run else "created"
    if outcome.waiting_job is not None and outcome.waiting_job.action == "already_started":
        create = "kept the started"
    elif outcome.waiting_job is not None and outcome.waiting_job.action != "created":
        create = "kept the waiting"
    return f"{counts}; {create} a dataset-init job at revision {outcome.revision}"


EXIT_STATUSES = (
    "exit status: 0 every dataset was recreated or, not being supported, removed;"
    " 1 a dataset failed or the arguments were refused"
)


class Command(AdminCommand):
    help = (
        f"Wipe datasets (waiting jobs, cache entries, asset folders) and start their processing over. {EXIT_STATUSES}."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("datasets", nargs="*", metavar="DATASET", help="dataset names (namespace/name)")
        parser.add_argument("--from-file", metavar="F", help="also read dataset names from F, one a line")
        parser.add_argument(
            "--priority", default=None, help="priority of the dataset-init jobs: low (default), normal, high"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be deleted and created; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        datasets: list[str] = list(options["datasets"])
        if options["from_file"]:
            datasets += _read_dataset_file(options["from_file"])
        try:
            parameters = validated(DatasetsCommandParameters, {**options, "datasets": datasets})
        except AdminError as error:
            raise CommandError(error.message) from None
        datasets, priority = parameters["datasets"], parameters["priority"]
        dry_run: bool = options["dry_run"]
        summary = self._run(datasets=datasets, priority=priority, dry_run=dry_run)
        if summary.not_attempted:
            raise CommandError(
                f"{len(summary.failed)} dataset(s) failed: {', '.join(summary.failed)};"
                f" {len(summary.not_attempted)} not attempted",
                returncode=1,
            )
        if summary.failed:
            raise CommandError(f"{len(summary.failed)} dataset(s) failed: {', '.join(summary.failed)}", returncode=1)

    def _run(self, *, datasets: list[str], priority: Priority, dry_run: bool) -> Summary:
        actor = command_actor()

        def recreate_one(dataset: str) -> DatasetOutcome:
            outcome = recreate_dataset(dataset=dataset, priority=priority, actor=actor, dry_run=dry_run)
            return outcome.not_supported is None, _describe(outcome)

        return run_per_dataset(self, datasets, recreate_one, dry_run=dry_run)
