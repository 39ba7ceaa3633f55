"""The web studio and HTTP API (``brushwork serve``): :func:`create_app` with :class:`WebSettings`."""

from .app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
