"""The trader: arbitrage strategies under a risk manager (a later part)."""
