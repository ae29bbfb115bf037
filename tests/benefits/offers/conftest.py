"""The offers tests run on the services tests' seeded city (departments, staff, linked residents)."""

from tests.services.conftest import city, db, services_pg_city, services_sqlite_city

__all__ = ["city", "db", "services_pg_city", "services_sqlite_city"]
