"""Training entry points (the planner; learned controllers)."""
