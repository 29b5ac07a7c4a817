"""What several web processes must share: training jobs, the code throttles, the server's own values.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JOB_STATUSES = (
    "('queued', 'preparing', 'running', 'saving', 'finished', 'stopped', 'diverged', 'failed', 'interrupted')"
)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("session", sa.String(64), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("saved", sa.Boolean(), nullable=False),
        sa.Column("first_point_s", sa.Float(), nullable=True),
        sa.Column("dispatched_at", sa.Float(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.CheckConstraint(f"status IN {_JOB_STATUSES}", name="ck_jobs_status"),
    )
    op.create_index("ix_jobs_created", "jobs", ["created"])
    op.create_table(
        "code_gates",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("last_wrong", sa.Float(), nullable=False),
        sa.Column("next_try", sa.Float(), nullable=False),
    )
    op.create_table(
        "server_values",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in ("server_values", "code_gates", "jobs"):
        op.drop_table(table)
