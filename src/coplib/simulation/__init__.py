"""Scripted and simulated communities driven through the real engine (the demo lives here)."""
