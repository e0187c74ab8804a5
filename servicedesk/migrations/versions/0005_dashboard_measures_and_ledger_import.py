"""dashboard measures and ledger import

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:23:23.578556

"""
from alembic import op
import sqlalchemy as sa

import servicedesk.models.base


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', servicedesk.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_import_mappings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('signature', name=op.f('uq_import_mappings_signature'))
    )
    op.create_index('ix_demand_events_action_at', 'demand_events', ['action', 'at'], unique=False)

    # Not batch_alter_table: on SQLite that rebuilds `demands` and drops the search triggers (0003).
    op.add_column('demands', sa.Column('responded_late', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('demands', sa.Column('handling_days', sa.Integer(), nullable=True))
    op.add_column('demands', sa.Column('import_key', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_demands_feedback_at'), 'demands', ['feedback_at'], unique=False)
    op.create_index(op.f('ix_demands_import_key'), 'demands', ['import_key'], unique=True)
    _count_past_responses()


def _count_past_responses():
    """Demands responded before this revision: whether late, and in how many working days."""
    from servicedesk.domain.workdays import WorkingCalendar, end_of, local_day
    from servicedesk.models.base import UTCDateTime

    bind = op.get_bind()
    demands = sa.table('demands', sa.column('id', sa.Integer), sa.column('dispatched_at', UTCDateTime),
                       sa.column('responded_at', UTCDateTime), sa.column('respond_due', sa.Date),
                       sa.column('responded_late', sa.Boolean), sa.column('handling_days', sa.Integer))
    rows = bind.execute(sa.select(demands.c.id, demands.c.dispatched_at, demands.c.responded_at,
                                  demands.c.respond_due).where(demands.c.responded_at.is_not(None))).all()
    if not rows:
        return
    calendar = WorkingCalendar(_MigrationCalendar(bind))
    for row in rows:
        late = row.respond_due is not None and row.responded_at > end_of(row.respond_due)
        days = None
        if row.dispatched_at is not None:
            days = calendar.working_days_between(local_day(row.dispatched_at), local_day(row.responded_at))
        bind.execute(demands.update().where(demands.c.id == row.id)
                     .values(responded_late=late, handling_days=days))


class _MigrationCalendar:
    """The calendar tables as they are at this revision, read for the backfill."""

    def __init__(self, bind):
        self.bind = bind

    def span(self, first, last):
        from servicedesk.domain.workdays import CalendarSpan, DayKind, SpecialDay

        years = sa.table('calendar_years', sa.column('year', sa.Integer), sa.column('loaded_at'))
        days = sa.table('calendar_days', sa.column('day', sa.Date), sa.column('year', sa.Integer),
                        sa.column('kind', sa.String), sa.column('name', sa.String))
        loaded = self.bind.execute(sa.select(years.c.year).where(
            years.c.year.between(first.year, last.year), years.c.loaded_at.is_not(None))).scalars().all()
        special = self.bind.execute(sa.select(days.c.day, days.c.kind, days.c.name)
                                    .where(days.c.day.between(first, last), days.c.year.in_(loaded))).all()
        return CalendarSpan(first, last, {row.day: SpecialDay(row.day, DayKind(row.kind), row.name)
                                          for row in special}, frozenset(loaded))


def downgrade():
    op.drop_index(op.f('ix_demands_import_key'), table_name='demands')
    op.drop_index(op.f('ix_demands_feedback_at'), table_name='demands')
    op.drop_column('demands', 'import_key')
    op.drop_column('demands', 'handling_days')
    op.drop_column('demands', 'responded_late')
    op.drop_index('ix_demand_events_action_at', table_name='demand_events')
    op.drop_table('import_mappings')
