"""`python -m brushwork` (also what `torchrun -m brushwork` runs).

A process that torchrun started (``WORLD_SIZE`` > 1) leaves with ``os._exit`` once the command
has returned: by then it has closed its files and left the process group, and the interpreter's
own shutdown can still abort it (SIGABRT, "terminate called without an active exception") when
gloo's worker threads are torn down in the wrong order. About 1 run in 25 did that under load,
and torchrun then reports the whole run as failed.
"""

import os
import sys

from .cli import main

code = main(sys.argv[1:])
if int(os.environ.get("WORLD_SIZE", "1")) > 1:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
