"""list and search indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00

Issue 8 (the desk at 100,000 demands):
- a demand's events by kind, and a department's co-handled demands, each read from one index
  (they replace the single-column indexes they begin with); a user's messages in date order;
- `demand_state_totals`: the demands in each state, kept by triggers in the statement that adds a
  demand or changes its state (on PostgreSQL one per statement over its transition tables, so that
  a bulk COPY adds once), for the total of the list of all demands (PostgreSQL counts 100,000 rows
  in 10-15 ms, more than the page's budget);
- keywords of two characters, which neither SQLite's trigram index nor pg_trgm can look up:
  on SQLite the search table keeps a space after each value, so that every two characters of it
  begin a trigram, and `demand_search_terms` lists the trigrams (search.py looks up those that
  begin with the two characters and asks the index for any of them); on PostgreSQL a GIN index of
  each value's two-character pieces (desk_bigrams).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


SQLITE_TRIGGERS = [
    """CREATE TRIGGER demand_search_insert AFTER INSERT ON demands BEGIN
         INSERT INTO demand_search (rowid, title, description, company_name)
         VALUES (new.id, new.title || ' ', coalesce(new.description, '') || ' ',
                 (SELECT name || ' ' FROM companies WHERE id = new.company_id));
       END""",
    """CREATE TRIGGER demand_search_update AFTER UPDATE OF title, description, company_id ON demands
       BEGIN
         UPDATE demand_search SET title = new.title || ' ',
           description = coalesce(new.description, '') || ' ',
           company_name = (SELECT name || ' ' FROM companies WHERE id = new.company_id)
         WHERE rowid = new.id;
       END""",
    """CREATE TRIGGER demand_search_company AFTER UPDATE OF name ON companies BEGIN
         UPDATE demand_search SET company_name = new.name || ' '
         WHERE rowid IN (SELECT id FROM demands WHERE company_id = new.id);
       END""",
]
SQLITE_OLD_TRIGGERS = [
    """CREATE TRIGGER demand_search_insert AFTER INSERT ON demands BEGIN
         INSERT INTO demand_search (rowid, title, description, company_name)
         VALUES (new.id, new.title, new.description,
                 (SELECT name FROM companies WHERE id = new.company_id));
       END""",
    """CREATE TRIGGER demand_search_update AFTER UPDATE OF title, description, company_id ON demands
       BEGIN
         UPDATE demand_search SET title = new.title, description = new.description,
           company_name = (SELECT name FROM companies WHERE id = new.company_id)
         WHERE rowid = new.id;
       END""",
    """CREATE TRIGGER demand_search_company AFTER UPDATE OF name ON companies BEGIN
         UPDATE demand_search SET company_name = new.name
         WHERE rowid IN (SELECT id FROM demands WHERE company_id = new.id);
       END""",
]
SQLITE_REFILL = """INSERT INTO demand_search (rowid, title, description, company_name)
    SELECT demands.id, demands.title{pad}, coalesce(demands.description, ''){pad}, companies.name{pad}
    FROM demands JOIN companies ON companies.id = demands.company_id"""

SQLITE_TOTALS = [
    """CREATE TRIGGER demand_state_totals_insert AFTER INSERT ON demands BEGIN
         INSERT INTO demand_state_totals (state, demands) VALUES (new.state, 1)
         ON CONFLICT (state) DO UPDATE SET demands = demands + 1;
       END""",
    """CREATE TRIGGER demand_state_totals_update AFTER UPDATE OF state ON demands
       WHEN old.state <> new.state BEGIN
         UPDATE demand_state_totals SET demands = demands - 1 WHERE state = old.state;
         INSERT INTO demand_state_totals (state, demands) VALUES (new.state, 1)
         ON CONFLICT (state) DO UPDATE SET demands = demands + 1;
       END""",
    """CREATE TRIGGER demand_state_totals_delete AFTER DELETE ON demands BEGIN
         UPDATE demand_state_totals SET demands = demands - 1 WHERE state = old.state;
       END""",
]
#: what a statement adds to each state's total: + its new rows, - its old rows (changed states only
#: for an update), written in the states' order so that two statements never wait on each other
_POSTGRESQL_ADD = """
    INSERT INTO demand_state_totals (state, demands)
    SELECT state, sum(change) FROM ({changes}) AS changes GROUP BY state ORDER BY state
    ON CONFLICT (state) DO UPDATE SET demands = demand_state_totals.demands + excluded.demands;
    RETURN NULL;"""
_POSTGRESQL_CHANGES = {
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", "SELECT state, 1 AS change FROM new_rows"),
    "UPDATE": ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "SELECT o.state, -1 AS change FROM old_rows o JOIN new_rows n ON n.id = o.id "
               "WHERE n.state <> o.state UNION ALL "
               "SELECT n.state, 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.state <> o.state"),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", "SELECT state, -1 AS change FROM old_rows"),
}
POSTGRESQL_TOTALS = [
    statement
    for event, (referencing, changes) in _POSTGRESQL_CHANGES.items()
    for statement in (
        f"""CREATE OR REPLACE FUNCTION demand_state_totals_{event.lower()}() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_POSTGRESQL_ADD.format(changes=changes)} END $$""",
        f"""CREATE TRIGGER demand_state_totals_{event.lower()} AFTER {event} ON demands {referencing}
            FOR EACH STATEMENT EXECUTE FUNCTION demand_state_totals_{event.lower()}()""",
    )
]

POSTGRESQL_BIGRAMS = [
    # IMMUTABLE, so that an index may hold its results; lower() as ILIKE folds case
    """CREATE OR REPLACE FUNCTION desk_bigrams(value text) RETURNS text[]
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
         SELECT coalesce(array_agg(DISTINCT substr(lower(value), i, 2)), '{}')
         FROM generate_series(1, char_length(value) - 1) AS i
       $$""",
    "CREATE INDEX ix_demands_title_bigrams ON demands USING gin (desk_bigrams(title))",
    "CREATE INDEX ix_demands_description_bigrams ON demands USING gin (desk_bigrams(description))",
    "CREATE INDEX ix_companies_name_bigrams ON companies USING gin (desk_bigrams(name))",
]


def upgrade():
    op.create_index('ix_demand_events_demand_action', 'demand_events', ['demand_id', 'action'])
    op.drop_index('ix_demand_events_demand_id', table_name='demand_events')
    op.create_index('ix_demand_co_departments_department_demand', 'demand_co_departments',
                    ['department_id', 'demand_id'])
    op.drop_index('ix_demand_co_departments_department_id', table_name='demand_co_departments')
    op.create_index('ix_notifications_user_created', 'notifications', ['user_id', 'created_at'])
    op.create_table('demand_state_totals',
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('demands', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_demand_state_totals'))
    )
    op.execute("INSERT INTO demand_state_totals (state, demands) SELECT state, count(*) FROM demands GROUP BY state")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_search(SQLITE_TRIGGERS, pad=" || ' '")
        op.execute("CREATE VIRTUAL TABLE demand_search_terms USING fts5vocab(demand_search, 'row')")
        statements = SQLITE_TOTALS
    else:  # the desk runs on SQLite or PostgreSQL
        statements = POSTGRESQL_BIGRAMS + POSTGRESQL_TOTALS
    for statement in statements:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for event in _POSTGRESQL_CHANGES:
        op.execute(f"DROP TRIGGER IF EXISTS demand_state_totals_{event.lower()}"
                   + (" ON demands" if dialect == "postgresql" else ""))
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS demand_state_totals_{event.lower()}()")
    op.drop_table('demand_state_totals')
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS demand_search_terms")
        _sqlite_search(SQLITE_OLD_TRIGGERS, pad="")
    elif dialect == "postgresql":
        for index in ("ix_demands_title_bigrams", "ix_demands_description_bigrams", "ix_companies_name_bigrams"):
            op.execute(f"DROP INDEX IF EXISTS {index}")
        op.execute("DROP FUNCTION IF EXISTS desk_bigrams(text)")
    op.drop_index('ix_notifications_user_created', table_name='notifications')
    op.create_index('ix_demand_co_departments_department_id', 'demand_co_departments', ['department_id'])
    op.drop_index('ix_demand_co_departments_department_demand', table_name='demand_co_departments')
    op.create_index('ix_demand_events_demand_id', 'demand_events', ['demand_id'])
    op.drop_index('ix_demand_events_demand_action', table_name='demand_events')


def _sqlite_search(triggers, pad):
    """The search table's triggers replaced and its rows written again, padded or not."""
    for trigger in ("insert", "update", "company"):
        op.execute(f"DROP TRIGGER IF EXISTS demand_search_{trigger}")
    for statement in triggers:
        op.execute(statement)
    op.execute("DELETE FROM demand_search")
    op.execute(SQLITE_REFILL.format(pad=pad))
