"""Seeded market generators: the labelled demo history and the synthetic feed.

`factors` holds what both share (seeded draws, factor-model returns, price
paths) and `universe` whom they trade; `daily_model` and `daily_bars` build
the demo's daily history (`ingest.demo`), `clock`, `seconds` and `replay` the
per-second bars of the synthetic feed (`ingest.synthetic`).
"""
