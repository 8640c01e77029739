"""The object tab's "pick one" control for an ambiguous match (issue 12 point 5)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from accounts.portal_session import PortalAccess, portal_access_required
from integration.models import RecordError
from integration.services.matching import MatchResolveError, record_error_match_resolve
from integration.views.settings_common import object_sync_for, settings_url


@portal_access_required
@require_POST
def match_resolve(request: HttpRequest, access: PortalAccess, object_type: str, error_id: int) -> HttpResponse:
    """Link the record to the candidate posted (or `new`); only this portal's errors can be resolved here."""
    object_sync = object_sync_for(access, object_type)
    error = RecordError.objects.filter(
        pk=error_id, portal_id=object_sync.portal_id, object_type=object_sync.object_type
    ).first()
    if error is None:
        raise Http404("No such record error")
    try:
        result = record_error_match_resolve(
            record_error=error, candidate_id=request.POST.get("candidate", ""), actor=access.actor
        )
    except MatchResolveError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, result.message)
    return HttpResponseRedirect(f"{settings_url(access, object_type)}#sync-status")
