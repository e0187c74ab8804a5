"""The dashboard's chart, drawn on the server by pygal as an SVG document: no script, nothing fetched,
and it prints as sharply as the text around it.

pygal writes a `<style>` element into the SVG (the response carries a policy of its own that allows
it) and a `<script>` with its configuration for its optional tooltips script, which the desk does
not serve: that one is taken out, so the document runs nothing even when opened on its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import date

import pygal
from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from pygal.style import Style

from servicedesk.dashboard.measures import LABELS, Count, Week

#: system fonts that hold Chinese first, so that the labels never fall back to boxes
FONT_FAMILY = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Zen Hei', 'WenQuanYi Micro Hei', "
               "'Microsoft YaHei', 'PingFang SC', 'Hiragino Sans GB', 'Heiti SC', sans-serif")
#: the page's own colours (Bootstrap's primary and success), readable in black and white too
STYLE = Style(
    font_family=FONT_FAMILY, background="#ffffff", plot_background="#ffffff",
    foreground="#212529", foreground_strong="#212529", foreground_subtle="#6c757d",
    colors=("#0d6efd", "#198754"), title_font_size=18, legend_font_size=14, label_font_size=12,
    major_label_font_size=12, value_font_size=11,
)
WIDTH, HEIGHT = 800, 320

#: the policy of the SVG response: its own inline style, nothing else
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def week_label(monday: date) -> str:
    """6/1 in either language: short enough for twelve labels side by side."""
    return format_skeleton("Md", monday, locale=get_locale())


def trend_svg(weeks: Sequence[Week]) -> str:
    """The weekly trend as a bar chart of two series, dispatched against closed."""
    chart = pygal.Bar(
        width=WIDTH, height=HEIGHT, style=STYLE, js=[], disable_xml_declaration=True,
        title=_("Dispatched and closed, by week"), legend_at_bottom=True, legend_at_bottom_columns=2,
        print_values=False, show_y_guides=True, min_scale=2, max_scale=8, truncate_label=-1, margin=12,
    )
    chart.x_labels = [week_label(week.first) for week in weeks]
    chart.add(str(LABELS[Count.DISPATCHED]), [week.dispatched.value for week in weeks])
    chart.add(str(LABELS[Count.CLOSED]), [week.closed.value for week in weeks])
    return _without_scripts(chart.render_tree())


def _without_scripts(svg: ElementTree.Element) -> str:
    for parent in svg.iter():
        for child in list(parent):
            if child.tag == "script":
                parent.remove(child)
    return ElementTree.tostring(svg, encoding="unicode")
