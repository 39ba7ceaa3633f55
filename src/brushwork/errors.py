"""The one exception type that means "the user gave us something we cannot use".

The CLI turns a :class:`BrushworkError` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""


class BrushworkError(Exception):
    """A user-facing error: bad input file, bad option, missing weights."""
