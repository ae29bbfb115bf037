"""Alembic migrations, shipped inside the package so `onecity db upgrade` works from any install."""
