"""The protocol-neutral SMS channel: MO records and processing, the MT outbox, notices."""
