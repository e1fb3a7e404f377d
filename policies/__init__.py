"""CrossGuard policy packs of the ML platform (security, patching, governance), their shared rule library, the
analyzer-protocol test harness (``policies.harness``) and the catalogue generator (``policies.catalogue``)."""
