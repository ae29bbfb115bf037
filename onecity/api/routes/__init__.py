"""Routers of the ``/api/v1`` API, one module per capability."""
