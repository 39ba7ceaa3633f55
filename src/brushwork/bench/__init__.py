"""The benchmarks as library functions: each module's ``run_<name>(...)`` measures and returns
one JSON-able dict (what ``brushwork bench <name> --json`` prints); the click commands and the
tables live in :mod:`brushwork.commands.bench` and its ``bench_*`` modules."""
