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
