"""Benchmarks of the desk's heavy paths, each a script run with `python -m`, e.g.

    python -m servicedesk.bench.ledger_export --rows 20000

Each builds a throwaway database of its own in a temporary folder, measures, prints one
`name=value` line per figure and removes everything it made. They measure; they assert nothing:
the tests run them small to keep them working.
"""
