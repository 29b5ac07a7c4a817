"""A throwaway PostgreSQL server on 127.0.0.1 for the tests: `deploy.postgres`, which `deploy/` starts too.

python3 -m deploy.postgres    # starts one, prints its URL, stops on Ctrl-C or SIGTERM
"""

from deploy.postgres import PostgresServer as PostgresServer
from deploy.postgres import PostgresUnavailable as PostgresUnavailable
from deploy.postgres import start_postgres as start_postgres

__all__ = ["PostgresServer", "PostgresUnavailable", "start_postgres"]
