"""The `brushwork` command: one entry point, subcommands loaded on demand.

Every subcommand lives in ``brushwork.commands.<name>`` and only parses options,
calls the library and reports. This module turns user errors into one line on
stderr and exit code 2 (never a traceback), and Ctrl-C into exit code 130.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings

import click

from .errors import BrushworkError


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used.

    ``lazy`` maps a command name to ``"module:attribute"``.
    """

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


COMMANDS = {
    "stylize": "brushwork.commands.stylize:stylize",
    "weights": "brushwork.commands.weights:weights",
    "demo": "brushwork.commands.demo:demo",
    "bench": "brushwork.commands.bench:bench",
    "gan": "brushwork.commands.gan:gan",
    "eval": "brushwork.commands.eval:eval_group",
    "translate": "brushwork.commands.translate:translate",
    "style": "brushwork.commands.style:style",
    "stylize-video": "brushwork.commands.stylize_video:stylize_video",
    "serve": "brushwork.commands.serve:serve",
    "models": "brushwork.commands.models:models",
    "train": "brushwork.commands.train:train",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="brushwork")
def cli() -> None:
    """Brushwork: neural style transfer and GANs for natural images."""


@contextlib.contextmanager
def _warnings_reported(args: list[str]):
    """Python warnings become ``brushwork: warning: <message>`` lines on stderr (no source
    path, each message once); ``-q`` / ``--quiet`` silences them. Deprecation notes of the
    libraries are for developers, not users, and are not shown."""
    quiet = any(a in ("-q", "--quiet") for a in args)
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
        text = " ".join(str(message).split())
        if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
            return
        if not quiet and text not in seen:
            seen.add(text)
            print(f"brushwork: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show  # the filters stay as they are (ResourceWarning etc. ignored by default)
        yield


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) 0, 1, 2 or 130."""
    try:
        with _warnings_reported(sys.argv[1:] if argv is None else argv):
            cli.main(args=argv, prog_name="brushwork", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        message = exc.format_message().replace("\n", " ")
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else "brushwork: "
        print(f"{where}error: {message}", file=sys.stderr)
        code = 2
    except BrushworkError as exc:
        print(f"brushwork: error: {exc}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("brushwork: interrupted", file=sys.stderr)
        code = 130
    else:
        code = 0
    if argv is None:
        sys.exit(code)
    return code
