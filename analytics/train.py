"""`python -m analytics.train sentiment`: train the sentiment adapter (training.sentiment, outside the app)."""
from training.sentiment import main

if __name__ == "__main__":
    raise SystemExit(main())
