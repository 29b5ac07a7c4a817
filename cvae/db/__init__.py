"""The shared database (SQLAlchemy 2 + Alembic): lesson progress, the class, the teacher's pushes."""

from cvae.db.engine import Database as Database
from cvae.db.engine import DatabaseError as DatabaseError
from cvae.db.engine import database as database
from cvae.db.engine import database_url as database_url

__all__ = ["Database", "DatabaseError", "database", "database_url"]
