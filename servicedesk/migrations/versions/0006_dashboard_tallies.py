"""dashboard tallies, counted events and the indexes of its live counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00

The dashboard counted every measure over every demand (1.5 to 2 s at 100,000 demands). Now:

- `demand_tallies` holds, per day, week, month and year, lead department and category, how many demands
  were last dispatched, closed, responded and given feedback then (and how: on time, resolved,
  satisfied...). Triggers on `demands` keep it in step in the statement that writes a demand, adding
  what the new row counts and taking away what the old row counted, only when a column they read
  changed: on SQLite per row, one upsert per bucket of each changed step; on PostgreSQL an insert or
  delete once per statement over its transition tables (a bulk COPY adds once), an update per row;
  each statement writes only the buckets that change, in key order (two statements never wait for
  each other's buckets in opposite orders).
- `counted_events` holds the returns and reopenings of the history with their demand's lead
  department and category now: a trigger on `demand_events` adds them, one on `demands` follows a
  demand to its new department or category.
- the counts that depend on today stay live, each reading only the rows that can count: the open
  demands (an index led by the state that holds every column they read), the unsigned demands past
  their sign deadline (a partial index); the key supervision index gains the state and the deadline,
  so that the open demands under key supervision are listed from it.
"""
import sqlalchemy as sa
from alembic import op

import servicedesk.models.base


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TALLY_COLUMNS = ("dispatched", "signed_on_time", "signed_late", "closed", "closed_resolved", "closed_withdrawn",
                 "closed_duplicate", "solved", "partly_solved", "responses", "responses_on_time",
                 "handling_days", "handling_counted", "feedback", "satisfied")
KEY = ("grain", "first_day", "lead_department_id", "category_id")
GRAINS = ("day", "week", "month", "year")


CELL = ("lead_department_id", "category_id")


def _flag(condition):
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


_RESOLVED = "{r}.close_reason IN ('satisfied', 'basically_satisfied')"
#: each step a demand is tallied at, by its moment: the other columns it reads, when a demand (row r)
#: has reached it, and what it adds (the same conditions as the dashboard's measures,
#: servicedesk.dashboard.measures.COUNTS)
STEPS = {
    "dispatched_at": (("signed_at", "signed_late"), "{r}.dispatched_at IS NOT NULL", {
        "dispatched": "1",
        "signed_on_time": _flag("{r}.signed_at IS NOT NULL AND NOT {r}.signed_late"),
        "signed_late": _flag("{r}.signed_at IS NOT NULL AND {r}.signed_late"),
    }),
    "closed_at": (("state", "close_reason", "outcome"), "{r}.state = 'closed' AND {r}.closed_at IS NOT NULL", {
        "closed": "1",
        "closed_resolved": _flag(_RESOLVED),
        "closed_withdrawn": _flag("{r}.close_reason = 'withdrawn'"),
        "closed_duplicate": _flag("{r}.close_reason = 'duplicate'"),
        "solved": _flag(f"{_RESOLVED} AND {{r}}.outcome = 'solved'"),
        "partly_solved": _flag(f"{_RESOLVED} AND {{r}}.outcome = 'partly_solved'"),
    }),
    "responded_at": (("responded_late", "handling_days"), "{r}.responded_at IS NOT NULL", {
        "responses": "1",
        "responses_on_time": _flag("NOT {r}.responded_late"),
        "handling_days": "coalesce({r}.handling_days, 0)",
        "handling_counted": _flag("{r}.handling_days IS NOT NULL"),
    }),
    "feedback_at": (("feedback",), "{r}.feedback_at IS NOT NULL", {
        "feedback": "1",
        "satisfied": _flag("{r}.feedback IN ('satisfied', 'basically_satisfied')"),
    }),
}


def _first_day(dialect, grain, moment, r):
    """The Beijing day, Monday, first of the month or of the year of a stored UTC moment."""
    if dialect == "sqlite":  # a UTC text; Beijing keeps +8 all year
        shift = {"day": "", "week": ", 'weekday 0', '-6 days'", "month": ", 'start of month'",
                 "year": ", 'start of year'"}[grain]
        return f"date({r}.{moment}, '+8 hours'{shift})"
    local = f"({r}.{moment} AT TIME ZONE 'Asia/Shanghai')"
    if grain == "day":
        return f"CAST({local} AS date)"
    return f"CAST(date_trunc('{grain}', {local}) AS date)"


def _counted(dialect, source, sign):
    """What the demands of `source` (a relation aliased r) count, bucket by bucket, times sign."""
    selects = []
    for moment, (_reads, reached, adds) in STEPS.items():
        for grain in GRAINS:
            values = ", ".join(f"{sign} * ({adds[name].format(r='r')}) AS {name}" if name in adds
                               else f"0 AS {name}" for name in TALLY_COLUMNS)
            selects.append(
                f"SELECT '{grain}' AS grain, {_first_day(dialect, grain, moment, 'r')} AS first_day, "
                f"coalesce(r.lead_department_id, 0) AS lead_department_id, r.category_id AS category_id, "
                f"{values} FROM {source} AS r WHERE {reached.format(r='r')}")
    return "\nUNION ALL ".join(selects)


def _tally(dialect, *changes):
    """One statement adding the net change of each bucket, in key order (two statements never wait for
    each other's buckets in opposite orders); changes are (source, sign) pairs."""
    counted = "\nUNION ALL ".join(_counted(dialect, source, sign) for source, sign in changes)
    key = ", ".join(KEY)
    sums = ", ".join(f"sum({name})" for name in TALLY_COLUMNS)
    changed = " OR ".join(f"sum({name}) <> 0" for name in TALLY_COLUMNS)
    added = ", ".join(f"{name} = demand_tallies.{name} + excluded.{name}" for name in TALLY_COLUMNS)
    return (f"INSERT INTO demand_tallies ({key}, {', '.join(TALLY_COLUMNS)})\n"
            f"SELECT {key}, {sums} FROM (\n{counted}\n) AS change WHERE true\n"
            f"GROUP BY {key} HAVING {changed} ORDER BY {key}\n"
            f"ON CONFLICT ({key}) DO UPDATE SET {added}")


# SQLite: row triggers, one upsert per bucket of a step (grouping the buckets of one row would cost a
# sorter per row written); an update touches only the steps whose columns changed.

def _sqlite_upserts(row, sign, moment):
    """The upserts adding sign x what the row (NEW or OLD) counts at a step, one per grain."""
    _reads, reached, adds = STEPS[moment]
    key = ", ".join(KEY)
    values = ", ".join(f"{sign} * ({expression.format(r=row)})" for expression in adds.values())
    added = ", ".join(f"{name} = demand_tallies.{name} + excluded.{name}" for name in adds)
    return [f"INSERT INTO demand_tallies ({key}, {', '.join(adds)})\n"
            f"SELECT '{grain}', {_first_day('sqlite', grain, moment, row)}, "
            f"coalesce({row}.lead_department_id, 0), {row}.category_id, {values}\n"
            f"WHERE {reached.format(r=row)}\n"
            f"ON CONFLICT ({key}) DO UPDATE SET {added};" for grain in GRAINS]


def _sqlite_trigger(name, event, body, when=""):
    return f"CREATE TRIGGER {name} AFTER {event} ON demands {when}BEGIN\n" + "\n".join(body) + "\nEND"


def _sqlite_tallies():
    triggers = [
        _sqlite_trigger("demand_tallies_insert", "INSERT",
                        [upsert for moment in STEPS for upsert in _sqlite_upserts("NEW", 1, moment)]),
        _sqlite_trigger("demand_tallies_delete", "DELETE",
                        [upsert for moment in STEPS for upsert in _sqlite_upserts("OLD", -1, moment)]),
    ]
    for moment, (reads, _reached, _adds) in STEPS.items():
        columns = (moment, *reads, *CELL)
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
        triggers.append(_sqlite_trigger(
            f"demand_tallies_{moment.removesuffix('_at')}", f"UPDATE OF {', '.join(columns)}",
            _sqlite_upserts("OLD", -1, moment) + _sqlite_upserts("NEW", 1, moment), when=f"WHEN {changed} "))
    return triggers


#: every column of a demand the tallies read
READ = (*dict.fromkeys(column for moment, (reads, _reached, _adds) in STEPS.items() for column in (moment, *reads)),
        *CELL)


def _postgresql_function(name, body):
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body};\nRETURN NULL;\nEND $$")


def _postgresql_tallies():
    """An insert or a delete: once per statement, over its transition tables (a bulk COPY adds once);
    an update: per row, and only when a column the tallies read changed (most updates change none)."""
    old, new = (f"(SELECT {', '.join(f'{row}.{column} AS {column}' for column in READ)})" for row in ("OLD", "NEW"))
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in READ)
    return [
        _postgresql_function("demand_tallies_insert", _tally("postgresql", ("new_rows", 1))),
        "CREATE TRIGGER demand_tallies_insert AFTER INSERT ON demands REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION demand_tallies_insert()",
        _postgresql_function("demand_tallies_update", _tally("postgresql", (old, -1), (new, 1))),
        f"CREATE TRIGGER demand_tallies_update AFTER UPDATE OF {', '.join(READ)} ON demands FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION demand_tallies_update()",
        _postgresql_function("demand_tallies_delete", _tally("postgresql", ("old_rows", -1))),
        "CREATE TRIGGER demand_tallies_delete AFTER DELETE ON demands REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION demand_tallies_delete()",
    ]


# The returns and reopenings (the same events as the lists' returned and reopened filters, search.py)
COUNTED = "(e.action = 'return' OR (e.action = 'record_feedback' AND e.to_state = 'accepted'))"
KIND = "CASE e.action WHEN 'return' THEN 'return' ELSE 'reopening' END"


def _counted_events(events):
    """Add the returns and reopenings among `events` (a relation aliased e), with their demand's
    lead department and category."""
    return ("INSERT INTO counted_events (event_id, demand_id, kind, at, actor_department_id, "
            "lead_department_id, category_id)\n"
            f"SELECT e.id, e.demand_id, {KIND}, e.at, e.actor_department_id, d.lead_department_id, "
            f"d.category_id FROM {events} AS e JOIN demands AS d ON d.id = e.demand_id WHERE {COUNTED}")


def _sqlite_counted_events():
    event = "(SELECT NEW.id AS id, NEW.demand_id AS demand_id, NEW.action AS action, NEW.to_state AS to_state, " \
            "NEW.at AS at, NEW.actor_department_id AS actor_department_id)"
    return [
        # the WHEN spares every other event (most of the history) the trigger's statement
        f"CREATE TRIGGER counted_events_insert AFTER INSERT ON demand_events WHEN {COUNTED.replace('e.', 'NEW.')} "
        f"BEGIN\n{_counted_events(event)};\nEND",
        "CREATE TRIGGER counted_events_cell AFTER UPDATE OF lead_department_id, category_id ON demands "
        "WHEN OLD.lead_department_id IS NOT NEW.lead_department_id OR OLD.category_id IS NOT NEW.category_id BEGIN\n"
        "UPDATE counted_events SET lead_department_id = NEW.lead_department_id, category_id = NEW.category_id "
        "WHERE demand_id = NEW.id;\nEND",
    ]


def _postgresql_counted_events():
    moved = ("UPDATE counted_events SET lead_department_id = NEW.lead_department_id, "
             "category_id = NEW.category_id WHERE demand_id = NEW.id")
    return [
        _postgresql_function("counted_events_insert", _counted_events("new_rows")),
        "CREATE TRIGGER counted_events_insert AFTER INSERT ON demand_events REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION counted_events_insert()",
        _postgresql_function("counted_events_cell", moved),
        "CREATE TRIGGER counted_events_cell AFTER UPDATE OF lead_department_id, category_id ON demands "
        "FOR EACH ROW WHEN (OLD.lead_department_id IS DISTINCT FROM NEW.lead_department_id "
        "OR OLD.category_id IS DISTINCT FROM NEW.category_id) EXECUTE FUNCTION counted_events_cell()",
    ]


TRIGGERS = {"sqlite": (_sqlite_tallies, _sqlite_counted_events),
            "postgresql": (_postgresql_tallies, _postgresql_counted_events)}


def upgrade():
    op.create_table(
        'demand_tallies',
        sa.Column('grain', sa.String(length=5), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('lead_department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in TALLY_COLUMNS),
        sa.PrimaryKeyConstraint(*KEY, name=op.f('pk_demand_tallies')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'counted_events',
        sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('demand_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('at', servicedesk.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_department_id', sa.Integer(), nullable=True),
        sa.Column('lead_department_id', sa.Integer(), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_counted_events_demand_id_demands')),
        sa.ForeignKeyConstraint(['event_id'], ['demand_events.id'],
                                name=op.f('fk_counted_events_event_id_demand_events')),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_counted_events')),
    )
    op.create_index(op.f('ix_counted_events_demand_id'), 'counted_events', ['demand_id'], unique=False)
    op.create_index('ix_counted_events_kind_at', 'counted_events',
                    ['kind', 'at', 'lead_department_id', 'category_id', 'actor_department_id', 'demand_id'],
                    unique=False)
    dialect = op.get_bind().dialect.name
    op.execute(_tally(dialect, ("demands", 1)))
    op.execute(_counted_events("demand_events"))
    for triggers in TRIGGERS[dialect]:
        for statement in triggers():
            op.execute(statement)

    op.create_index('ix_demands_state_counted', 'demands',
                    ['state', 'category_id', 'key_supervision', 'lead_department_id', 'current_step',
                     'current_due', 'created_at', 'company_id', 'id'], unique=False)
    op.drop_index('ix_demands_key_supervision', table_name='demands')
    op.create_index('ix_demands_key_supervision', 'demands', ['key_supervision', 'state', 'current_due', 'id'],
                    unique=False)
    op.create_index('ix_demands_unsigned', 'demands',
                    ['sign_due', 'lead_department_id', 'category_id', 'dispatched_at'], unique=False,
                    sqlite_where=sa.text('signed_at IS NULL'), postgresql_where=sa.text('signed_at IS NULL'))


def downgrade():
    op.drop_index('ix_demands_key_supervision', table_name='demands')
    op.create_index('ix_demands_key_supervision', 'demands', ['key_supervision'], unique=False)
    op.drop_index('ix_demands_unsigned', table_name='demands')
    op.drop_index('ix_demands_state_counted', table_name='demands')
    postgresql = op.get_bind().dialect.name == "postgresql"
    tallies = ("insert", "delete", *(("update",) if postgresql else (m.removesuffix("_at") for m in STEPS)))
    for trigger, table in [*((f"demand_tallies_{event}", "demands") for event in tallies),
                           ("counted_events_insert", "demand_events"), ("counted_events_cell", "demands")]:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
    op.drop_index('ix_counted_events_kind_at', table_name='counted_events')
    op.drop_index(op.f('ix_counted_events_demand_id'), table_name='counted_events')
    op.drop_table('counted_events')
    op.drop_table('demand_tallies')
