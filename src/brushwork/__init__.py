"""Brushwork: neural style transfer and GANs for natural images.

The public API is small and typed::

    import brushwork
    image = brushwork.stylize("photo.jpg", "painting.jpg", size=512)
    image.save("out.png")
    net = brushwork.load("candy")   # any model folder or packaged model (brushwork.models)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "stylize", "load", "BrushworkError"]

from .errors import BrushworkError


def __getattr__(name: str):
    # Keep `import brushwork` light: torch-heavy modules load on first use.
    if name == "stylize":
        from .api import stylize

        return stylize
    if name == "load":
        from .models import load

        return load
    raise AttributeError(f"module 'brushwork' has no attribute {name!r}")
