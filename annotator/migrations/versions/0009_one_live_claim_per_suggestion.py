"""one live claim per accepted suggestion and annotator

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 04:30:00

A claim accepted from a suggestion now carries the suggestion's id (`suggestion_key`,
"start-end" of the proposed span), and a unique index over the live claims makes a second
live claim of the same annotator from the same suggestion impossible, also when two accepts
race. Existing claims get their key from the provenance they keep; where a race already made
two live claims, the first keeps the key and the later ones none, so the index can be built
and nothing is deleted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Manual claims (no key) stay out of the index: a create of one writes no page of it.
LIVE_AND_KEYED = 'deleted_at IS NULL AND suggestion_key IS NOT NULL'


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_key', sa.String(length=24), nullable=True))
    claim = sa.table('claim', sa.column('id', sa.Integer), sa.column('document_id', sa.Integer),
                     sa.column('annotator_id', sa.Integer), sa.column('origin', sa.String),
                     sa.column('suggestion', sa.JSON), sa.column('deleted_at', sa.DateTime),
                     sa.column('suggestion_key', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(claim.c.id, claim.c.document_id, claim.c.annotator_id,
                                  claim.c.suggestion, claim.c.deleted_at)
                        .where(claim.c.origin == 'suggestion').order_by(claim.c.id))
    taken, keys = set(), []
    for row in rows:
        proposed = row.suggestion if isinstance(row.suggestion, dict) else {}
        start, end = proposed.get('start'), proposed.get('end')
        if not (isinstance(start, int) and isinstance(end, int)):
            continue
        key = f"{start}-{end}"
        if row.deleted_at is None:
            live = (row.document_id, row.annotator_id, key)
            if live in taken:
                continue  # a second live claim from one suggestion: the first keeps the key
            taken.add(live)
        keys.append({'claim_id': row.id, 'key': key})
    if keys:
        bind.execute(claim.update().where(claim.c.id == sa.bindparam('claim_id'))
                     .values(suggestion_key=sa.bindparam('key')), keys)
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('uq_claim_live_suggestion',
                              ['document_id', 'annotator_id', 'suggestion_key'], unique=True,
                              sqlite_where=sa.text(LIVE_AND_KEYED),
                              postgresql_where=sa.text(LIVE_AND_KEYED))


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('uq_claim_live_suggestion')
        batch_op.drop_column('suggestion_key')
