"""Who is calling: the verified Hub identity, for the pages and the audit log of the writes.

The authentication of the JSON API and the browser login both put a `HubIdentity` on the
request; `identity_of` reads it back. With auth off (ADMIN_HF_ORGANIZATION unset), every
caller is `ANONYMOUS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HubIdentity:
    """A Hub user name and the organization that let it in (None when auth is off)."""

    name: str
    org: str | None = None


ANONYMOUS = HubIdentity(name="anonymous")


def identity_of(request: Any) -> HubIdentity:
    """The identity put on a Django or DRF request by authentication, else ANONYMOUS."""
    identity = getattr(request, "hub_identity", None)
    return identity if isinstance(identity, HubIdentity) else ANONYMOUS
