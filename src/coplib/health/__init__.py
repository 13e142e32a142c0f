"""Community health: indicators computed from a community's history (issue "Community health")."""
