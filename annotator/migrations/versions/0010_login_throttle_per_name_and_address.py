"""login throttling per typed name and client address

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 04:40:00

Failed logins were counted on the user row: a lock answered 429 for names that exist and
never for others (telling which names exist), and anyone could keep anyone's account locked.
They are now counted per name as typed and per client address, in their own table. The old
counters are dropped: a lock in progress ends with the upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
        sa.UniqueConstraint('username', 'address', name=op.f('uq_login_throttle_username')),
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_last_failed_at'),
                              ['last_failed_at'], unique=False)
    for column in ('failed_logins', 'locked_until'):
        if op.get_bind().dialect.name == 'sqlite':
            # SQLite drops a column in place (3.35+); a batch copy of the table would have to
            # drop "user", which every other table's foreign keys refer to.
            op.execute(f'ALTER TABLE "user" DROP COLUMN {column}')
        else:
            op.drop_column('user', column)


def downgrade():
    op.add_column('user', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('user', sa.Column('failed_logins', sa.Integer(), server_default='0',
                                    nullable=False))
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_last_failed_at'))
    op.drop_table('login_throttle')
