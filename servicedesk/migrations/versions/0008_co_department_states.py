"""the state of each co-handled demand, beside its department

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00

A department's queue and its lists read "the demands department D leads or co-handles, in states S"
(demands.operations.department_demand_ids). The demands it leads come from (lead_department_id,
state); the demands it co-handles could not be narrowed by state and grew with all its history.
`demand_co_departments.demand_state` now copies its demand's state, and
(department_id, demand_state, demand_id) reads the co-handled demands in some states from the index
alone (it replaces (department_id, demand_id), which it begins with).

Triggers keep the copy in the statement that writes, whoever writes:
- a co-department row takes its demand's state when inserted (SQLite: an update after the insert,
  only when the row was not given the right state; PostgreSQL: before the insert, per row), or
  when moved to another demand;
- a change of a demand's state is copied to its co-department rows (SQLite: per row, only when the
  state changed; PostgreSQL: once per statement over its transition tables, so that a bulk update of
  many demands is one join).
The column is nullable: the ORM inserts a demand's co-departments with their two ids only, and the
trigger fills the state in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_STATE_OF_NEW = "(SELECT state FROM demands WHERE id = NEW.demand_id)"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER demand_co_departments_state_insert AFTER INSERT ON demand_co_departments
        WHEN NEW.demand_state IS NOT {_STATE_OF_NEW} BEGIN
          UPDATE demand_co_departments SET demand_state = {_STATE_OF_NEW}
          WHERE demand_id = NEW.demand_id AND department_id = NEW.department_id;
        END""",
    f"""CREATE TRIGGER demand_co_departments_state_moved AFTER UPDATE OF demand_id, demand_state
        ON demand_co_departments WHEN NEW.demand_state IS NOT {_STATE_OF_NEW} BEGIN
          UPDATE demand_co_departments SET demand_state = {_STATE_OF_NEW}
          WHERE demand_id = NEW.demand_id AND department_id = NEW.department_id;
        END""",
    """CREATE TRIGGER demand_co_departments_state_follow AFTER UPDATE OF state ON demands
       WHEN OLD.state IS NOT NEW.state BEGIN
         UPDATE demand_co_departments SET demand_state = NEW.state WHERE demand_id = NEW.id;
       END""",
]

POSTGRESQL_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION demand_co_departments_state() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.demand_state := {_STATE_OF_NEW};
          RETURN NEW;
        END $$""",
    # demand_state among the columns: a row given another state by hand takes its demand's again
    """CREATE TRIGGER demand_co_departments_state BEFORE INSERT OR UPDATE OF demand_id, demand_state
       ON demand_co_departments FOR EACH ROW EXECUTE FUNCTION demand_co_departments_state()""",
    # once per statement (transition tables allow no column list): the rows whose state changed
    """CREATE OR REPLACE FUNCTION demand_co_departments_state_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE demand_co_departments AS c SET demand_state = n.state
          FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
          WHERE c.demand_id = n.id AND n.state IS DISTINCT FROM o.state;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER demand_co_departments_state_follow AFTER UPDATE ON demands
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION demand_co_departments_state_follow()""",
]


def upgrade():
    op.add_column('demand_co_departments', sa.Column('demand_state', sa.String(length=12), nullable=True))
    op.execute("UPDATE demand_co_departments SET demand_state = "
               "(SELECT state FROM demands WHERE demands.id = demand_co_departments.demand_id)")
    op.create_index('ix_demand_co_departments_department_state', 'demand_co_departments',
                    ['department_id', 'demand_state', 'demand_id'])
    op.drop_index('ix_demand_co_departments_department_demand', table_name='demand_co_departments')
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS demand_co_departments_state ON demand_co_departments")
        op.execute("DROP TRIGGER IF EXISTS demand_co_departments_state_follow ON demands")
        op.execute("DROP FUNCTION IF EXISTS demand_co_departments_state()")
        op.execute("DROP FUNCTION IF EXISTS demand_co_departments_state_follow()")
    else:
        for trigger in ("insert", "moved", "follow"):
            op.execute(f"DROP TRIGGER IF EXISTS demand_co_departments_state_{trigger}")
    op.create_index('ix_demand_co_departments_department_demand', 'demand_co_departments',
                    ['department_id', 'demand_id'])
    op.drop_index('ix_demand_co_departments_department_state', table_name='demand_co_departments')
    op.drop_column('demand_co_departments', 'demand_state')
