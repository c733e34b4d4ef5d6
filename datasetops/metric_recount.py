"""The recount of the metric rows: `cacheTotalMetric`, `jobTotalMetric` and `workerTypeJobCounts` from the documents.

The other services move these rows with `$inc` as they write, and their collectors (the
`cache_maintenance` job's collect-cache-metrics and collect-queue-metrics actions) recompute
them from the documents on a schedule. Ours move by what each write really did, but a write
whose answer was lost in a database cut, a process that died half-way, or a writer of another
service leaves rows off. This recount computes the rows as those collectors do
(`cachereports.selectors.cache_entries_by_metric_row`, `jobs.selectors.jobs_by_metric_row`,
`jobs.selectors.jobs_by_worker_size`), says how far off each row is, and (unless a dry run)
sets it to the recount: by a `$inc` of its drift, so that a write landing at the same moment
is not overwritten, and an obsolete row is deleted as the collectors delete it. A row that
moved while the documents were counted (a live writer) is left for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.services import audited
from cachereports.services import recount_cache_metric
from foundation.core.identity import HubIdentity
from foundation.database.metric_rows import Recount, RowDrift
from jobs.services import recount_job_metrics


@dataclass(frozen=True)
class MetricRecount:
    """What the recount found, and what it left (a dry run leaves everything as it is)."""

    dry_run: bool
    recount: Recount

    @property
    def off(self) -> list[RowDrift]:
        """The rows whose value is not the recount's (a row only absent where the recount says 0 is not off)."""
        return [drift for drift in self.recount.found if drift.drift or drift.moved]

    @property
    def total_drift(self) -> int:
        """The sum of how far off each row is, either way."""
        return sum(abs(drift.drift) for drift in self.recount.found)

    @property
    def settled(self) -> bool:
        """Whether the rows now equal the recount: nothing off, or everything set to it."""
        left = self.recount.left if not self.dry_run else self.off
        return not [drift for drift in left if drift.drift or drift.moved]


def recount_metrics(*, dry_run: bool, actor: HubIdentity) -> MetricRecount:
    """Recount the three metric collections; unless `dry_run`, set their rows to the recount (audited)."""
    if dry_run:
        return MetricRecount(dry_run=True, recount=recount_all(dry_run=True))
    with audited(actor=actor, action="recount-metrics", parameters={}) as record:
        cache = recount_cache_metric(dry_run=False)
        record.result = _counts(cache)
        recount = cache + recount_job_metrics(dry_run=False)
        record.result = _counts(recount)
        record.partial = bool(recount.left)
    return MetricRecount(dry_run=False, recount=recount)


def _counts(recount: Recount) -> dict[str, int]:
    """The audit entry's result: rows found off, the sum of their drifts, rows left (they moved while counted)."""
    return {
        "rows_off": len([drift for drift in recount.found if drift.drift]),
        "total_drift": sum(abs(drift.drift) for drift in recount.found),
        "rows_left": len(recount.left),
    }


def recount_all(*, dry_run: bool) -> Recount:
    """The three metric collections against the recount (set to it unless `dry_run`); not audited."""
    return recount_cache_metric(dry_run=dry_run) + recount_job_metrics(dry_run=dry_run)
