"""How the stand-in worker fleet of the demo is sized and how often its jobs fail, die or run away.

Read by `scripts/run.py` before anything starts (a bad value stops `make run` with one line
naming the variable) and by `manage.py run_demo_fleet`. No Django here: the start-up script
imports it before the settings exist.

    DEMO_WORKERS=2,2,1     light, medium and heavy workers (the default)
    DEMO_WORKERS=5         five workers, dealt light, medium, heavy, light, medium
    DEMO_WORKERS=0         no fleet
    DEMO_FAILURE_RATE=0.1  the share of jobs that end in an error of their step (0 to 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

WORKER_SIZES = ("light", "medium", "heavy")
MAX_WORKERS = 50
"""More would only fight over the machine's cores (and the embedded engine's)."""

WORKERS_VARIABLE = "DEMO_WORKERS"
FAILURE_RATE_VARIABLE = "DEMO_FAILURE_RATE"
DEMO_STALE_JOB_SECONDS = 30
"""The demo's ADMIN_STALE_JOB_SECONDS (300 by default): 30 missed beats of 1 s, so a dead worker shows soon."""


class FleetSettingsError(Exception):
    """A fleet variable with a value the fleet cannot run with; the message names the variable."""


@dataclass(frozen=True)
class WorkerCounts:
    light: int = 2
    medium: int = 2
    heavy: int = 1

    @property
    def total(self) -> int:
        return self.light + self.medium + self.heavy

    def sizes(self) -> list[str]:
        """One size per worker: the light ones, then the medium ones, then the heavy ones."""
        return ["light"] * self.light + ["medium"] * self.medium + ["heavy"] * self.heavy

    def describe(self) -> str:
        return f"{self.light} light, {self.medium} medium, {self.heavy} heavy"

    def as_option(self) -> str:
        return f"{self.light},{self.medium},{self.heavy}"


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    """Everything a stand-in worker needs to know; the defaults are the demo's."""

    workers: WorkerCounts = field(default_factory=WorkerCounts)
    failure_rate: float = 0.1
    """The share of jobs whose step fails (with one of the step's error codes of the demo world)."""
    death_rate: float = 0.05
    """The share of jobs whose worker "dies": the job stays started, without heartbeats (it turns stale)."""
    runaway_rate: float = 0.004
    """The share of jobs that stand for 2 to 3 hours of compute: their dataset goes over its budget."""
    job_seconds: tuple[float, float] = (0.5, 4.0)
    """How long a job runs, drawn between these (wall-clock seconds)."""
    clock_scale: float = 60.0
    """A second of a stand-in job counts as this many seconds of compute (its `duration` and `pastJobs`)."""
    heartbeat_seconds: float = 1.0
    """Heartbeats every 60 s of the demo's compute clock: 1 s of wall time at the scale of 60."""
    idle_seconds: float = 1.0
    """How long a worker that found no job waits before it looks again."""
    world_seed: int = 0
    """The seed of the demo world (`seed_demo --seed`): what a successful job writes comes from it."""


def parse_worker_counts(value: str, *, name: str = WORKERS_VARIABLE) -> WorkerCounts:
    """`light,medium,heavy` counts, or a total dealt light, medium, heavy in turn; FleetSettingsError otherwise."""
    text = value.strip()
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (1, 3) or not all(part.isascii() and part.isdigit() for part in parts):
        raise FleetSettingsError(
            f"{name}: expected a number of workers (e.g. 5) or light,medium,heavy counts"
            f" (e.g. 2,2,1), 0 for none; got {value!r}"
        )
    numbers = [int(part) for part in parts]
    if len(numbers) == 1:
        total = numbers[0]
        numbers = [len(range(index, total, len(WORKER_SIZES))) for index in range(len(WORKER_SIZES))]
    counts = WorkerCounts(*numbers)
    if counts.total > MAX_WORKERS:
        raise FleetSettingsError(f"{name}: at most {MAX_WORKERS} workers; got {value!r}")
    return counts


def parse_rate(value: str, *, name: str) -> float:
    """A share between 0 and 1 (`0.1`, `0`, `1`); FleetSettingsError naming the variable otherwise."""
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:  # NaN fails both comparisons
        raise FleetSettingsError(f"{name}: expected a share between 0 and 1 (e.g. 0.1); got {value!r}")
    return rate


def fleet_settings_from(environ: Mapping[str, str]) -> FleetSettings:
    """The fleet of `make run` from DEMO_WORKERS and DEMO_FAILURE_RATE (unset or blank: the defaults)."""
    defaults = FleetSettings()
    workers = environ.get(WORKERS_VARIABLE, "").strip()
    failure_rate = environ.get(FAILURE_RATE_VARIABLE, "").strip()
    return FleetSettings(
        workers=parse_worker_counts(workers) if workers else defaults.workers,
        failure_rate=parse_rate(failure_rate, name=FAILURE_RATE_VARIABLE) if failure_rate else defaults.failure_rate,
    )
