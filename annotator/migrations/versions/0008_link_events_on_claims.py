"""link and unlink events belong to their claim's history

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 19:50:00

Link and unlink events are now written with their claim_id, so that GET /claims/{id}/history
lists them; earlier ones get theirs here (entity_id is the claim's id), so an old claim's
history does not show an unlink without the link before it. Data only.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE audit_event SET claim_id = entity_id "
        "WHERE entity = 'claim' AND action IN ('link', 'unlink') AND claim_id IS NULL "
        "AND entity_id IN (SELECT id FROM claim)"
    )


def downgrade():
    pass  # the ids are right either way: nothing to undo
