"""Strategies shipped with Kestrel. Each module holds one plugin class and its Params."""
