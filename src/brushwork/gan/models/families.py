"""Builders for the GAN families (sagan, biggan, stylegan2) and progressive growing,
called from :func:`brushwork.gan.models.build_generator` / ``build_discriminator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Discriminator, Generator
from .biggan import BigGANDiscriminator, BigGANGenerator
from .progressive import ProgressiveDiscriminator, ProgressiveGenerator
from .resnet import ResNetDiscriminator
from .stylegan2 import StyleGAN2Generator

if TYPE_CHECKING:  # annotations only
    from ..config import ModelConfig

FAMILY_ARCHS = ("sagan", "biggan", "stylegan2")


def generator(cfg: ModelConfig, channels: int, size: int, num_classes: int) -> Generator:
    """G of family ``cfg.arch`` for ``(channels, size, size)`` images."""
    if cfg.arch == "stylegan2":
        return StyleGAN2Generator(cfg.z_dim, size, channels, cfg.g_width, num_classes, w_dim=cfg.w_dim, mapping_layers=cfg.mapping_layers, arch=cfg.g_arch)
    return BigGANGenerator(cfg.z_dim, size, channels, cfg.g_width, num_classes, hierarchical=cfg.arch == "biggan", shared_dim=cfg.shared_dim, attention_res=cfg.attention_res)


def discriminator(cfg: ModelConfig, channels: int, size: int, num_classes: int) -> Discriminator:
    """D of family ``cfg.arch``: residual with attention (sagan / biggan; always spectrally
    normalised), or the residual D with ``spectral_norm`` / ``minibatch_std`` as configured (stylegan2)."""
    if cfg.arch == "stylegan2":
        return ResNetDiscriminator(size, channels, cfg.d_width, spectral_norm=cfg.spectral_norm, minibatch_std=cfg.minibatch_std, pack=cfg.pack, num_classes=num_classes)
    return BigGANDiscriminator(size, channels, cfg.d_width, attention_res=cfg.attention_res, minibatch_std=cfg.minibatch_std, pack=cfg.pack, num_classes=num_classes)


def grow(G: Generator, cfg: ModelConfig) -> Generator:
    """``G`` wrapped for progressive growing when ``cfg.progressive_from`` is set."""
    return ProgressiveGenerator(G, cfg.progressive_from) if cfg.progressive_from else G  # type: ignore[arg-type]


def grow_d(D: Discriminator, cfg: ModelConfig, size: int) -> Discriminator:
    """``D`` wrapped for progressive growing when ``cfg.progressive_from`` is set."""
    return ProgressiveDiscriminator(D, size, cfg.progressive_from) if cfg.progressive_from else D  # type: ignore[arg-type]
