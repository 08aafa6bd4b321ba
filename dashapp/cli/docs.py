"""Keep README's configuration table and CLI reference in step with the code.

`python -m dashapp.cli.docs` rewrites the marked README sections; a test fails when
they are out of date.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dashapp.settings import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def settings_markdown() -> str:
    """Return the configuration table as Markdown."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for env, default, doc in settings_table():
        shown = f"`{default}`" if default else "—"
        lines.append(f"| `{env}` | {shown} | {doc} |")
    return "\n".join(lines)


def cli_markdown() -> str:
    """Return one row per `tickstock` subcommand with its usage and help."""
    from dashapp.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    lines = ["| command | what it does |", "| --- | --- |"]
    for name in sorted(sub.choices):
        usage = sub.choices[name].format_usage().replace("usage: ", "").strip()
        usage = re.sub(r"\s+", " ", usage)
        lines.append(f"| `{usage}` | {helps.get(name) or ''} |")
    return "\n".join(lines)


def render(text: str) -> str:
    """Return README text with the generated sections replaced."""
    for name, body in (
        ("settings-table", settings_markdown()),
        ("cli", cli_markdown()),
    ):
        text = re.sub(
            rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
            lambda m, body=body: m.group(1) + body + "\n" + m.group(2),
            text,
            flags=re.S,
        )
    return text


def main() -> None:
    """Rewrite README.md in place."""
    README.write_text(render(README.read_text()))


if __name__ == "__main__":
    main()
