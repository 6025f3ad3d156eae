"""For the balance tests: the clock of the hand-worked newsroom (conftest.py)."""

from datetime import date

from tests.coverage.newsroom import utc

# 13:00 in London (British Summer Time): today is the 15th; the last 7 days start on the 9th at
# 00:00 BST (the 8th, 23:00 UTC), the last 30 on 16 June.
NOW = utc(2026, 7, 15, 12)
TODAY = date(2026, 7, 15)
