from servicedesk.extensions import db
from servicedesk.models import Category


def test_migrations_seed_the_default_categories(app) -> None:
    categories = db.session.scalars(db.select(Category).order_by(Category.position)).all()
    assert [c.name for c in categories] == ["土地规划", "人才与子女入学", "审批", "资金融资",
                                            "水电气", "物流交通", "政策咨询", "其他"]
    assert categories[0].name_en == "Land and planning"
