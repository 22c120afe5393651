"""The explorer and staking page every bridge serves at `/` (see docs/web.md).

Plain HTML, CSS and JavaScript under `static/`, served as they are (no build step); the
page reads the bridge's registry API and `/web/chain`, which this package adds: the
chain's figures the registry does not keep (the pool, minimum contributions, reserved
slots, the history of releases) and the calldata selectors the page's wallet calls need.
"""
