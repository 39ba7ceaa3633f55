"""`brushwork bench ...`: reproducible benchmarks that print a table or --json.

Each subcommand parses its options, calls a ``brushwork.bench.<name>.run_<name>()`` and hands
the dict it returns to :func:`brushwork.commands.report.print_report`.
"""

from __future__ import annotations

import click

from ..cli import LazyGroup

BENCHMARKS = {
    "stylize": "brushwork.commands.bench_style:stylize",
    "infer": "brushwork.commands.bench_style:infer",
    "quality": "brushwork.commands.bench_style:quality",
    "mixture": "brushwork.commands.bench_gan:mixture",
    "digits": "brushwork.commands.bench_gan:digits",
    "families": "brushwork.commands.bench_gan:families",
    "features": "brushwork.commands.bench_system:features",
    "serve": "brushwork.commands.bench_system:serve",
    "translate": "brushwork.commands.bench_translate:translate",
}


@click.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks: each times Brushwork against a reference measured in the same run."""


def threads_option_with_default(default: int, help: str = "CPU threads for torch (0 = torch's default)."):
    """The shared ``--threads`` with a bench's own default count."""
    from .options import make_threads_option

    return make_threads_option(help=help, default=default)


def use_threads(threads: int) -> None:
    """Apply ``--threads`` (0 leaves torch's default)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
