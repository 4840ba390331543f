"""The read API for the dashboard, one module per page: annotated querysets, no N+1.

Every page here costs a fixed number of queries whatever the number of syncs, runs or items
(tests/dashboard/test_live.py pins the budgets; bench/dashboard.py measures them on 1M items).
"""
