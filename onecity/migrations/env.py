"""Alembic environment: runs on the connection `onecity.core.migrate` hands it."""

from alembic import context

from onecity.core.db import Base
from onecity.core.migrate import comparison, import_all_models

import_all_models()
target_metadata = Base.metadata
connection = context.config.attributes["connection"]
# the comparison `onecity db revision` autogenerates from is the drift check's (its one exception)
context.configure(
    connection=connection, target_metadata=target_metadata, render_as_batch=True, **comparison(connection)
)
with context.begin_transaction():
    context.run_migrations()
