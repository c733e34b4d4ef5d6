"""The parameters of the audit log's JSON route and page (`foundation.web.parameters`)."""

from __future__ import annotations

from foundation.web.parameters import ObjectIdParameter, Parameters


class AuditLogParameters(Parameters):
    """GET /admin/audit-log?cursor= and /admin/audit?cursor= (newest first; the cursor: the last action shown)"""

    cursor = ObjectIdParameter()
