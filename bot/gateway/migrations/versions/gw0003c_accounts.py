"""console accounts: last login, why a session ended, audit log indexes

Revision ID: gw0003c
Revises: gw0002
Create Date: 2026-11-28 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'gw0003c'
down_revision = 'gw0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('gw_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended', sa.String(length=16), nullable=True))
    with op.batch_alter_table('gw_audit', schema=None) as batch_op:
        batch_op.create_index('ix_gw_audit_action', ['action', 'id'], unique=False)
        batch_op.create_index('ix_gw_audit_actor', ['actor', 'id'], unique=False)
        batch_op.create_index('ix_gw_audit_target', ['target', 'action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gw_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_gw_audit_target')
        batch_op.drop_index('ix_gw_audit_actor')
        batch_op.drop_index('ix_gw_audit_action')
    with op.batch_alter_table('gw_session', schema=None) as batch_op:
        batch_op.drop_column('ended')
    with op.batch_alter_table('gw_user', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
