"""suggestions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suggestion_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trained_by_id', sa.Integer(), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('document_ids', sa.JSON(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_suggestion_model_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trained_by_id'], ['user.id'], name=op.f('fk_suggestion_model_trained_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_model')),
    sa.UniqueConstraint('project_id', 'version', name=op.f('uq_suggestion_model_project_id'))
    )
    op.create_table('suggestion_rejection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_suggestion_rejection_document_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_suggestion_rejection_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_rejection')),
    sa.UniqueConstraint('user_id', 'document_id', 'start', 'end', name=op.f('uq_suggestion_rejection_user_id'))
    )
    with op.batch_alter_table('suggestion_rejection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestion_rejection_document_id'), ['document_id'], unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestions_enabled', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=20), server_default='manual', nullable=False))
        batch_op.add_column(sa.Column('suggestion', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('suggestion')
        batch_op.drop_column('origin')

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('suggestions_enabled')

    with op.batch_alter_table('suggestion_rejection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_rejection_document_id'))

    op.drop_table('suggestion_rejection')
    op.drop_table('suggestion_model')
