"""The page's routes on their own (no chain): the static files with their types, unknown
names refused, and a chain that cannot be read answered with 503 and the reason."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sesh.devnet.chain import free_port
from sesh.node.chain.rpc import RpcPool
from sesh.node.chain.store import Identity, Store
from sesh.node.chain.tracker import ChainTracker
from sesh.node.metrics import Metrics
from sesh.web.explorer import PAGE_CALLS, WebExplorer, selector

STAKING = "0x" + "12" * 20
CHAIN_ID = 412346


def serve(tmp_path, check):
    """Run `check(client)` against a WebExplorer whose RPC provider is not listening."""

    async def main():
        metrics = Metrics()
        pool = RpcPool([f"http://127.0.0.1:{free_port()}"], CHAIN_ID, metrics, timeout=2)
        store = Store(tmp_path / "registry.sqlite3", Identity(CHAIN_ID, (STAKING,), 0))
        tracker = ChainTracker(pool, store, [STAKING], metrics)
        app = web.Application()
        WebExplorer(tracker, pool, CHAIN_ID, STAKING, 0).setup_routes(app)
        await pool.open()
        try:
            async with TestClient(TestServer(app)) as client:
                await check(client)
        finally:
            await pool.close()
            tracker.close()
            store.close()

    asyncio.run(main())


def test_routes__the_page_and_its_files_with_their_types(tmp_path):
    async def check(client):
        page = await client.get("/")
        assert page.status == 200 and page.content_type == "text/html"
        assert '<script src="/web/static/app.js">' in await page.text()
        script = await client.get("/web/static/app.js")
        assert script.status == 200 and script.content_type == "text/javascript"
        style = await client.get("/web/static/style.css")
        assert style.status == 200 and style.content_type == "text/css"

    serve(tmp_path, check)


def test_routes__unknown_or_hidden_files_are_404(tmp_path):
    async def check(client):
        for name in ("missing.js", ".hidden", "..%2Fexplorer.py"):
            response = await client.get(f"/web/static/{name}")
            assert response.status == 404, name

    serve(tmp_path, check)


def test_routes__an_unreadable_chain_is_a_503_with_the_reason(tmp_path):
    async def check(client):
        response = await client.get("/web/chain")
        assert response.status == 503
        assert (await response.json())["error"].startswith("chain unavailable: ")
        account = await client.get("/web/account/" + "0x" + "34" * 20)
        assert account.status == 503

    serve(tmp_path, check)


def test_selectors__are_the_abi_selectors_of_the_sdks_calls():
    # ERC-20's transfer: the selector every tool knows.
    assert selector("transfer(address,uint256)") == "0xa9059cbb"
    assert {call.split("(")[0] for call in PAGE_CALLS} == {
        "contribute",
        "contribute_with_permit",
        "claim",
        "claim_many",
    }


def test_sesh_explorer__help_has_an_example_and_sends_nothing():
    from click.testing import CliRunner

    from sesh.cli.main import main

    result = CliRunner().invoke(main, ["explorer", "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: sesh explorer --network" in " ".join(result.output.split())
    assert "--dry-run" not in result.output


def test_sesh_explorer__a_bad_port_is_refused():
    from click.testing import CliRunner

    from sesh.cli.main import main

    result = CliRunner().invoke(main, ["explorer", "--port", "70000"])
    assert result.exit_code != 0
    assert "70000" in result.output
