"""`python -m analytics.build`: build the store from sample_data/ (analytics.data.build)."""
from analytics.data.build import main

if __name__ == "__main__":
    raise SystemExit(main())
