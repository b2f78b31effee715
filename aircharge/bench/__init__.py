"""`aircharge bench …`: benchmarks that print a table and optionally write JSON.

Speed is measured here, never asserted in tests. Every ledger figure comes with its raw
baseline measured in the same run on the same machine.
"""
