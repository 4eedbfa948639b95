from django.core.exceptions import ValidationError


def run_service(form, action):
    """Call ``action()``; on a rule violation put its Chinese message on ``form``.

    Returns the action's result (``True`` when it returns nothing) on success, ``None`` on failure.
    """
    try:
        result = action()
    except ValidationError as error:
        form.add_error(None, error)
        return None
    return True if result is None else result


def report_form(request, form, success: str) -> None:
    """After a POST that redirects: show the form's errors as messages, or ``success``."""
    from django.contrib import messages

    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    elif success:
        messages.success(request, success)
