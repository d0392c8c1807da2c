"""`python -m components.serve [streamlit run options]`: the dashboard, with the store's enrichment worker (and its
import inbox) started with the server rather than at the first browser session, so scores are on their way before
anyone signs in. The first-run admin account is created here too, and its password file named on the console."""
from __future__ import annotations

import sys
from pathlib import Path

from streamlit.web import cli

from analytics import store
from components import resources

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> None:
    """Start the worker, then hand the command line to `streamlit run app.py`."""
    resources.first_admin_password_file()
    resources.enricher(str(store.db_path()))
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
