"""Simulated exchanges on loopback that speak each exchange's real REST and websocket protocol."""
