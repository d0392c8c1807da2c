"""`python -m analytics.synth`: build a scale store for benchmarks (analytics.data.synth)."""
from analytics.data.synth import main

if __name__ == "__main__":
    raise SystemExit(main())
