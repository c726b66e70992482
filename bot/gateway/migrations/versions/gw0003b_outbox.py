"""outbox: every outgoing message kept until its channel takes it

Revision ID: gw0003b
Revises: gw0002
Create Date: 2026-11-29 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'gw0003b'
down_revision = 'gw0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gw_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner', sa.String(length=36), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('channel_message_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['gw_conversation.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['gw_message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gw_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_gw_outbox_pending', ['status', 'conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_gw_outbox_message', ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gw_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_gw_outbox_message')
        batch_op.drop_index('ix_gw_outbox_pending')

    op.drop_table('gw_outbox')
