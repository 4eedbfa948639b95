"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

SECTIONS: list = []
