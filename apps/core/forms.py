from django.core.exceptions import ValidationError


def run_service(form, action):
    """Call ``action()``; on a rule violation put its Chinese message on ``form``.

    Returns the action's result (``True`` when it returns nothing) on success, ``None`` on failure.
    """
    try:
        result = action()
    except ValidationError as error:
        add_service_error(form, error)
        return None
    return True if result is None else result


def add_service_error(form, error: ValidationError) -> None:
    """Put a service's error on ``form``: on the named field where the form has it, else above the form.

    Services name model fields (``{"starts_at": ...}``); a form that asks for the same thing under
    another name (the public booking page's ``slot``) would make Django's ``add_error`` raise.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def report_form(request, form, success: str) -> None:
    """After a POST that redirects: show the form's errors as messages, or ``success``."""
    from django.contrib import messages

    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    elif success:
        messages.success(request, success)
