"""GANs: models, losses, the training loop, sampling, export and mode-collapse metrics.

Load a trained run and sample from it::

    from brushwork.gan.sample import load_generator, sample
    gen = load_generator("runs/00000-dcgan-digits", ema=True)
    images = sample(gen, 64, seed=0)          # (64, C, H, W) floats in [0, 1]
"""
