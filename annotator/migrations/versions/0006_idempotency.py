"""idempotency key for claim creates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 11:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            'uq_claim_annotator_id_client_id', ['annotator_id', 'client_id'])


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_constraint('uq_claim_annotator_id_client_id', type_='unique')
        batch_op.drop_column('client_id')
