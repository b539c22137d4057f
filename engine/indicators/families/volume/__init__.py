"""Volume family: TA-Lib's "Volume Indicators" (AD, ADOSC, OBV) and volume-based extras.

See :mod:`engine.indicators` for the family layout.
"""
