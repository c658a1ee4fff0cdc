"""propositions: incidents, propositions and the claims linked to them

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('date_start', sa.String(length=10), nullable=True),
    sa.Column('date_end', sa.String(length=10), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_incident_created_by_id_user')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_incident_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_project_id'), ['project_id'], unique=False)

    op.create_table('proposition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=80), nullable=True),
    sa.Column('verdict_note', sa.Text(), nullable=False),
    sa.Column('verdict_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_proposition_created_by_id_user')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_proposition_incident_id_incident'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_proposition_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verdict_by_id'], ['user.id'], name=op.f('fk_proposition_verdict_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposition'))
    )
    with op.batch_alter_table('proposition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposition_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposition_project_id'), ['project_id'], unique=False)

    op.create_table('claim_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('proposition_id', sa.Integer(), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_link_claim_id_claim'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['linked_by_id'], ['user.id'], name=op.f('fk_claim_link_linked_by_id_user')),
    sa.ForeignKeyConstraint(['proposition_id'], ['proposition.id'], name=op.f('fk_claim_link_proposition_id_proposition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_link')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_claim_link_claim_id'))
    )
    with op.batch_alter_table('claim_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_link_proposition_id'), ['proposition_id'], unique=False)


def downgrade():
    with op.batch_alter_table('claim_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_link_proposition_id'))
    op.drop_table('claim_link')
    with op.batch_alter_table('proposition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposition_project_id'))
        batch_op.drop_index(batch_op.f('ix_proposition_incident_id'))
    op.drop_table('proposition')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_project_id'))
    op.drop_table('incident')
