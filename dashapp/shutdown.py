"""Moved to `dashapp.ops.shutdown`; kept until `dashapp.cli` imports it from there.

TEMPORARY shim for the architecture sweep: delete this file once
`dashapp/cli/__init__.py` imports `install_graceful_shutdown` from
`dashapp.ops.shutdown`.
"""

from dashapp.ops.shutdown import install_graceful_shutdown, stop_background

__all__ = ["install_graceful_shutdown", "stop_background"]
