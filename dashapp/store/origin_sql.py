"""Former home of the origin queries: they now live in `dashapp.store.origin`.

Kept so `from dashapp.store.origin_sql import ...` keeps working; new code
imports from `dashapp.store.origin`.
"""

from __future__ import annotations

from dashapp.store.origin import DEMO_META_KEYS, fake_origins, has_real_bars

__all__ = ["DEMO_META_KEYS", "fake_origins", "has_real_bars"]
