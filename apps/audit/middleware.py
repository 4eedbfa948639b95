from .services import log_denial


class AuditDenialMiddleware:
    """Log a ``permission_denied`` entry for every 403, and for 404s on routes that matched.

    A 404 on a matched route means an object id that is missing or outside the user's scope
    (both answer 404 on purpose); a 404 for a URL that matched no route is not a denial. Runs
    after the view, so ``request.user`` is the user DRF authenticated (e.g. by token) as well.
    Place it after ``ActiveAssignmentMiddleware`` so the active unit is known.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        status = response.status_code
        if status == 403 or (status == 404 and getattr(request, "resolver_match", None) is not None):
            log_denial(request, status)
        return response
