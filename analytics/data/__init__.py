"""Data in: the packaged corpus, the seeded simulation, topics, the sample/scale store build and file imports."""
