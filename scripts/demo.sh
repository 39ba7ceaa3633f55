#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job: a gallery of stylised photos in ./brushwork-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -n "${VIRTUAL_ENV:-}" ] || . .venv/bin/activate  # the environment setup.sh made
brushwork demo -o brushwork-demo "$@"
