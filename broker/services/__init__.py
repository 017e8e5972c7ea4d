"""Writes of the broker (HackSoft style: `<entity>_<action>`, keyword-only, typed)."""
