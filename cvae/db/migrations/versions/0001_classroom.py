"""The class, its students, their step results and the teacher's pushes.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("ended_at", _WHEN, nullable=True),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("joined_at", _WHEN, nullable=False),
        sa.Column("last_seen", _WHEN, nullable=False),
        sa.Column("page", sa.String(80), nullable=True),
        sa.Column("lesson_id", sa.String(80), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.String(80), nullable=True),
        sa.Column("seen_push", sa.Integer(), nullable=False),
        sa.UniqueConstraint("class_id", "name", name="uq_students_class_name"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_students_class_id", "students", ["class_id"])
    op.create_table(
        "step_results",
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("lesson_id", sa.String(80), primary_key=True),
        sa.Column("step", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("opened_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("prediction", sa.JSON(), nullable=True),
        sa.Column("truth", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'passed', 'not_yet', 'skipped')", name="ck_step_results_status"),
    )
    op.create_index("ix_step_results_updated_at", "step_results", ["updated_at"])
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("lesson_id", sa.String(80), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_index("ix_pushes_class_id", "pushes", ["class_id"])


def downgrade() -> None:
    for table in ("pushes", "step_results", "students", "classes"):
        op.drop_table(table)
