"""Logging configuration from settings (text or JSON, optional rotating file)."""

from __future__ import annotations

import logging
import logging.handlers
import sys

import orjson

from dashapp.settings import Settings

LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 5


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: ts, level, source, message, context."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "source": record.name,
            "message": record.getMessage(),
            "context": getattr(record, "context", None),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


def configure_logging(settings: Settings) -> None:
    """Set up the root logger from settings (idempotent)."""
    root = logging.getLogger()
    root.setLevel(settings.log_level)
    for handler in list(root.handlers):
        if getattr(handler, "_tickstock", False):
            root.removeHandler(handler)
    formatter: logging.Formatter
    if settings.log_format == "json":
        formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file_enabled:
        log_dir = settings.data_path / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "tickstock.log",
                maxBytes=LOG_FILE_BYTES,
                backupCount=LOG_FILE_BACKUPS,
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._tickstock = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
