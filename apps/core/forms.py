from django.core.exceptions import ValidationError


def run_service(form, action):
    """Call ``action()``; on a rule violation put its Chinese message on ``form`` and return None."""
    try:
        return action()
    except ValidationError as error:
        form.add_error(None, error)
        return None
