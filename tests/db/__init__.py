"""The classroom store on SQLite and PostgreSQL (the `db` fixture runs each test on both)."""
