"""The embedded SQLite store: every submission received, its versions, values and findings, every consolidation."""
