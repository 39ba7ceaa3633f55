"""What every trainer shares: run folders, atomic safetensors checkpoints with exact-resume
state, EMA, stop signals, a NaN/inf guard, data-parallel set-up and metric logs.

The GAN trainer uses it today; the fast-style, AdaIN and CycleGAN trainers reuse it.
"""
