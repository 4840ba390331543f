"""What every outside-API client shares (see ../shared/DESIGN.md section 4): errors, budget, calls, base client."""

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.client import ApiClient

__all__ = ["ApiClient", "CallRecord", "NullBudget", "RateBudget"]
