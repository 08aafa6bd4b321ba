"""TickStock entry point (`gunicorn app:server`, `python app.py`); never imported."""

from dashapp.factory import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    from dashapp.cli import serve_app

    serve_app(app)
