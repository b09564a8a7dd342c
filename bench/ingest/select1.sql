-- (g) The round-trip ceiling: an empty statement per request, what any call costs at least.
SELECT 1;
