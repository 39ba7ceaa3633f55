"""GAN model families, one file each, and builders from a :class:`~brushwork.gan.config.ModelConfig`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ...errors import BrushworkError
from .base import Discriminator, Generator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator
from .resnet import ResNetDiscriminator, ResNetGenerator
from . import families

if TYPE_CHECKING:  # annotations only
    from ..config import ModelConfig

__all__ = ["Generator", "Discriminator", "build_generator", "build_discriminator", "MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator", "ResNetGenerator", "ResNetDiscriminator"]


def _image_size(shape: Sequence[int], arch: str) -> tuple[int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise BrushworkError(f"model.arch {arch} makes square images, not samples of shape {tuple(shape)}")
    return shape[0], shape[1]


def build_generator(cfg: ModelConfig, sample_shape: Sequence[int], num_classes: int = 0) -> Generator:
    """Generator for samples of ``sample_shape`` (``(C, H, W)`` or ``(2,)``); ``num_classes`` used when ``cfg.conditional``."""
    k = num_classes if cfg.conditional else 0
    try:
        if cfg.arch == "mlp":
            return MLPGenerator(cfg.z_dim, cfg.g_hidden, sample_shape, batchnorm=cfg.g_batchnorm, output=cfg.output, num_classes=k, fourier=cfg.g_fourier, fourier_scale=cfg.g_fourier_scale)
        c, s = _image_size(sample_shape, cfg.arch)
        if cfg.arch in families.FAMILY_ARCHS:
            return families.generator(cfg, c, s, k)
        if cfg.arch == "dcgan":
            return families.grow(DCGANGenerator(cfg.z_dim, s, c, cfg.g_width, num_classes=k), cfg)
        return families.grow(ResNetGenerator(cfg.z_dim, s, c, cfg.g_width, num_classes=k), cfg)
    except ValueError as exc:
        raise BrushworkError(f"model.arch {cfg.arch}: {exc}") from None


def build_discriminator(cfg: ModelConfig, sample_shape: Sequence[int], num_classes: int = 0) -> Discriminator:
    """Discriminator for samples of ``sample_shape``; see :func:`build_generator`."""
    k = num_classes if cfg.conditional else 0
    try:
        if cfg.arch == "mlp":
            return MLPDiscriminator(sample_shape, cfg.d_hidden, maxout=cfg.maxout, pack=cfg.pack, minibatch_std=cfg.minibatch_std, spectral_norm=cfg.spectral_norm, num_classes=k, fourier=cfg.d_fourier, fourier_scale=cfg.d_fourier_scale)
        c, s = _image_size(sample_shape, cfg.arch)
        if cfg.arch in families.FAMILY_ARCHS:
            return families.discriminator(cfg, c, s, k)
        if cfg.arch == "dcgan":
            return families.grow_d(DCGANDiscriminator(s, c, cfg.d_width, batchnorm=cfg.d_batchnorm, spectral_norm=cfg.spectral_norm, minibatch_std=cfg.minibatch_std, pack=cfg.pack, num_classes=k), cfg, s)
        return families.grow_d(ResNetDiscriminator(s, c, cfg.d_width, spectral_norm=cfg.spectral_norm, minibatch_std=cfg.minibatch_std, pack=cfg.pack, num_classes=k), cfg, s)
    except ValueError as exc:
        raise BrushworkError(f"model.arch {cfg.arch}: {exc}") from None
