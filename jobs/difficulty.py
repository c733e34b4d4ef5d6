"""The difficulty of a job: one rule for each place where the other services queue one.

A job's difficulty (0-100) chooses the size of the worker that may run it (`worker_size`): a
job given 70 where the workers compute 90 lands on a smaller worker and can run out of
memory. The other services compute it in three places, with rules that really differ; each
has its function here, named for where they apply it, so that the console, the backfill plan
and the demo's stand-in workers never compute it another way:
- `force_refresh_difficulty`: the admin service's force-refresh (and so our bulk refresh);
- `backfill_plan_difficulty`: the backfill planner of the workers' orchestrator;
- `child_job_difficulty`: a worker queueing the children of the job it finished.
"""

from __future__ import annotations

from foundation.core.processing_graph import ProcessingStep

MIN_BYTES_FOR_BONUS_DIFFICULTY = 3_000_000_000
"""Past this many bytes a config (or split) is big, and its jobs get the step's bonus difficulty."""

DIFFICULTY_BONUS_BY_FAILED_RUNS = 20
"""The backfill planner raises a job's difficulty by this much per failed run of its artifact..."""
MAX_DIFFICULTY = 100
"""...up to this. It is also the largest difficulty a force-refresh may ask for."""


def force_refresh_difficulty(*, step: ProcessingStep, asked: int | None, num_bytes: int | None) -> int:
    """The difficulty asked (or the step's), + the step's bonus when the config or split has more than 3e9 bytes.

    `num_bytes` is what the `config-info` entry says of the artifact: the config's
    `dataset_size`, or for a split its own `num_bytes` (None when unknown or dataset level).
    """
    difficulty = step.difficulty if asked is None else asked
    if num_bytes is not None and num_bytes > MIN_BYTES_FOR_BONUS_DIFFICULTY:
        difficulty += step.bonus_difficulty_if_dataset_is_big
    return difficulty


def backfill_plan_difficulty(*, step: ProcessingStep, num_bytes: int | None, failed_runs: int) -> int:
    """The step's difficulty, + its bonus when big (more than 3e9 bytes), + 20 per failed run, at most 100."""
    difficulty = step.difficulty
    if num_bytes is not None and num_bytes > MIN_BYTES_FOR_BONUS_DIFFICULTY:
        difficulty += step.bonus_difficulty_if_dataset_is_big
    return min(MAX_DIFFICULTY, difficulty + DIFFICULTY_BONUS_BY_FAILED_RUNS * failed_runs)


def child_job_difficulty(*, step: ProcessingStep, num_bytes: int | None) -> int:
    """The child step's difficulty, + its bonus when the finished job's config (or split) has at least 3e9 bytes."""
    if num_bytes is not None and num_bytes >= MIN_BYTES_FOR_BONUS_DIFFICULTY:
        return step.difficulty + step.bonus_difficulty_if_dataset_is_big
    return step.difficulty
