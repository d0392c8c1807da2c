"""`python -m analytics.auth`: manage users and roles (analytics.access.auth)."""
from analytics.access.auth import main

if __name__ == "__main__":
    raise SystemExit(main())
