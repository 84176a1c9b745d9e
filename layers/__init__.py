"""Layers: H3 indexing, roll-ups up the seven levels, and the binary form layers travel in."""
