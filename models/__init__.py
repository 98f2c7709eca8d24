"""Reference models of the HICANN digital blocks and the analog core."""
