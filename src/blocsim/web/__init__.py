"""The web dashboard: ``create_app()`` (FastAPI), served by ``blocsim serve``."""

from blocsim._lazy import lazy_exports

_PUBLIC = {"create_app": "blocsim.web.app"}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
