"""API routers; data and admin routes live under API_PREFIX."""

API_PREFIX = "/api/v1"
