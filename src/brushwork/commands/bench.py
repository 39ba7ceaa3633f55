"""`brushwork bench ...`: reproducible benchmarks that print a table or --json."""

from __future__ import annotations

import click

from ..cli import LazyGroup

BENCHMARKS = {
    "stylize": "brushwork.bench.stylize:command",
    "mixture": "brushwork.bench.mixture:command",
    "digits": "brushwork.bench.digits:command",
    "features": "brushwork.bench.features:command",
    "translate": "brushwork.bench.translate:command",
    "families": "brushwork.bench.families:command",
    "serve": "brushwork.bench.serve:command",
    "infer": "brushwork.bench.infer:command",
    "quality": "brushwork.bench.quality:command",
}


@click.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks: each times Brushwork against a reference measured in the same run."""
