"""Reaching people: the message catalogue (French and English) and the outbox dispatcher."""
