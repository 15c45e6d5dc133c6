"""The G1-class body: its constants and its description."""
