"""How records change after seeding: documented transitions (and, later, a sandbox clock)."""
