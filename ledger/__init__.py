"""The money core: double-entry ledger, agents, operations and the gateways to BOSS and bank.

This package knows nothing of dialogs or channels; they call `ledger.operations`.
"""
