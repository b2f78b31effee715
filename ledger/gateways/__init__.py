"""Interfaces to the systems on the other side of the ledger (BOSS, bank) and their adapters."""
