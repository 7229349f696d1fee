"""Screens shown over the monitor."""
