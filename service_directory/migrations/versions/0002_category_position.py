"""category position: the first category a curator lists is the service's main one (ranks first)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('service_category', schema=None) as batch_op:
        batch_op.drop_column('position')
