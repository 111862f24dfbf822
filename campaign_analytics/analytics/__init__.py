"""Analytics: rollups built by refresh, and the numbers every analytics endpoint returns."""
