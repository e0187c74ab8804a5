"""The dashboard's numbers as HTML: each one a link to the list of exactly the demands it counts.

`data-measure` names the measure, `data-count` how many demands the link lists. A rate shows its
percentage (the link lists the cases measured), then met / measured, each a link; "—" when nothing
was measured. The average handling time links the responses it is the mean of.

Written here rather than in template macros: a dashboard shows some five hundred numbers, and a macro
call (or Markup's own formatting) costs several times the string it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from babel.numbers import parse_pattern
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from servicedesk.dashboard.league import LEAGUE_COLUMNS, Kind, LeagueColumn, LeagueRow
from servicedesk.dashboard.measures import AVERAGE_OVER, RATES, Count, Figures, Number, Rate, RateValue
from servicedesk.demands.search import DemandFilters

#: a share as a percentage with one decimal (66.7%), an average with one decimal
PERCENT, ONE_DECIMAL = parse_pattern("#,##0.0%"), parse_pattern("#,##0.0")


#: the league table's columns of numbers (the first, the department's name, heads the row)
LEAGUE_NUMBER_COLUMNS = tuple(column for column in LEAGUE_COLUMNS if column.kind is not Kind.NAME)


class NumberLinks:
    """The numbers of one page: `list_url` gives the link of a number's filters, `definitions` the
    translated definition of each measure (its link's title). What every number shares is read once:
    the locale, the titles."""

    def __init__(self, list_url: Callable[[DemandFilters], str], definitions: Mapping[str, str]) -> None:
        self.list_url = list_url
        self.titles = {key: escape(text) for key, text in definitions.items()}
        self.locale = get_locale()
        self.no_cases, self.no_response = _("No cases in the period"), _("No response in the period")

    def count(self, number: Number, key: str, classes: str = "") -> Markup:
        return self._link(number, key, classes, str(number.value))

    def rate(self, rate: RateValue, key: Rate, classes: str = "") -> Markup:
        if rate.value is None:
            return self._none(key, classes, self.no_cases)
        return self._link(rate.measured, key, classes, PERCENT.apply(rate.value, self.locale),
                          f' data-rate="{rate.value}"')

    def rate_counts(self, rate: RateValue, key: Rate) -> Markup:
        met, measured = RATES[key]
        return Markup(  # noqa: S704 (two links written here)
            f'<span class="rate-counts text-nowrap">{self.count(rate.met, met)}&thinsp;/&thinsp;'
            f'{self.count(rate.measured, measured)}</span>')

    def average(self, figures: Figures, classes: str = "") -> Markup:
        if figures.average_days is None:
            return self._none("average_days", classes, self.no_response)
        return self._link(figures[AVERAGE_OVER], "average_days", classes,
                          ONE_DECIMAL.apply(figures.average_days, self.locale),
                          f' data-average="{figures.average_days}"')

    def league_cells(self, row: LeagueRow, worst_note: str) -> Markup:
        """A league row's cells after its first, the department's name: each column's numbers, marked
        where the department holds the worst value of the column."""
        note = f'<span class="visually-hidden"> {escape(worst_note)}</span>'
        cells = []
        for column in LEAGUE_NUMBER_COLUMNS:
            numbers = self.column(column, row.figures)
            if column.key in row.worst:
                cells.append(f'<td class="text-end text-nowrap worst" data-column="{column.key}" '
                             f'data-worst="1">{numbers}{note}</td>')
            else:
                cells.append(f'<td class="text-end text-nowrap" data-column="{column.key}">{numbers}</td>')
        return Markup("".join(cells))  # noqa: S704 (every value is escaped as it goes in)

    def column(self, column: LeagueColumn, figures: Figures) -> Markup:
        """A league table cell's numbers: a count, a rate and its cases, or the average."""
        if column.kind is Kind.RATE:
            rate, key = column.rate(figures), Rate(column.measure)
            if rate.value is None:
                return self.rate(rate, key)
            cases = self.rate_counts(rate, key)
            return Markup(  # noqa: S704 (links written here)
                f'{self.rate(rate, key)} <span class="text-body-secondary">{cases}</span>')
        if column.kind is Kind.COUNT:
            return self.count(figures[Count(column.measure)], str(column.measure))
        return self.average(figures)

    def _link(self, number: Number, key: str, classes: str, text: str, data: str = "") -> Markup:
        """`data`: more attributes, of numbers only."""
        return Markup(  # noqa: S704 (every value is escaped as it goes in)
            f'<a class="measure-link {escape(classes)}" href="{escape(self.list_url(number.filters))}" '
            f'data-measure="{escape(key)}" data-count="{number.value:d}"{data} title="{self.titles[key]}">'
            f'{escape(text)}</a>')

    @staticmethod
    def _none(key: str, classes: str, title: str) -> Markup:
        return Markup(  # noqa: S704 (every value is escaped as it goes in)
            f'<span class="rate-none {escape(classes)}" data-measure="{escape(key)}" '
            f'title="{escape(title)}">—</span>')
