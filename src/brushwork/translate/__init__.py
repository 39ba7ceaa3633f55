"""GAN-based image-to-image translation: CycleGAN (unpaired) and pix2pix (paired).

``train.train`` trains either in a run folder; ``apply.load_translator`` loads a run's
generator for one direction; ``apply.translate_path`` translates a file or a folder.
"""
