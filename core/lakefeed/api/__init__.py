"""The REST service: Flow Service, Catalog, Schema Registry and export routes over the engine.

``create_app(lf)`` builds the FastAPI application; ``lakefeed serve`` runs it on uvicorn.
"""

from lakefeed.api.app import create_app

__all__ = ["create_app"]
