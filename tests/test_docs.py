"""README matches the code: every setting and every CLI command is documented."""

from dashapp.cli.docs import README, render


def test_do01_readme_generated_sections_current():
    text = README.read_text()
    assert render(text) == text, "run `python -m dashapp.cli.docs` to refresh README.md"
    assert "make run" in text and "make test" in text
