"""Reads of the cache database, one module per concern; every query of the cachereports app is built in them.

Each function costs a constant number of database commands: one query or one aggregation,
whatever the number of processing steps or cache entries. This face names them all, so that
`cachereports.selectors.X` stays the one way to a cache read.
"""

from __future__ import annotations

from cachereports.selectors.builder_names import (
    num_dataset_infos_by_builder_name,
)
from cachereports.selectors.config_sizes import (
    ConfigSizes,
    config_num_bytes,
    config_sizes,
)
from cachereports.selectors.copied_errors import (
    ArtifactKey,
    ArtifactLink,
    CopiedFrom,
    copied_errors_origins,
    copied_from_key,
)
from cachereports.selectors.entries import (
    CacheEntriesPage,
    CacheEntryDetail,
    cache_entries_page,
    cache_entry_detail,
)
from cachereports.selectors.error_groups import (
    SAMPLE_DATASETS,
    CacheErrors,
    ErrorGroup,
    cache_errors,
)
from cachereports.selectors.health import (
    CacheHealth,
    KindHealth,
    cache_health,
    cache_metric_rows,
)
from cachereports.selectors.matching import (
    count_matching_datasets,
    count_matching_entries,
    matching_entries_after,
)
from cachereports.selectors.reports import (
    CacheReportsPage,
    cache_entries_of_dataset_page,
    cache_reports_of_dataset,
    cache_reports_page,
    count_cache_entries_of_dataset,
)
from cachereports.selectors.written import (
    WrittenEntries,
    cache_entries_written,
)

__all__ = [
    "SAMPLE_DATASETS",
    "ArtifactKey",
    "ArtifactLink",
    "CacheEntriesPage",
    "CacheEntryDetail",
    "CacheErrors",
    "CacheHealth",
    "CacheReportsPage",
    "ConfigSizes",
    "CopiedFrom",
    "ErrorGroup",
    "KindHealth",
    "WrittenEntries",
    "cache_entries_of_dataset_page",
    "cache_entries_page",
    "cache_entries_written",
    "cache_entry_detail",
    "cache_errors",
    "cache_health",
    "cache_metric_rows",
    "cache_reports_of_dataset",
    "cache_reports_page",
    "config_num_bytes",
    "config_sizes",
    "copied_errors_origins",
    "copied_from_key",
    "count_cache_entries_of_dataset",
    "count_matching_datasets",
    "count_matching_entries",
    "matching_entries_after",
    "num_dataset_infos_by_builder_name",
]
