"""`manage.py seed_demo`: fill empty cache and queue databases with a realistic demo world.

    manage.py seed_demo                                   # ~300 datasets, ~400 jobs
    manage.py seed_demo --cache-entries 1000000 --jobs 100000 --seed 7   # for benchmarks
    manage.py seed_demo --if-empty                        # `make run`: only on first start

It never writes into databases that already hold cache entries, jobs or metric rows (they
could be production's): without --if-empty that is an error, with it a no-op.

Exit status: 0 written (or, with --if-empty, nothing to do), 1 refused (databases hold data, bad
option) or a database is unavailable.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from demo.world import databases_are_empty, seed_world
from foundation.core.commands import AdminCommand, ProgressBar


def positive_integer(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


EXIT_STATUSES = "exit status: 0 written (or nothing to do with --if-empty), 1 refused or a database is unavailable"


class Command(AdminCommand):
    help = (
        "Write a realistic demo world (cache entries, jobs, blockages, metric rows) into empty databases."
        f" {EXIT_STATUSES}."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--datasets", type=positive_integer, default=300, help="number of datasets (default 300; ~60 entries each)"
        )
        parser.add_argument(
            "--cache-entries",
            type=positive_integer,
            default=None,
            help="write exactly this many cache entries instead (datasets are added until reached)",
        )
        parser.add_argument("--jobs", type=positive_integer, default=400, help="number of waiting/started jobs")
        parser.add_argument("--seed", type=int, default=0, help="the same seed writes the same world (default 0)")
        parser.add_argument("--batch-size", type=int, default=5000, help="documents per insert_many (default 5000)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when the databases already hold data"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if not databases_are_empty():
            if options["if_empty"]:
                self.stdout.write("The databases already hold data: no demo data written.")
                return
            raise CommandError("The databases already hold data: seed_demo only writes into empty databases.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        bar = ProgressBar(out=self.stdout, bar_stream=self.raw_stderr, total=0, milestones=True)

        def progress(what: str, done: int, total: int) -> None:
            if not options["no_progress"]:
                bar.show(done=done, total=total, label=what)

        self.unavailable_outcome = "the demo world may be incomplete: empty the databases and run it again."
        summary = seed_world(
            datasets=None if options["cache_entries"] is not None else options["datasets"],
            cache_entries=options["cache_entries"],
            jobs=options["jobs"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            progress=progress,
        )
        bar.clear()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo world written: {summary.datasets:,} datasets, {summary.cache_entries:,} cache entries, "
                f"{summary.jobs:,} jobs, {summary.blocked_datasets:,} blocked datasets."
            )
        )
