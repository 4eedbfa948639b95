class ActiveAssignmentMiddleware:
    """Tell the access module which of the user's assignments this session acts through."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user.active_assignment_id = request.session.get("active_assignment_id")
        return self.get_response(request)
