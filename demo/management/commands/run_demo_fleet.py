"""`manage.py run_demo_fleet`: the demo's stand-in workers, until SIGTERM (what `make run` starts beside the server).

    manage.py run_demo_fleet                               # 2 light, 2 medium, 1 heavy
    manage.py run_demo_fleet --workers 1,0,0 --failure-rate 0 --seed 7

They write into the databases of the settings, as the dataset viewer's workers would: never
point them at production. `make run` starts them on its embedded engine only. The process
stops on SIGTERM or Ctrl-C, or when the process that started it is gone (`--parent-pid`), so
that it never outlives the demo; a job in the middle of its run is left started, terminated.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import CommandError, CommandParser

from demo.fleet.runner import run_fleet
from demo.fleet.settings import FleetSettings, FleetSettingsError, parse_rate, parse_worker_counts
from foundation.core.commands import AdminCommand

PARENT_CHECK_SECONDS = 1.0

EXIT_STATUSES = "exit status: 0 stopped (SIGTERM, Ctrl-C or its parent gone), 1 bad options or a database error"


class Command(AdminCommand):
    help = (
        "Run the demo's stand-in workers (not the dataset viewer's) on the configured databases until stopped."
        f" {EXIT_STATUSES}."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, epilog=EXIT_STATUSES, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = FleetSettings()
        parser.add_argument(
            "--workers",
            default=defaults.workers.as_option(),
            help="light,medium,heavy counts, or a total (default 2,2,1)",
        )
        for name, default, what in (
            ("failure-rate", defaults.failure_rate, "jobs that end in an error of their step"),
            ("death-rate", defaults.death_rate, "jobs whose worker dies (left started, without heartbeats)"),
            ("runaway-rate", defaults.runaway_rate, "jobs that stand for 2-3 hours of compute (blocks the dataset)"),
        ):
            parser.add_argument(f"--{name}", default=str(default), help=f"share of {what} (default {default})")
        parser.add_argument(
            "--seed", type=int, default=None, help="the same seed draws the same failures (default: random)"
        )
        parser.add_argument(
            "--world-seed", type=int, default=defaults.world_seed, help="seed of the demo world (seed_demo --seed)"
        )
        parser.add_argument("--parent-pid", type=int, default=None, help="stop when this process is gone")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            settings = FleetSettings(
                workers=parse_worker_counts(options["workers"], name="--workers"),
                failure_rate=parse_rate(options["failure_rate"], name="--failure-rate"),
                death_rate=parse_rate(options["death_rate"], name="--death-rate"),
                runaway_rate=parse_rate(options["runaway_rate"], name="--runaway-rate"),
                world_seed=options["world_seed"],
            )
        except FleetSettingsError as error:
            raise CommandError(str(error)) from None
        stop = threading.Event()
        self.output_lock = threading.Lock()

        def on_signal(number: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if options["parent_pid"] is not None:
            threading.Thread(target=_stop_without_parent, args=(options["parent_pid"], stop), daemon=True).start()
        seed = options["seed"] if options["seed"] is not None else secrets.randbelow(2**32)
        self.stdout.write(f"stand-in workers running: {settings.workers.describe()} (seed {seed})")
        run_fleet(settings, seed=seed, stop=stop, report=self._report)

    def _report(self, line: str) -> None:
        with self.output_lock:  # the workers' threads report at once
            self.stdout.write(line)
            self.stdout.flush()


def _stop_without_parent(parent: int, stop: threading.Event) -> None:
    """Set `stop` once `parent` is gone (this process is then adopted by another one)."""
    while not stop.wait(PARENT_CHECK_SECONDS):
        if os.getppid() != parent:
            stop.set()
