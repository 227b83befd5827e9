"""The canonical store: SQLModel tables, column types, engine and Alembic migrations."""
