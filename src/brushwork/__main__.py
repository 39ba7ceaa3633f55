"""`python -m brushwork` (also what `torchrun -m brushwork` runs)."""

from .cli import main

main()
