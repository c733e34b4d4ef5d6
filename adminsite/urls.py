"""Every route of the console; each leads to the view that serves it."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from auditlog import apis as audit_apis
from auditlog import views as audit_views
from bulkops import apis as bulk_apis
from bulkops import requeue_views
from bulkops import views as bulk_views
from cachereports import apis as cache_apis
from cachereports import views as cache_views
from datasetops import apis as dataset_apis
from datasetops import views as dataset_views
from foundation.auth import login_views
from jobs import apis as job_apis
from jobs import views as job_views
from overview import activity_page, health, metrics, pages

to_dashboard = RedirectView.as_view(url="/admin/", permanent=False, http_method_names=["get", "head"])

urlpatterns = [
    path("healthcheck", health.healthcheck),
    path("admin/healthcheck", health.healthcheck),
    path("admin/login", login_views.login, name="login"),
    path("admin/logout", login_views.logout, name="logout"),
    path("admin/readiness", health.readiness),
    path("admin/metrics", metrics.metrics),
    path("admin/pending-jobs", job_apis.PendingJobsApi.as_view()),
    path("admin/blocked-datasets", job_apis.BlockedDatasetsApi.as_view()),
    path("admin/dataset-status", dataset_apis.DatasetStatusApi.as_view()),
    path("admin/num-dataset-infos-by-builder-name", cache_apis.NumDatasetInfosByBuilderNameApi.as_view()),
    path("admin/cache-errors", cache_apis.CacheErrorsApi.as_view()),
    path("admin/cache-reports/<str:kind>", cache_apis.CacheReportsApi.as_view()),
    path("admin/cache-reports-with-content/<str:kind>", cache_apis.CacheReportsWithContentApi.as_view()),
    # The browser console (HTML pages); the bare site and /admin lead to its dashboard
    path("", to_dashboard),
    path("admin", to_dashboard),
    path("admin/", pages.dashboard, name="console-dashboard"),
    path("admin/jobs", job_views.jobs_list, name="console-jobs"),
    path("admin/blocked", job_views.blocked_datasets, name="console-blocked"),
    path("admin/jobs/requeue", requeue_views.requeue_job_action, name="console-requeue-job"),
    path("admin/jobs/requeue-stale", requeue_views.requeue_stale_jobs_page, name="console-requeue-stale"),
    path("admin/cache", cache_views.cache_list, name="console-cache"),
    path("admin/errors", cache_views.errors_page, name="console-errors"),
    path("admin/bulk", bulk_views.bulk_refresh_page, name="console-bulk-refresh"),
    path("admin/cache/<str:entry_id>", cache_views.cache_entry, name="console-cache-entry"),
    path("admin/dataset", dataset_views.dataset_page, name="console-dataset"),
    path("admin/graph", pages.graph, name="console-graph"),
    path("admin/activity", activity_page.activity_page, name="console-activity"),
    path("admin/builder-names", pages.builder_names, name="console-builder-names"),
    path("admin/dataset/force-refresh", dataset_views.force_refresh_action, name="console-force-refresh"),
    path("admin/dataset/recreate", dataset_views.recreate_dataset_page, name="console-recreate"),
    path("admin/dataset/backfill", dataset_views.backfill_action, name="console-backfill"),
    path("admin/audit", audit_views.audit_log, name="console-audit"),
    path("admin/force-refresh/<str:job_type>", dataset_apis.ForceRefreshApi.as_view()),
    path("admin/bulk-refresh", bulk_apis.BulkRefreshApi.as_view()),
    path("admin/requeue-stale-jobs", bulk_apis.RequeueStaleJobsApi.as_view()),
    path("admin/recreate-dataset", dataset_apis.RecreateDatasetApi.as_view()),
    path("admin/dataset-backfill-plan", dataset_apis.DatasetBackfillPlanApi.as_view()),
    path("admin/dataset-backfill", dataset_apis.DatasetBackfillApi.as_view()),
    path("admin/audit-log", audit_apis.AuditLogApi.as_view()),
]

handler400 = "foundation.web.error_answers.bad_request"
handler404 = "foundation.web.error_answers.not_found"
handler500 = "foundation.web.error_answers.server_error"
