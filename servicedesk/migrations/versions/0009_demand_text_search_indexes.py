"""one keyword index over a demand's title and description (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 12:00:00

The keyword search of the list (demands.search._postgresql_term) read a term's title matches, its
description matches and its companies' demands through one index each, made a union of the ids
(16,000 for a common two-character word at 100,000 demands) and joined it back to the demands, for
the count and again for the page: 150-350 ms. It now asks the title and the description as one
value, `title || ' ' || coalesce(description, '')` (the space keeps a term, which holds no
whitespace, from matching across the two), through one GIN index of its two-character pieces and
one of its trigrams; with the companies' ids as an array, a term is one bitmap scan of demands.
The per-column demand indexes of 0003 and 0007 have no reader left and are dropped (the companies'
stay). SQLite is unchanged.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: exactly as demands.search.demand_text writes it, so that the planner matches the indexes
DEMAND_TEXT = "(title || ' ' || coalesce(description, ''))"
UPGRADE = [
    f"CREATE INDEX ix_demands_text_bigrams ON demands USING gin (desk_bigrams{DEMAND_TEXT})",
    f"CREATE INDEX ix_demands_text_trgm ON demands USING gin ({DEMAND_TEXT} gin_trgm_ops)",
    "DROP INDEX IF EXISTS ix_demands_title_trgm",
    "DROP INDEX IF EXISTS ix_demands_description_trgm",
    "DROP INDEX IF EXISTS ix_demands_title_bigrams",
    "DROP INDEX IF EXISTS ix_demands_description_bigrams",
    # the new expressions' statistics at once: without them the planner reads a common word's page
    # through the index and sorts it (30 ms at 100,000 demands) rather than along the sort's order (9)
    "ANALYZE demands",
]
DOWNGRADE = [
    "CREATE INDEX ix_demands_title_trgm ON demands USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_demands_description_trgm ON demands USING gin (description gin_trgm_ops)",
    "CREATE INDEX ix_demands_title_bigrams ON demands USING gin (desk_bigrams(title))",
    "CREATE INDEX ix_demands_description_bigrams ON demands USING gin (desk_bigrams(description))",
    "DROP INDEX IF EXISTS ix_demands_text_bigrams",
    "DROP INDEX IF EXISTS ix_demands_text_trgm",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
