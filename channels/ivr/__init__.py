"""The IVR channel: a FastAGI server around a sans-IO AGI codec (ARCHITECTURE.md, "IVR")."""
