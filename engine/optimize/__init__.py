"""Parameter search, overfitting guards and walk-forward analysis (filled in below)."""
