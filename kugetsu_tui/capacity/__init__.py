"""Capacity at a glance: the slot ledger's figures, who holds each slot and what freeing it would cost."""
