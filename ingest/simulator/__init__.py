"""Loopback Massive market-data simulator: the real WebSocket and REST protocol.

One asyncio server on one port answers both the WebSocket feed (`/stocks`:
status handshake, auth, subscribe, `A`/`AM` events in JSON-array frames) and
the REST aggregates endpoints (plain HTTP requests are answered from
websockets' `process_request` hook). The official `massive` clients work
against it unchanged:

    sim = Simulator(symbols=["AAPL", "MSFT"], seed=1, speed="fast")
    port = sim.start()
    WebSocketClient(api_key="x", feed=sim.feed, market="stocks", secure=False)
    RESTClient(api_key="k", base=sim.rest_url)
    sim.advance(5)              # emit five minutes as fast as clients read
    sim.ground_truth()          # every AM bar it generated
    sim.stop()
"""

from ingest.simulator.cli import add_cli, run_cli, simulator_from_args
from ingest.simulator.encoding import EventEncoder
from ingest.simulator.facade import Simulator
from ingest.simulator.faults import MALFORMED_KINDS
from ingest.simulator.protocol import status_frame
from ingest.simulator.truth import GroundTruth

__all__ = [
    "MALFORMED_KINDS",
    "EventEncoder",
    "GroundTruth",
    "Simulator",
    "add_cli",
    "run_cli",
    "simulator_from_args",
    "status_frame",
]
