"""Alembic's entry: migrations run on the connection `Database.upgrade` hands in (no alembic.ini)."""

from alembic import context

from cvae.db.schema import Base

connection = context.config.attributes["connection"]
# batch mode: SQLite cannot ALTER most things, so later revisions rebuild tables there
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
