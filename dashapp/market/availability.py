"""Whether the database answers: pages show a banner and retry instead of failing.

The outage state is kept by `dashapp.ops.failsoft`; pages read it through here.
"""

from __future__ import annotations

from dashapp.ops.failsoft import database_available, note_db_error

__all__ = ["database_available", "note_db_error"]
