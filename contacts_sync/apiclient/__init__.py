"""See ../shared/DESIGN.md section 4."""
