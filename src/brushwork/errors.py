"""The one exception type that means "the user gave us something we cannot use".

The CLI turns a :class:`BrushworkError` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""


class BrushworkError(Exception):
    """A user-facing error: bad input file, bad option, missing weights."""


class ConfigError(BrushworkError):
    """A config value the library refuses, naming the config ``field`` (a dotted key such as
    ``train.batch_size``); the command layer may reword the field as its flag."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def renamed(self, name: str) -> "ConfigError":
        """The same error with the field's name replaced by ``name`` (e.g. ``--batch-size``)."""
        short = self.field.rsplit(".", 1)[-1]
        for old in (self.field, short):
            if old in self.message:
                return ConfigError(self.field, self.message.replace(old, name, 1))
        return ConfigError(self.field, f"{name}: {self.message}")
