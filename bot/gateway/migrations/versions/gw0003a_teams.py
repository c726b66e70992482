"""handoff teams: the team whose queue a handoff is in

Revision ID: gw0003a
Revises: gw0002
Create Date: 2026-11-28 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'gw0003a'
down_revision = 'gw0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_handoff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_gw_handoff_team', ['team', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gw_handoff', schema=None) as batch_op:
        batch_op.drop_index('ix_gw_handoff_team')
        batch_op.drop_column('team')
