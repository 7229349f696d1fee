"""The monitor's screen parts, each owning its rendering."""
