"""training jobs: suggestion training in its own process

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 16:46:41

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['suggestion_model.id'], name=op.f('fk_training_job_model_id_suggestion_model'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_training_job_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_training_job_requested_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_job'))
    )
    with op.batch_alter_table('training_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_job_project_id'), ['project_id'], unique=False)
        batch_op.create_index('uq_training_job_live_project', ['project_id'], unique=True,
                              sqlite_where=sa.text("status IN ('queued', 'running')"),
                              postgresql_where=sa.text("status IN ('queued', 'running')"))


def downgrade():
    with op.batch_alter_table('training_job', schema=None) as batch_op:
        batch_op.drop_index('uq_training_job_live_project')
        batch_op.drop_index(batch_op.f('ix_training_job_project_id'))

    op.drop_table('training_job')
