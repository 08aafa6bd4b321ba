"""First run: the admin password alone on a line; the survivorship-bias note."""

from __future__ import annotations

import json

from dashapp.cli import first_run_admin
from dashapp.factory import create_app


def test_fr01_first_start_prints_the_password_alone_on_its_line(settings, capsys):
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    password = first_run_admin(store, settings)
    err = capsys.readouterr().err
    saved = (settings.data_path / "initial-admin-password").read_text().strip()
    assert password == saved and len(password) >= 12
    lines = [line.strip() for line in err.splitlines()]
    assert f">>  {password}  <<" in lines  # nothing else on that line
    assert sum(password in line for line in lines) == 1
    assert first_run_admin(store, settings) is None  # only once
    assert capsys.readouterr().err == ""


def test_fr02_methodology_opens_with_the_survivorship_bias_note(settings):
    app = create_app(settings, ingest=False)
    with app.server.test_request_context():
        import pages.about as about

        text = json.dumps(about.layout().to_plotly_json(), default=str)
    note = text.index("Survivorship bias")
    assert note < text.index("about-constants")  # near the top, before the formulas
    assert "applied to every" in text and "past date" in text
