"""delivery: the parts of a split message sent so far; when a WhatsApp re-engagement template last went out;
when a conversation was erased while replies were still on their way

Revision ID: gw0004
Revises: gw0003a, gw0003b, gw0003c
Create Date: 2026-11-28 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'gw0004'
down_revision = ('gw0003a', 'gw0003b', 'gw0003c')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_sent', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('gw_conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reengaged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('gw_conversation', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('reengaged_at')
    with op.batch_alter_table('gw_outbox', schema=None) as batch_op:
        batch_op.drop_column('parts_sent')
