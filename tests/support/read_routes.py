"""The JSON read routes of REFERENCE.md, by name, each with the query a test can send as is.

Several tests run the same checks over every read route (headers, database down, round trips);
one list keeps a new route from being missed by some of them.
"""

READ_ROUTES = {
    "pending-jobs": "/admin/pending-jobs",
    "blocked-datasets": "/admin/blocked-datasets",
    "dataset-status": "/admin/dataset-status?dataset=org/ds",
    "num-dataset-infos-by-builder-name": "/admin/num-dataset-infos-by-builder-name",
    "cache-reports": "/admin/cache-reports/dataset-info",
    "cache-reports-with-content": "/admin/cache-reports-with-content/dataset-info",
    "cache-errors": "/admin/cache-errors",
}
