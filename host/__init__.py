"""Host software stack: link, HAL, coordinates, CLI."""
