"""`python -m analytics.train`: train the sentiment adapter (offline; not on the app's import path) (training.sentiment)."""
from training.sentiment import main

if __name__ == "__main__":
    raise SystemExit(main())
