"""One colour per account status and per check outcome, shared by badges, tiles and charts."""

STATUS_COLOURS = {
    "ok": "#2e7d32",
    "unchecked": "#757575",
    "uncertain": "#f9a825",
    "flood_wait": "#ef6c00",
    "offline": "#6d4c41",
    "unauthorized": "#c62828",
    "banned": "#6a1b9a",
}
OUTCOME_COLOURS = {
    "ok": "#2e7d32",
    "flood_wait": "#ef6c00",
    "network": "#8d6e63",
    "timeout": "#f9a825",
    "server_error": "#0277bd",
    "dc_down": "#546e7a",
    "error": "#37474f",
    "revoked": "#c62828",
    "duplicated": "#ad1457",
    "banned": "#6a1b9a",
}
HEALTH_COLOURS = {"healthy": "#2e7d32", "degraded": "#f9a825", "unhealthy": "#c62828"}
FALLBACK = "#9e9e9e"
