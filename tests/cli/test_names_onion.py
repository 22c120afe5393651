"""`sesh names resolve` (the contract, read through Ape) and a Session client's
`ons_resolve` (only the name's hash sent, through a 3-hop onion path, to a node that reads
the SNS contract and answers the encrypted record) give the same Session ID, and neither
finds a name nobody registered. (A registered name without a Session ID:
tests/node/test_oxend.py, over the contract's `resolve` answers.)"""

import asyncio
import json

from sesh.client.onion_client import OnionClient
from sesh.client.ons import ons_resolve
from sesh.devnet.chain import DEVNET_CHAIN_ID
from sesh.node.chain.rpc import RpcPool
from sesh.node.compat import version_parts
from sesh.node.metrics import Metrics
from sesh.node.oxend import ChainNames, OxendApi
from tests.cli.conftest import ok, one_line_error
from tests.cli.test_products_and_errors import SESSION_ID, _register_name
from tests.node.localnet import LocalNet


async def _onion_resolve(tmp_path, devchain, names: list[str]) -> list[str | None]:
    async with (
        RpcPool([devchain.anvil.url], DEVNET_CHAIN_ID, Metrics()) as pool,
        LocalNet(tmp_path / "net", 4) as net,
    ):
        source = ChainNames(pool, devchain.address("SessionNameService"), 0, 2_000)
        api = OxendApi(None, source, version_parts())
        for node in net.nodes:
            node.rpc.oxend = api
        async with OnionClient(["http://unused"]) as client:
            client.nodes = [n.info for n in net.nodes]
            found = []
            for name in names:
                found.append(await ons_resolve(client, name))
                assert len(client.last_path) == 4
            return found


def test_names_resolve__and_ons_resolve_through_an_onion_path__agree(sesh, chain_state, tmp_path):
    code, out, err = _register_name(chain_state, "alice")
    assert code == 0, out + err
    ok(sesh("names", "set", "alice", "--session-id", SESSION_ID, "--account", "TEST::4"))
    cli = json.loads(ok(sesh("names", "resolve", "alice", "--json")))["session_id"]
    assert cli.removeprefix("0x") == SESSION_ID
    assert "resolves to nothing" in one_line_error(sesh("names", "resolve", "nobody"))
    onion = asyncio.run(_onion_resolve(tmp_path, chain_state, ["ALICE", "nobody"]))
    assert onion == [cli.removeprefix("0x"), None]
