"""Price family: "Price Transform", "Math Operators" and "Math Transform" (element-wise).

See :mod:`engine.indicators` for the family layout.
"""
