"""`Store`: the one class every caller uses, composed of one part per responsibility."""

from __future__ import annotations

from dashapp.store.accounts import AccountsMixin
from dashapp.store.adjustments import AdjustmentsMixin
from dashapp.store.alerts import AlertsMixin
from dashapp.store.bar_reads import BarReadsMixin
from dashapp.store.bar_writes import BarWritesMixin
from dashapp.store.bulk import BulkLoadMixin
from dashapp.store.catalog import CatalogMixin
from dashapp.store.live_writes import LiveWritesMixin
from dashapp.store.logs import LogsMixin
from dashapp.store.meta import MetaMixin
from dashapp.store.migrations import SchemaMixin
from dashapp.store.screens import ScreensMixin
from dashapp.store.watchlists import WatchlistsMixin


class Store(
    SchemaMixin,
    MetaMixin,
    BarWritesMixin,
    LiveWritesMixin,
    BulkLoadMixin,
    BarReadsMixin,
    AdjustmentsMixin,
    CatalogMixin,
    AccountsMixin,
    LogsMixin,
    ScreensMixin,
    WatchlistsMixin,
    AlertsMixin,
):
    """Database access for TickStock: schema, bars, reference data, users, logs."""
