"""list and search indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00

Issue 8 (the desk at 100,000 demands):
- a demand's events by kind, and a department's co-handled demands, each read from one index
  (they replace the single-column indexes they begin with); a user's messages in date order;
- keywords of two characters, which neither SQLite's trigram index nor pg_trgm can look up:
  on SQLite the search table keeps a space after each value, so that every two characters of it
  begin a trigram, and `demand_search_terms` lists the trigrams (search.py looks up those that
  begin with the two characters and asks the index for any of them); on PostgreSQL a GIN index of
  each value's two-character pieces (desk_bigrams).
"""
from alembic import op


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
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_search(SQLITE_TRIGGERS, pad=" || ' '")
        op.execute("CREATE VIRTUAL TABLE demand_search_terms USING fts5vocab(demand_search, 'row')")
    elif dialect == "postgresql":
        for statement in POSTGRESQL_BIGRAMS:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
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
