"""Values of the queue that the other services define too (REFERENCE.md, "Queue database")."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """Stored as its value. Declared from lowest to highest."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Status(StrEnum):
    WAITING = "waiting"
    STARTED = "started"


PENDING_STATUSES = (Status.WAITING.value, Status.STARTED.value)

DEFAULT_PRIORITY = Priority.LOW

LIGHT_MAX_DIFFICULTY = 40
"""A job of difficulty <= 40 runs on a light worker."""
MEDIUM_MAX_DIFFICULTY = 70
"""A job of difficulty <= 70 (and > 40) runs on a medium worker; above, a heavy one."""


def worker_size(difficulty: float) -> str:
    """The `worker_size` of `workerTypeJobCounts` that a job of this difficulty counts in."""
    if difficulty <= LIGHT_MAX_DIFFICULTY:
        return "light"
    if difficulty <= MEDIUM_MAX_DIFFICULTY:
        return "medium"
    return "heavy"


DATASET_STATUS_NORMAL = "normal"
"""The `dataset_status` of `jobTotalMetric` rows: upstream always counts jobs as "normal"."""

DATASET_INIT_STEP = "dataset-init"
"""The root step: the one job that starts the processing of a dataset."""

DATASET_BLOCKAGE_SECONDS = 6 * 3600
"""A blockage lasts 6 hours after its `blocked_at` (the TTL index of `datasetBlockages`)."""

PAST_JOBS_WINDOW_SECONDS = 3600
"""The workers weigh a dataset's compute time over the last hour of `pastJobs`..."""
DATASET_BLOCKAGE_THRESHOLD_SECONDS = 2 * 3600
"""...and block it when its jobs used more than this in that hour (2 worker-hours)."""

PAST_JOB_MIN_SECONDS = 30
"""A finished job is recorded in `pastJobs` only when it ran at least this long (shorter ones weigh nothing)."""
