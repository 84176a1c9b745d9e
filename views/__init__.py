"""Dash pages and the thin Flask adapters behind them. Logic lives in the packages."""
